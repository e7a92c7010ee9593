/**
 * One postgres.js `sql` for the whole server.
 * With DATABASE_URL it talks to that server; without it, an embedded PostgreSQL
 * (PGlite, WASM) is started in DATA_DIR and exposed on a private unix socket
 * through pglite-socket, so the rest of the code sees the same postgres.js API
 * in both modes.
 */
import postgres from 'postgres';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export type Sql = postgres.Sql<{}>;
export type Tx = postgres.TransactionSql<{}>;

export interface Database {
  sql: Sql;
  embedded: boolean;
  /** The pool's size (postgres.js `max`). */
  poolSize: number;
  close(): Promise<void>;
}

/** Connections to a PostgreSQL server (DATABASE_URL): enough for 200 replies in flight without queueing for one. */
export const POOL_SIZE = 20;
/**
 * Seconds an idle connection is kept. Long, so a burst after a quiet minute does not pay for new
 * backends (a connection's start-up, and its plpgsql functions compiled again) on its first requests.
 */
export const POOL_IDLE_SECONDS = 600;

/**
 * Opens every connection of the pool now and runs `warm` on each (e.g. the plpgsql functions
 * the reply path calls, which each backend compiles on first use), so the first requests after a
 * start (a deploy) wait for neither. Best effort: a failure is left to the requests themselves.
 */
export async function warmPool(sql: Sql, size: number, warm: (connection: Sql) => Promise<unknown>) {
  const reserved = await Promise.all(Array.from({ length: size }, () => sql.reserve().catch(() => null)));
  await Promise.all(
    reserved.map(async (connection) => {
      if (!connection) return;
      try {
        await warm(connection as unknown as Sql);
      } catch {
        /* best effort */
      } finally {
        connection.release();
      }
    }),
  );
}

const common = {
  onnotice: () => {},
  // Column names stay snake_case in SQL; rows come back camelCase like the API.
  transform: postgres.camel,
  // Times leave the database as the ISO strings the API sends (`Date#toISOString`,
  // what JSON.stringify made of the Date before): one conversion at the boundary,
  // so no row mapping can forget it and server types say `string` like the wire.
  types: {
    isoTimestamptz: {
      to: 1184,
      from: [1184] as number[],
      serialize: (x: Date | string) => (x instanceof Date ? x : new Date(x)).toISOString(),
      parse: (x: string) => new Date(x).toISOString(),
    },
  },
} as const;

export async function openDatabase(opts: { url: string | null; dataDir: string }): Promise<Database> {
  if (opts.url) {
    const sql = postgres(opts.url, {
      ...common,
      max: POOL_SIZE,
      idle_timeout: POOL_IDLE_SECONDS,
      connect_timeout: 5,
    }) as unknown as Sql;
    return { sql, embedded: false, poolSize: POOL_SIZE, close: () => sql.end({ timeout: 5 }) };
  }
  return openEmbedded(opts.dataDir);
}

async function openEmbedded(dataDir: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const dir = join(dataDir, 'pglite');
  // PGlite writes its files with modes of its own (0644): the directories keep others out.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  // btree_gin: the search indexes hold (user_id, tsvector) pairs (sql/, library migration).
  const { btree_gin } = await import('@electric-sql/pglite/contrib/btree_gin');
  const db = await PGlite.create(dir, { extensions: { btree_gin } });
  // A unix socket in DATA_DIR: no port to collide with, unreachable from the network.
  const socketDir = join(dataDir, 'run');
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const socketPath = join(socketDir, '.s.PGSQL.5432');
  rmSync(socketPath, { force: true });
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 });
  await server.start();
  // PGlite runs one query at a time: a single connection avoids ECONNRESET on extra ones.
  const sql = postgres({
    ...common,
    host: socketDir,
    port: 5432,
    database: 'postgres',
    username: 'postgres',
    max: 1,
    idle_timeout: 0,
    connect_timeout: 10,
  }) as unknown as Sql;
  return {
    sql,
    embedded: true,
    poolSize: 1,
    async close() {
      await sql.end({ timeout: 5 });
      await server.stop();
      await db.close();
    },
  };
}
