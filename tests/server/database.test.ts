/** The database layer: migrations, persistence across restarts, and health through an outage. */
import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config';
import { openDatabase } from '../../server/db';
import { migrate, readMigrations } from '../../server/migrate';
import { createApp } from '../../server/app';
import { Client } from '../support/client';
import { eventually } from '../support/eventually';
import { freshDatabase, startCluster } from '../support/postgres';
import { embedded } from '../support/server';

async function boot(env: Record<string, string>) {
  const config = loadConfig({ PORT: '0', AUTH_IP_LIMIT: '1000', ...env });
  const db = await openDatabase(config.db);
  const applied = await migrate(db.sql);
  const app = createApp({ config, sql: db.sql });
  app.listen({ port: 0, hostname: '127.0.0.1' });
  return {
    applied,
    db,
    url: `http://127.0.0.1:${app.server!.port}`,
    async stop() {
      await app.stop(true);
      await db.close();
    },
  };
}

describe('migrations', () => {
  test('numbered without gaps, applied once each, recorded', async () => {
    const all = readMigrations();
    all.forEach((m, i) => expect(m.id).toBe(i + 1));
    const database = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'parley-mig-'));
    const db = await openDatabase({ url: embedded ? null : database.url, dataDir: dir });
    try {
      expect(await migrate(db.sql)).toEqual(all.map((m) => m.name));
      expect(await migrate(db.sql)).toEqual([]);
      const rows = await db.sql`select id from migrations order by id`;
      expect(rows.map((r) => r.id)).toEqual(all.map((m) => m.id));
    } finally {
      await db.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000); // a fresh database and every migration: seconds on a busy machine

  test('a gap in the numbering stops start-up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-gap-'));
    Bun.write(join(dir, '0001_a.sql'), 'select 1;');
    Bun.write(join(dir, '0003_c.sql'), 'select 1;');
    expect(() => readMigrations(dir)).toThrow(/gap/);
  });
});

describe('data survives a restart', () => {
  test(embedded ? 'embedded PGlite in DATA_DIR' : 'real PostgreSQL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-restart-'));
    const database = embedded ? null : await freshDatabase();
    const env = { DATA_DIR: dataDir, ...(database ? { DATABASE_URL: database.url } : {}) };
    const email = `restart-${Date.now()}@example.test`;
    const password = `pw-${crypto.randomUUID()}`;
    const first = await boot(env);
    expect((await new Client(first.url).json('POST', '/api/auth/register', { email, password })).status).toBe(201);
    await first.stop();
    const second = await boot(env);
    try {
      expect(second.applied).toEqual([]);
      expect((await new Client(second.url).json('POST', '/api/auth/login', { email, password })).status).toBe(200);
    } finally {
      await second.stop();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('health', () => {
  test.skipIf(embedded)('503 while PostgreSQL is down, 200 again by itself when it returns', async () => {
    const cluster = await startCluster();
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-health-'));
    const server = await boot({ DATABASE_URL: cluster.url, DATA_DIR: dataDir });
    try {
      const health = () => fetch(server.url + '/api/health').then(async (r) => ({ status: r.status, body: await r.json() }));
      expect(await health()).toEqual({ status: 200, body: { ok: true, db: 'up' } });
      cluster.pause();
      const down = await health();
      expect(down.status).toBe(503);
      expect(down.body.db).toBe('down');
      // Other routes say the database is unavailable rather than failing obscurely.
      const login = await new Client(server.url).json('POST', '/api/auth/login', { email: 'a@b.co', password: 'whatever-123' });
      expect(login.status).toBe(503);
      expect(login.body.error.code).toBe('database_unavailable');
      cluster.resume();
      await eventually(async () => expect((await health()).status).toBe(200), { timeout: 5000, message: 'health back up' });
    } finally {
      await server.stop();
      cluster.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  test('embedded database answers health with db up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-emb-'));
    const server = await boot({ DATA_DIR: dataDir });
    try {
      const res = await fetch(server.url + '/api/health');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, db: 'up' });
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('configuration', () => {
  test('bad values stop start-up with every bad variable named', () => {
    expect(() => loadConfig({ PORT: '99999', PUBLIC_URL: 'ftp://x', TTS_PROVIDER: 'siri', DATA_DIR: tmpdir() })).toThrow(
      /PORT[\s\S]*PUBLIC_URL[\s\S]*TTS_PROVIDER|PUBLIC_URL[\s\S]*TTS_PROVIDER[\s\S]*PORT/,
    );
  });

  test('APP_SECRET is generated once into DATA_DIR with mode 0600 and reused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-secret-'));
    const a = loadConfig({ DATA_DIR: dir }).auth.secret;
    const b = loadConfig({ DATA_DIR: dir }).auth.secret;
    expect(a).toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(32);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dir, 'app-secret')).mode & 0o777).toBe(0o600);
    const other = loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'parley-secret-')) }).auth.secret;
    expect(other).not.toBe(a);
  });
});
