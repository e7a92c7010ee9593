/**
 * Exports: one thread (Markdown or JSON), or the whole account as a zip streamed
 * with fflate: threads are read one at a time and the zip's bytes leave as they are
 * made, so a large account never sits in memory whole (a file's bytes do, one at a time).
 */
import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';
import type { AppDeps } from '../deps';
import type { Sql } from '../db';
import { getThread, threadMessages } from '../conversations/queries';
import { threadColumns } from '../conversations/queries';
import { listFolders } from '../folders/queries';
import { readFileForUser } from '../files/service';
import { notFound } from '../errors';
import type { Thread } from '../threads/model';
import { exportName, FORMAT, toExportThread, toMarkdown, VERSION, type ExportThread } from './format';

type Deps = Pick<AppDeps, 'sql' | 'config'>;

async function folderName(sql: Sql, userId: string, folderId: string | null) {
  if (!folderId) return null;
  const [row] = await sql<{ name: string }[]>`select name from folders where id = ${folderId} and user_id = ${userId}`;
  return row?.name ?? null;
}

export async function exportThread(deps: Deps, userId: string, threadId: string): Promise<ExportThread> {
  const thread = await getThread(deps.sql, userId, threadId);
  if (!thread) throw notFound('Thread');
  const messages = await threadMessages(deps.sql, userId, threadId);
  return toExportThread(thread, await folderName(deps.sql, userId, thread.folderId), messages);
}

export function threadDocument(t: ExportThread) {
  return { format: FORMAT, version: VERSION, exportedAt: new Date().toISOString(), threads: [t] };
}

export { toMarkdown, exportName };

const encoder = new TextEncoder();

/** The user's threads one page at a time (by id: stable while the export runs). */
async function* eachThread(sql: Sql, userId: string): AsyncGenerator<Thread> {
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const rows = await sql<Thread[]>`
      select ${threadColumns(sql)} from threads where user_id = ${userId} and id > ${after} order by id limit 100`;
    for (const row of rows) yield row;
    if (rows.length < 100) return;
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * The account zip as a stream of bytes. The zip is driven by the reader: each pull makes
 * the next thread's entries (so a slow download slows the reading of the database).
 */
export function accountZip(deps: Deps, userId: string): ReadableStream<Uint8Array> {
  const pending: Uint8Array[] = [];
  let finished = false;
  let failed: Error | null = null;
  const zip = new Zip((error, chunk, final) => {
    if (error) failed = error;
    else pending.push(chunk);
    if (final) finished = true;
  });
  const add = (name: string, bytes: Uint8Array, compress = true) => {
    const entry = compress ? new ZipDeflate(name, { level: 6 }) : new ZipPassThrough(name);
    zip.add(entry);
    entry.push(bytes, true);
  };

  async function* produce(): AsyncGenerator<void> {
    const folders = await listFolders(deps.sql, userId);
    const folderNames = new Map(folders.map((f) => [f.id, f.name]));
    add(
      'manifest.json',
      encoder.encode(JSON.stringify({ format: FORMAT, version: VERSION, exportedAt: new Date().toISOString(), folders }, null, 2)),
    );
    // threads.json is one entry written piece by piece: one thread at a time.
    const threadsJson = new ZipDeflate('threads.json', { level: 6 });
    zip.add(threadsJson);
    threadsJson.push(encoder.encode('['));
    let first = true;
    const usedNames = new Set<string>();
    for await (const thread of eachThread(deps.sql, userId)) {
      const exported = toExportThread(thread, folderNames.get(thread.folderId ?? '') ?? null, await threadMessages(deps.sql, userId, thread.id));
      for (const m of exported.messages) {
        for (const a of m.attachments) {
          const file = await readFileForUser(deps, userId, a.id);
          if (!file) continue;
          a.path = `files/${a.id}-${file.name || 'image'}`;
          if (!usedNames.has(a.path)) {
            usedNames.add(a.path);
            add(a.path, file.bytes, false); // images are compressed already
          }
        }
      }
      threadsJson.push(encoder.encode((first ? '' : ',\n') + JSON.stringify(exported)));
      first = false;
      add(`markdown/${exportName(exported, 'md')}`, encoder.encode(toMarkdown(exported)));
      yield;
    }
    threadsJson.push(encoder.encode(']'), true);
    zip.end();
    yield;
  }

  const steps = produce();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!pending.length && !finished) {
        const { done } = await steps.next();
        if (failed) throw failed;
        if (done) break;
      }
      if (failed) throw failed;
      if (pending.length) {
        const chunks = pending.splice(0);
        const size = chunks.reduce((n, c) => n + c.byteLength, 0);
        const out = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) {
          out.set(c, at);
          at += c.byteLength;
        }
        controller.enqueue(out);
      }
      if (finished && !pending.length) controller.close();
    },
    async cancel() {
      await steps.return(undefined);
    },
  });
}
