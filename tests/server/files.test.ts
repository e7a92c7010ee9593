import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { makePng } from '../support/fake-provider/images';
import { cookieHeader, pieces, rawRequest } from '../support/raw-http';
import { newThread } from '../support/threads';
import { nextSeq } from '../../server/infra/seq';
import { deleteOrphanBlobs, readFileForUser } from '../../server/files';
import { MAX_UPLOAD_BYTES } from '../../server/files/upload';
import { blobStore } from '../../server/files/blob-store';

let server: TestServer;
// Generous: the first test file on a busy machine also starts the PostgreSQL cluster.
beforeAll(async () => {
  server = await startServer();
}, 60_000);
afterAll(() => server.stop());

const GIF = Uint8Array.from(atob('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=='), (c) => c.charCodeAt(0));
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);
const WEBP = new Uint8Array([...new TextEncoder().encode('RIFF'), 26, 0, 0, 0, ...new TextEncoder().encode('WEBPVP8 '), 0, 0, 0, 0]);
const SVG = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>');
const HTML = new TextEncoder().encode('<!doctype html><script>alert(document.cookie)</script>');

/** A unique PNG per call, so tests never share blobs by accident. */
let shade = 0;
const uniquePng = (): Uint8Array<ArrayBuffer> => makePng(3, 3, [++shade % 256, Math.floor(shade / 256) % 256, 7]);

function form(bytes: Uint8Array, name = 'photo.png', type = 'image/png', extra: Record<string, string> = {}) {
  const data = new FormData();
  data.append('file', new File([bytes as Uint8Array<ArrayBuffer>], name, { type }));
  for (const [k, v] of Object.entries(extra)) data.append(k, v);
  return data;
}

async function upload(client: Client, bytes: Uint8Array, name?: string, type?: string, extra?: Record<string, string>) {
  const res = await client.request('POST', '/api/files', form(bytes, name, type, extra));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, res };
}

/** Whether the configured store (directory, postgres or s3: the run decides) holds these bytes. */
const stored = (sha: string) => blobStore({ sql: server.db.sql, config: server.config }).has(sha);
const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
const countFiles = async (userId: string) =>
  Number((await server.db.sql<{ n: string }[]>`select count(*)::text as n from files where user_id = ${userId}`)[0]!.n);

describe('upload and read back', () => {
  test('a PNG comes back byte-identical with strict headers', async () => {
    const { client } = await signUp(server.url);
    const png = uniquePng();
    const up = await upload(client, png, 'holiday photo.png');
    expect(up.status).toBe(201);
    expect(up.body.file).toMatchObject({ mime: 'image/png', size: png.length, name: 'holiday photo.png' });
    expect(up.body.file.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(up.body.file.url).toBe(`/api/files/${up.body.file.id}`);

    const res = await client.get(up.body.file.url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toStartWith('inline; filename="holiday photo.png"');
    expect(res.headers.get('cache-control')).toContain('private');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');

    const download = await client.get(`${up.body.file.url}?download=1`);
    expect(download.headers.get('content-disposition')).toStartWith('attachment; filename="holiday photo.png"');
    await download.arrayBuffer();
  });

  test('JPEG, WebP and GIF are accepted and typed by their bytes, not the declared type', async () => {
    const { client } = await signUp(server.url);
    for (const [bytes, mime, ext] of [
      [JPEG, 'image/jpeg', 'jpg'],
      [WEBP, 'image/webp', 'webp'],
      [GIF, 'image/gif', 'gif'],
    ] as const) {
      // Declared as PNG (a common mislabel): stored and served as what the bytes are.
      const up = await upload(client, bytes, 'x.png', 'image/png');
      expect(up.status).toBe(201);
      expect(up.body.file.mime).toBe(mime);
      expect(up.body.file.name).toBe(`x.${ext}`);
      const res = await client.get(up.body.file.url);
      expect(res.headers.get('content-type')).toBe(mime);
      await res.arrayBuffer();
    }
  });

  test('unsafe names are cleaned: no path, no quotes, the real extension', async () => {
    const { client } = await signUp(server.url);
    const up = await upload(client, uniquePng(), '../../etc/evil"; x=".html', 'image/png');
    expect(up.status).toBe(201);
    // The client sent `evil%22; x=%22.html` (browsers percent-encode quotes in multipart names).
    expect(up.body.file.name).toBe('evil%22 x=%22.png');
    const res = await client.get(up.body.file.url);
    const disposition = res.headers.get('content-disposition')!;
    expect(disposition).toBe(`inline; filename="evil_22 x=_22.png"; filename*=UTF-8''evil%2522%20x%3D%2522.png`);
    await res.arrayBuffer();
    const unicode = await upload(client, uniquePng(), 'фото 😀.png');
    const res2 = await client.get(unicode.body.file.url);
    expect(res2.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('фото 😀.png')}`);
    expect(res2.headers.get('content-disposition')).toMatch(/^inline; filename="[\x20-\x7e]+"/);
    await res2.arrayBuffer();
  });

  test('the same bytes from two users are stored once, and each reads only their own file', async () => {
    const a = await signUp(server.url);
    const b = await signUp(server.url);
    const png = uniquePng();
    const fa = (await upload(a.client, png)).body.file;
    const fb = (await upload(b.client, png)).body.file;
    expect(fa.id).not.toBe(fb.id);
    const [blobs] = await server.db.sql<{ n: string }[]>`select count(*)::text as n from blobs where sha256 = ${sha256(png)}`;
    expect(blobs!.n).toBe('1');
    expect((await stored(sha256(png)))).toBe(true);
    if (server.config.files.store === 'directory') {
      const dir = join(server.config.dataDir, 'blobs', sha256(png).slice(0, 2));
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
    expect((await a.client.get(fa.url)).status).toBe(200);
    expect((await a.client.get(fb.url)).status).toBe(404);
    expect((await b.client.get(fa.url)).status).toBe(404);
  });

  test('a validator is offered: If-None-Match answers 304', async () => {
    const { client } = await signUp(server.url);
    const up = await upload(client, uniquePng());
    const first = await client.get(up.body.file.url);
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await client.get(up.body.file.url, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  test('readFileForUser gives the owner the bytes and anyone else null', async () => {
    const a = await signUp(server.url);
    const b = await signUp(server.url);
    const png = uniquePng();
    const f = (await upload(a.client, png)).body.file;
    const deps = { sql: server.db.sql, config: server.config };
    const mine = await readFileForUser(deps, a.user.id, f.id);
    expect(mine?.mime).toBe('image/png');
    expect(mine?.bytes).toEqual(png);
    expect(await readFileForUser(deps, b.user.id, f.id)).toBeNull();
    expect(await readFileForUser(deps, a.user.id, crypto.randomUUID())).toBeNull();
  });
});

describe('who may read', () => {
  test('anonymous → 401; unknown or someone else’s id → 404; a malformed id → 400', async () => {
    const { client } = await signUp(server.url);
    const up = await upload(client, uniquePng());
    const anonymous = await new Client(server.url).json('GET', up.body.file.url);
    expect(anonymous.status).toBe(401);
    expect((await client.json('GET', `/api/files/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await client.json('GET', '/api/files/not-a-uuid')).status).toBe(400);
    const other = await signUp(server.url);
    const stranger = await other.client.json('GET', up.body.file.url);
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('not_found');
  });

  test('uploading anonymously is refused, and a foreign Origin is refused', async () => {
    expect((await upload(new Client(server.url), uniquePng())).status).toBe(401);
    const { client } = await signUp(server.url);
    const res = await client.request('POST', '/api/files', form(uniquePng()), { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
  });

  test('threadId must be the uploader’s own thread: someone else’s → 404 and nothing stored', async () => {
    const a = await signUp(server.url);
    const b = await signUp(server.url);
    const thread = await newThread(a.client, { title: 'mine' });
    const mine = await upload(a.client, uniquePng(), 'a.png', 'image/png', { threadId: thread.id });
    expect(mine.status).toBe(201);
    const [row] = await server.db.sql<{ threadId: string }[]>`select thread_id from files where id = ${mine.body.file.id}`;
    expect(row!.threadId).toBe(thread.id);

    const before = await countFiles(b.user.id);
    const theirs = await upload(b.client, uniquePng(), 'b.png', 'image/png', { threadId: thread.id });
    expect(theirs.status).toBe(404);
    expect(await countFiles(b.user.id)).toBe(before);
    const bad = await upload(b.client, uniquePng(), 'b.png', 'image/png', { threadId: 'nope' });
    expect(bad.status).toBe(400);
  });
});

describe('refused uploads', () => {
  test('wrong types → 415: HTML or SVG renamed .png, SVG as itself, a PNG declared as text/html, a raw body', async () => {
    const { client, user } = await signUp(server.url);
    const cases: [Uint8Array, string, string][] = [
      [HTML, 'page.png', 'image/png'],
      [SVG, 'drawing.png', 'image/png'],
      [SVG, 'drawing.svg', 'image/svg+xml'],
      [uniquePng(), 'photo.png', 'text/html'],
      [uniquePng(), 'photo.png', 'image/svg+xml'],
      [new TextEncoder().encode('just text'), 'notes.png', ''],
    ];
    for (const [bytes, name, type] of cases) {
      const res = await upload(client, bytes, name, type);
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    }
    const raw = await client.request('POST', '/api/files', uniquePng(), { headers: { 'content-type': 'image/png' } });
    expect(raw.status).toBe(415);
    expect(await countFiles(user.id)).toBe(0);
  });

  test('missing or empty file → 400', async () => {
    const { client } = await signUp(server.url);
    const noFile = new FormData();
    noFile.append('other', 'x');
    expect((await client.request('POST', '/api/files', noFile)).status).toBe(400);
    expect((await upload(client, new Uint8Array(0))).status).toBe(400);
  });

  test('SVG can never be stored, even by a bug: the database refuses the type', async () => {
    const { user } = await signUp(server.url);
    const sha = '0'.repeat(64);
    await server.db.sql`insert into blobs (sha256, size) values (${sha}, 1) on conflict do nothing`;
    await expect(
      server.db.sql`insert into files (user_id, sha256, mime, size) values (${user.id}, ${sha}, 'image/svg+xml', 1)`,
    ).rejects.toThrow();
    await server.db.sql`delete from blobs where sha256 = ${sha}`;
    const [svg] = await server.db.sql<{ n: string }[]>`select count(*)::text as n from files where mime not like 'image/%' or mime like '%svg%'`;
    expect(svg!.n).toBe('0');
  });

  test('too large → 413: an honest oversize upload', async () => {
    const { client, user } = await signUp(server.url);
    const big = new Uint8Array(MAX_UPLOAD_BYTES + 1);
    big.set(makePng());
    const res = await upload(client, big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_large');
    expect(await countFiles(user.id)).toBe(0);
  });

  test('too large → 413 at once from Content-Length, before any body is sent', async () => {
    const { client } = await signUp(server.url);
    const cookie = cookieHeader(client);
    const res = await rawRequest(server.url, {
      path: '/api/files',
      headers: {
        cookie,
        'content-type': 'multipart/form-data; boundary=xyz',
        'content-length': String(50 * 1024 * 1024),
      },
      timeoutMs: 5000,
    });
    expect(res.status).toBe(413);
    expect(res.sentBeforeResponse).toBe(0);
  });

  test('too large → 413 while reading a chunked body with no Content-Length, long before it ends', async () => {
    const { client, user } = await signUp(server.url);
    const cookie = cookieHeader(client);
    // 40 MB offered in 64 KB chunks; the server must stop us just past the 20 MB cap (documents').
    const res = await rawRequest(server.url, {
      path: '/api/files',
      headers: { cookie, 'content-type': 'multipart/form-data; boundary=xyz' },
      body: pieces(640, 64 * 1024),
      chunked: true,
      timeoutMs: 20_000,
    });
    expect(res.status).toBe(413);
    expect(res.sentBeforeResponse).toBeLessThan(30 * 1024 * 1024);
    expect(await countFiles(user.id)).toBe(0);
  });
});

async function insertMessage(userId: string, threadId: string, attachments: unknown[]) {
  await server.db.sql.begin(async (tx) => {
    const seq = await nextSeq(tx, userId);
    await tx`insert into messages (id, thread_id, user_id, role, content, attachments, seq)
             values (${crypto.randomUUID()}, ${threadId}, ${userId}, 'user', 'look', ${tx.json(attachments as never)}, ${seq})`;
  });
}

describe('deleting threads and accounts deletes their files', () => {
  test('a thread’s files and their bytes go with it, including uploads attached to its messages', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client, {});
    const other = await newThread(client, {});
    const inThread = (await upload(client, uniquePng(), 'a.png', 'image/png', { threadId: thread.id })).body.file;
    const attached = (await upload(client, uniquePng())).body.file; // uploaded without a thread, then sent
    const elsewhere = (await upload(client, uniquePng())).body.file; // sent in another thread too
    await insertMessage(user.id, thread.id, [attached, elsewhere]);
    await insertMessage(user.id, other.id, [elsewhere]);
    const shas = await server.db.sql<{ id: string; sha256: string }[]>`select id, sha256 from files where user_id = ${user.id}`;
    const shaOf = (id: string) => shas.find((s) => s.id === id)!.sha256;

    expect((await client.request('DELETE', `/api/threads/${thread.id}`)).status).toBe(204);
    expect((await client.get(inThread.url)).status).toBe(404);
    expect((await client.get(attached.url)).status).toBe(404);
    expect((await stored(shaOf(inThread.id)))).toBe(false);
    expect((await stored(shaOf(attached.id)))).toBe(false);
    // Still shown in the other thread: kept.
    const kept = await client.get(elsewhere.url);
    expect(kept.status).toBe(200);
    await kept.arrayBuffer();
    expect((await stored(shaOf(elsewhere.id)))).toBe(true);
  });

  test('deleting an account removes its bytes, except bytes another user also stored', async () => {
    const a = await signUp(server.url);
    const b = await signUp(server.url);
    const onlyA = uniquePng();
    const shared = uniquePng();
    await upload(a.client, onlyA);
    await upload(a.client, shared);
    const fb = (await upload(b.client, shared)).body.file;
    expect((await stored(sha256(onlyA)))).toBe(true);

    expect((await a.client.request('DELETE', '/api/auth/me')).status).toBe(204);
    expect((await stored(sha256(onlyA)))).toBe(false);
    expect((await stored(sha256(shared)))).toBe(true);
    const [row] = await server.db.sql`select 1 from blobs where sha256 = ${sha256(onlyA)}`;
    expect(row).toBeUndefined();
    const res = await b.client.get(fb.url);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(shared);
  });

  test('an upload never sent with a message is deleted a day later; a sent one stays', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client, {});
    const abandoned = uniquePng();
    const fa = (await upload(client, abandoned)).body.file;
    const fs = (await upload(client, uniquePng())).body.file;
    await insertMessage(user.id, thread.id, [fs]);
    await server.db.sql`update files set created_at = now() - interval '25 hours' where user_id = ${user.id}`;
    await upload(client, uniquePng()); // any later upload sweeps this user's stale ones
    expect((await client.get(fa.url)).status).toBe(404);
    expect((await stored(sha256(abandoned)))).toBe(false);
    const sent = await client.get(fs.url);
    expect(sent.status).toBe(200);
    await sent.arrayBuffer();
  });

  test('deleteOrphanBlobs is idempotent and leaves referenced bytes alone', async () => {
    const { client } = await signUp(server.url);
    const png = uniquePng();
    await upload(client, png);
    const deps = { sql: server.db.sql, config: server.config };
    await deleteOrphanBlobs(deps);
    expect(await deleteOrphanBlobs(deps)).toBe(0);
    expect((await stored(sha256(png)))).toBe(true);
  });
});
