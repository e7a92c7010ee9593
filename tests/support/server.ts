/**
 * Starts Parley for a test file: a fresh database (real PostgreSQL, or the embedded
 * PGlite when PARLEY_TEST_DB=embedded), migrations, and the real app listening on
 * a free loopback port. Nothing of ours is mocked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../server/config';
import { openDatabase, type Database } from '../../server/db';
import { migrate } from '../../server/migrate';
import { createApp } from '../../server/app';
import { setLogLevel } from '../../server/log';
import { freshDatabase } from './postgres';
import { startS3, type TestS3 } from './s3';

export const embedded = process.env.PARLEY_TEST_DB === 'embedded';
/**
 * Which blob store the run's servers use: PARLEY_TEST_BLOB_STORE=directory|postgres|s3
 * (unset: the configured default, postgres on PostgreSQL and directory on PGlite).
 * The file tests run once per store (scripts/test.ts); with s3 each server gets its own s3rver.
 */
export const testBlobStore = process.env.PARLEY_TEST_BLOB_STORE as 'directory' | 'postgres' | 's3' | undefined;

export interface TestServer {
  url: string;
  config: Config;
  db: Database;
  app: ReturnType<typeof createApp>;
  stop(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  setLogLevel((process.env.LOG_LEVEL as 'silent') ?? 'silent');
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-data-'));
  const database = embedded ? null : await freshDatabase();
  const s3: TestS3 | null = testBlobStore === 's3' && !env.BLOB_STORE ? await startS3() : null;
  const storeEnv = s3 ? s3.env : testBlobStore && !env.BLOB_STORE ? { BLOB_STORE: testBlobStore } : {};
  // Tests register many users from 127.0.0.1: the per-IP limit is raised unless a test sets it.
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_IP_LIMIT: '100000',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...storeEnv,
    ...env,
  });
  const db = await openDatabase(config.db);
  await migrate(db.sql);
  const app = createApp({ config, sql: db.sql });
  app.listen({ port: env.PORT ? Number(env.PORT) : 0, hostname: '127.0.0.1', maxRequestBodySize: 101 * 1024 * 1024 });
  const url = `http://127.0.0.1:${app.server!.port}`;
  return {
    url,
    config,
    db,
    app,
    async stop() {
      await app.stop(true);
      await db.close();
      await database?.drop();
      await s3?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
