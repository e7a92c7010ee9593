/**
 * Forward-only migrations: sql/NNNN_name.sql applied in order, each once, each in
 * its own transaction, recorded in `migrations`. A gap in the numbering or a file
 * that changed after it was applied stops start-up (postgres-shift's model).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from './db';
import { normalizeStoredEmails } from './auth/queries';
import { log } from './log';

const DEFAULT_DIR = join(import.meta.dir, '..', 'sql');

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function readMigrations(dir = DEFAULT_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort();
  return files.map((file, index) => {
    const id = Number(file.slice(0, 4));
    if (id !== index + 1) throw new Error(`Migration numbering has a gap or duplicate at ${file} (expected ${index + 1})`);
    return { id, name: file, sql: readFileSync(join(dir, file), 'utf8') };
  });
}

export async function migrate(sql: Sql, dir = DEFAULT_DIR): Promise<string[]> {
  const migrations = readMigrations(dir);
  await sql`
    create table if not exists migrations (
      id integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`;
  const applied = new Map(
    (await sql<{ id: number; name: string; checksum: string }[]>`select id, name, checksum from migrations`).map((r) => [
      r.id,
      r,
    ]),
  );
  const done: string[] = [];
  for (const m of migrations) {
    const checksum = new Bun.CryptoHasher('sha256').update(m.sql).digest('hex');
    const prior = applied.get(m.id);
    if (prior) {
      if (prior.checksum !== checksum) throw new Error(`Migration ${m.name} changed after it was applied`);
      continue;
    }
    await sql.begin(async (tx) => {
      // Two instances starting together: the second waits here, then sees the row and skips.
      await tx`select pg_advisory_xact_lock(7261011)`;
      const [already] = await tx`select 1 from migrations where id = ${m.id}`;
      if (already) return;
      await tx.unsafe(m.sql);
      await tx`insert into migrations (id, name, checksum) values (${m.id}, ${m.name}, ${checksum})`;
      done.push(m.name);
    });
  }
  // A data fix SQL cannot do: emails are normalized by the server's own function (auth/email.ts).
  if (migrations.some((m) => m.name.endsWith('_email_normalized.sql'))) {
    const emails = await normalizeStoredEmails(sql);
    if (emails.conflicts.length) log.warn('accounts whose normalized email collides with another; left as they were', { ids: emails.conflicts });
  }
  return done;
}
