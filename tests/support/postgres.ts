/**
 * A real PostgreSQL for tests. With TEST_DATABASE_URL (or DATABASE_URL) set, that
 * server is used; otherwise one cluster is started per test process from the
 * system's binaries in a temp dir on a free port (as the `postgres` user when we
 * are root, since initdb refuses root), and stopped when the process exits.
 * Every caller gets a fresh database of its own, so test files never share state.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from './ports';

let shared: Promise<Cluster> | null = null;

function pgBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  const which = Bun.which('initdb');
  if (which) return which.replace(/\/initdb$/, '');
  throw new Error('PostgreSQL server binaries not found: apt-get install postgresql');
}

function run(cmd: string[], asPostgres: boolean) {
  const full = asPostgres ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd;
  const result = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${cmd.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
}

export interface Cluster {
  url: string;
  /** Stops the server (keeps its data), as an outage would. */
  pause(): void;
  /** Starts it again on the same port. */
  resume(): void;
  destroy(): void;
}

/**
 * A PostgreSQL cluster of its own in a temp dir, on a free port. `durable`: commits are
 * on disk before they are acknowledged (synchronous_commit on), so a crash (pause) loses
 * no committed row, as on a real server; the default trades that for speed.
 */
export async function startCluster(options: { durable?: boolean } = {}): Promise<Cluster> {
  const bin = pgBin();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'parley-pg-'));
  if (asRoot) {
    chmodSync(dir, 0o755);
    spawnSync('chown', ['postgres:postgres', dir]);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  run([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'], asRoot);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300${options.durable ? ' -c synchronous_commit=on' : ''}`;
  const start = () => run([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-o', opts, 'start'], asRoot);
  const stop = () => {
    const cmd = [join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'];
    spawnSync(asRoot ? 'runuser' : cmd[0]!, asRoot ? ['-u', 'postgres', '--', ...cmd] : cmd.slice(1));
  };
  start();
  // A watchdog outlives us in its own session: when this process is gone, however it
  // ended (bun test does not run 'exit' handlers; a killed run runs nothing), it stops
  // the cluster and removes its files, so no test run leaves a PostgreSQL behind.
  const stopCmd = [join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'].join(' ');
  const watchdog = Bun.spawn(
    [
      'setsid',
      'sh',
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${asRoot ? `runuser -u postgres -- ${stopCmd}` : stopCmd}; rm -rf ${dir}`,
    ],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' },
  );
  watchdog.unref();
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', destroy);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, pause: stop, resume: start, destroy };
}

export function clusterUrl(): Promise<string> {
  const given = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (given) return Promise.resolve(given);
  shared ??= startCluster();
  return shared.then((c) => c.url);
}

/** A fresh, empty database on the test cluster; returns its URL and a dropper. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = await clusterUrl();
  const name = `parley_test_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    },
  };
}

/**
 * A fresh database, migrated and opened the way the server opens it (server/db.ts), for tests
 * below the HTTP routes (`dataDir` is its DATA_DIR); `close` closes it, drops it and removes that directory.
 */
export async function migratedDatabase(label: string) {
  const [{ openDatabase }, { migrate }] = await Promise.all([import('../../server/db'), import('../../server/migrate')]);
  const database = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), `parley-${label}-`));
  const db = await openDatabase({ url: database.url, dataDir });
  await migrate(db.sql);
  return {
    db,
    dataDir,
    async close() {
      await db.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
