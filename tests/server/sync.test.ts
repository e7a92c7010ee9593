/**
 * GET /api/sync on the wire: a large page is gzipped for clients that accept it (a first
 * sync is megabytes of JSON), small ones and other clients get plain JSON; never cached.
 * What a sync returns is covered in threads.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { newThread } from '../support/threads';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 60_000); // the embedded database can take several seconds to start
afterAll(() => server.stop(), 30_000);

/** A signed-in user with `n` threads (enough JSON to pass the compression threshold). */
async function userWithThreads(n: number) {
  const u = await signUp(server.url, 'sync');
  for (let i = 0; i < n; i++) await newThread(u.client, { title: `Thread number ${i} with a long enough title` });
  return u;
}

async function raw(client: Awaited<ReturnType<typeof signUp>>['client'], path: string, acceptEncoding: string) {
  const res = await client.request('GET', path, undefined, { headers: { 'accept-encoding': acceptEncoding }, decompress: false } as RequestInit);
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

describe('sync on the wire', () => {
  test('a large page is gzipped when the client accepts it, and is the same JSON', async () => {
    const { client } = await userWithThreads(20);
    const plain = await raw(client, '/api/sync', 'identity');
    const zipped = await raw(client, '/api/sync', 'gzip, deflate, br');
    expect(plain.res.headers.get('content-encoding')).toBeNull();
    expect(zipped.res.headers.get('content-encoding')).toBe('gzip');
    for (const { res } of [plain, zipped]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('vary')).toBe('accept-encoding');
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(zipped.bytes.length).toBeLessThan(plain.bytes.length / 2);
    const decoded = JSON.parse(new TextDecoder().decode(Bun.gunzipSync(zipped.bytes)));
    expect(decoded).toEqual(JSON.parse(new TextDecoder().decode(plain.bytes)));
    expect(decoded.threads).toHaveLength(20);
  });

  test('gzip refused with q=0, requests another site started, and small pages, go plain', async () => {
    const { client } = await userWithThreads(20);
    expect((await raw(client, '/api/sync', 'gzip;q=0, identity')).res.headers.get('content-encoding')).toBeNull();
    // BREACH (server/http/compress.ts): a cross-site request's answer size must not depend on its content.
    const crossSite = await client.request('GET', '/api/sync', undefined, { headers: { 'accept-encoding': 'gzip', 'sec-fetch-site': 'cross-site' }, decompress: false } as RequestInit);
    expect(crossSite.status).toBe(200);
    expect(crossSite.headers.get('content-encoding')).toBeNull();
    expect((await raw(client, '/api/sync', 'gzip')).res.headers.get('content-encoding')).toBe('gzip');
    const cursor = JSON.parse(new TextDecoder().decode((await raw(client, '/api/sync', 'identity')).bytes)).cursor;
    const empty = await raw(client, `/api/sync?since=${cursor}`, 'gzip');
    expect(empty.res.headers.get('content-encoding')).toBeNull();
    expect(JSON.parse(new TextDecoder().decode(empty.bytes))).toEqual({ threads: [], messages: [], deletedThreadIds: [], folders: [], deletedFolderIds: [], cursor, more: false });
  });

  test('signed out: 401, and bad input is still a 400', async () => {
    const anonymous = await fetch(`${server.url}/api/sync`);
    expect(anonymous.status).toBe(401);
    const { client } = await signUp(server.url, 'sync');
    expect((await client.json('GET', '/api/sync?limit=0')).status).toBe(400);
  });
});

describe('sync paging', () => {
  test('rows sharing one seq are never split across pages (a page ending at seq N holds every row at N)', async () => {
    const { client, user } = await signUp(server.url, 'sync');
    const threads = [];
    for (let i = 0; i < 5; i++) threads.push(await newThread(client, { title: `Same seq ${i}` }));
    // Writers never do this (every row gets a seq of its own); data loaded by hand or in bulk might.
    const sql = server.db.sql;
    const [top] = await sql<{ seq: string }[]>`select max(seq)::text as seq from threads where user_id = ${user.id}`;
    await sql`update threads set seq = ${top!.seq}::bigint where user_id = ${user.id}`;
    const [first] = await sql<{ id: string }[]>`select id from threads where user_id = ${user.id} limit 1`;
    await sql`update threads set seq = ${top!.seq}::bigint - 1 where id = ${first!.id}`;

    const seen = new Set<string>();
    let cursor = '0';
    for (let page = 0; page < 10; page++) {
      const { status, body } = await client.json('GET', `/api/sync?since=${cursor}&limit=2`);
      expect(status).toBe(200);
      for (const t of body.threads) seen.add(t.id);
      cursor = body.cursor;
      if (!body.more) break;
    }
    expect([...seen].sort()).toEqual(threads.map((t) => t.id).sort());
  });
});
