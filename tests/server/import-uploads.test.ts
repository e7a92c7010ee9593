/** An import sent in parts (POST /api/import/uploads, PUT …/parts/:n, POST …/finish), against a real server and database. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { signUp, type Client } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { IMPORT_PART_BYTES } from '../../server/import/model';
import { chatgptConversation } from '../support/chatgpt';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 60_000);
afterAll(() => server.stop(), 30_000);

/** A ChatGPT conversation of `turns` messages, each saying `filler`. */
const conversation = (i: number, turns: number, filler: string) =>
  chatgptConversation(i, turns, (m) => `message ${m} of conversation ${i}: ${filler}`, { title: `Parted ${i}`, id: `parted-${i}-${crypto.randomUUID()}` });

/** An export a little over one part long (two parts): 30 conversations × 10 messages of ~30 KB. */
function twoPartExport() {
  const filler = 'tides and moons '.repeat(950);
  const bytes = new TextEncoder().encode(JSON.stringify(Array.from({ length: 30 }, (_, i) => conversation(i, 10, filler))));
  if (bytes.byteLength <= IMPORT_PART_BYTES || bytes.byteLength > 2 * IMPORT_PART_BYTES) throw new Error(`fixture is ${bytes.byteLength} bytes`);
  return bytes;
}
const big = twoPartExport();
const part = (bytes: Uint8Array, n: number) => bytes.subarray(n * IMPORT_PART_BYTES, Math.min(bytes.byteLength, (n + 1) * IMPORT_PART_BYTES));

async function start(client: Client, size: number) {
  return client.json('POST', '/api/import/uploads', { size, name: 'conversations.json' });
}
async function put(client: Client, id: string, n: number, bytes: Uint8Array) {
  const res = await client.put(`/api/import/uploads/${id}/parts/${n}`, bytes, { headers: { 'content-type': 'application/octet-stream' } });
  return { status: res.status, body: await res.json() };
}
const finish = (client: Client, id: string) => client.json('POST', `/api/import/uploads/${id}/finish`);
const chunkRows = async (id: string) => (await server.db.sql<{ n: number }[]>`select count(*)::int as n from import_upload_chunks where upload_id = ${id}`)[0]!.n;
const uploadRows = async (id: string) => (await server.db.sql<{ n: number }[]>`select count(*)::int as n from import_uploads where id = ${id}`)[0]!.n;
const threadCount = async (client: Client) => (await client.json('GET', '/api/threads?limit=200')).body.threads.length;

describe('an import sent in parts', () => {
  test('parts (in any order) then finish: imported, and the staged parts and file are gone', async () => {
    const { client } = await signUp(server.url);
    const started = await start(client, big.byteLength);
    expect(started.status).toBe(201);
    const upload = started.body.upload;
    expect(upload).toMatchObject({ size: big.byteLength, partBytes: IMPORT_PART_BYTES, parts: 2 });
    expect(Date.parse(upload.expiresAt)).toBeGreaterThan(Date.now());
    expect(await put(client, upload.id, 1, part(big, 1))).toEqual({ status: 200, body: { part: 1, size: big.byteLength - IMPORT_PART_BYTES } });
    expect(await put(client, upload.id, 0, part(big, 0))).toEqual({ status: 200, body: { part: 0, size: IMPORT_PART_BYTES } });
    const done = await finish(client, upload.id);
    expect(done.status).toBe(201);
    expect(done.body).toEqual({ imported: { threads: 30, messages: 300 }, skipped: 0 });
    expect(await threadCount(client)).toBe(30);
    expect(await uploadRows(upload.id)).toBe(0);
    expect(await chunkRows(upload.id)).toBe(0);
    const tmp = join(server.config.dataDir, 'tmp');
    expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
    // Finished once: the id is gone.
    expect((await finish(client, upload.id)).status).toBe(404);
    expect((await put(client, upload.id, 0, part(big, 0))).status).toBe(404);
  }, 60_000);

  test('a missing part: finish says which (400) and imports nothing; sent, the finish goes through', async () => {
    const { client } = await signUp(server.url);
    const { upload } = (await start(client, big.byteLength)).body;
    expect((await put(client, upload.id, 0, part(big, 0))).status).toBe(200);
    const early = await finish(client, upload.id);
    expect(early.status).toBe(400);
    expect(early.body.error.fields.parts).toMatch(/part 1 of 2/);
    expect(await threadCount(client)).toBe(0);
    expect(await uploadRows(upload.id)).toBe(1);
    expect((await put(client, upload.id, 1, part(big, 1))).status).toBe(200);
    expect((await finish(client, upload.id)).status).toBe(201);
    expect(await threadCount(client)).toBe(30);
  }, 60_000);

  test("another user's upload id: 404 for a part and for the finish, nothing written, the owner's upload untouched", async () => {
    const owner = await signUp(server.url);
    const other = await signUp(server.url);
    const small = new TextEncoder().encode(JSON.stringify([conversation(1, 2, 'hello')]));
    const { upload } = (await start(owner.client, small.byteLength)).body;
    const theirs = await put(other.client, upload.id, 0, small);
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('not_found');
    expect(await chunkRows(upload.id)).toBe(0);
    expect((await finish(other.client, upload.id)).status).toBe(404);
    expect(await uploadRows(upload.id)).toBe(1);
    // An id that was never anyone's answers the same.
    expect((await put(other.client, crypto.randomUUID(), 0, small)).status).toBe(404);
    expect((await put(owner.client, upload.id, 0, small)).status).toBe(200);
    expect((await finish(owner.client, upload.id)).body).toEqual({ imported: { threads: 1, messages: 2 }, skipped: 0 });
    expect(await threadCount(other.client)).toBe(0);
  }, 30_000);

  test('sizes: a part longer than its share is 413, a short one 400, a part number past the end 400, a file over 100 MB 413 at the start', async () => {
    const { client } = await signUp(server.url);
    const { upload } = (await start(client, big.byteLength)).body;
    // Part 1 is the rest of the file; its share plus a byte is refused unread past the cap.
    const long = new Uint8Array(big.byteLength - IMPORT_PART_BYTES + 1);
    const over = await put(client, upload.id, 1, long);
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('too_large');
    // A part as large as the whole part size plus a byte, for part 0.
    expect((await put(client, upload.id, 0, new Uint8Array(IMPORT_PART_BYTES + 1))).status).toBe(413);
    const short = await put(client, upload.id, 0, part(big, 0).subarray(0, 1000));
    expect(short.status).toBe(400);
    expect((await put(client, upload.id, 2, part(big, 1))).status).toBe(400);
    expect(await chunkRows(upload.id)).toBe(0);
    const huge = await start(client, 100 * 1024 * 1024 + 1);
    expect(huge.status).toBe(413);
    expect((await start(client, 0)).status).toBe(400);
  }, 30_000);

  test('an abandoned upload (no part for an hour) answers 404 and is deleted, parts and all, when anyone next starts one', async () => {
    const { client } = await signUp(server.url);
    const small = new TextEncoder().encode(JSON.stringify([conversation(2, 2, 'left behind')]));
    const { upload } = (await start(client, small.byteLength * 2)).body;
    expect((await put(client, upload.id, 0, new Uint8Array(small.byteLength * 2))).status).toBe(200);
    expect(await chunkRows(upload.id)).toBe(1);
    // An hour and a bit with nothing sent.
    await server.db.sql`update import_uploads set updated_at = now() - interval '61 minutes' where id = ${upload.id}`;
    expect((await put(client, upload.id, 0, new Uint8Array(small.byteLength * 2))).status).toBe(404);
    expect((await finish(client, upload.id)).status).toBe(404);
    const someone = await signUp(server.url);
    expect((await start(someone.client, 10)).status).toBe(201);
    expect(await uploadRows(upload.id)).toBe(0);
    expect(await chunkRows(upload.id)).toBe(0);
  }, 30_000);

  test('a malformed file sent in parts: 400 naming the problem, nothing imported, the upload gone', async () => {
    const { client } = await signUp(server.url);
    const bad = new TextEncoder().encode(JSON.stringify([conversation(3, 2, 'fine'), { title: 'Broken', mapping: 'not a mapping' }]));
    const { upload } = (await start(client, bad.byteLength)).body;
    expect((await put(client, upload.id, 0, bad)).status).toBe(200);
    const answer = await finish(client, upload.id);
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toMatch(/Nothing was imported/);
    expect(answer.body.error.fields.file).toMatch(/2|Broken/);
    expect(await threadCount(client)).toBe(0);
    expect(await uploadRows(upload.id)).toBe(0);
  }, 30_000);

  test('at most 3 uploads open per account (409), and signed out is 401', async () => {
    const { client } = await signUp(server.url);
    for (let i = 0; i < 3; i++) expect((await start(client, 100)).status).toBe(201);
    const fourth = await start(client, 100);
    expect(fourth.status).toBe(409);
    const anon = await fetch(`${server.url}/api/import/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"size":10}' });
    await anon.arrayBuffer();
    expect(anon.status).toBe(401);
  }, 30_000);
});

describe('uploads count against IMPORT_LIMIT', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ IMPORT_LIMIT: '2' });
  }, 60_000);
  afterAll(() => limited.stop(), 30_000);

  test('the third start in an hour is 429 with Retry-After; another user is not held back', async () => {
    const { client } = await signUp(limited.url);
    expect((await start(client, 10)).status).toBe(201);
    expect((await start(client, 10)).status).toBe(201);
    const third = await start(client, 10);
    expect(third.status).toBe(429);
    expect(Number(third.res.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await signUp(limited.url);
    expect((await start(other.client, 10)).status).toBe(201);
  }, 30_000);
});
