/**
 * The three blob stores behind one interface (directory, postgres, s3 through a
 * real S3 wire-protocol server), the 503 of a store that is down, and moving
 * every stored file from one store to another with `bun run blobs:move`.
 * The HTTP file tests (files.test.ts) run once per store as well (scripts/test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { Client, signUp } from '../support/client';
import { startServer, embedded, type TestServer } from '../support/server';
import { startS3, type TestS3 } from '../support/s3';
import { makePng } from '../support/fake-provider/images';
import { createBlobStore, sha256Hex, type BlobStore, type BlobStoreKind } from '../../server/files/blob-store';
import { CHUNK_BYTES } from '../../server/files/blob-store-postgres';
import { fileUrl, saveFile } from '../../server/files/service';
import { loadConfig } from '../../server/config';
import { createApp } from '../../server/app';

let s3: TestS3;
let server: TestServer;

beforeAll(async () => {
  s3 = await startS3();
  server = await startServer();
}, 60_000);
afterAll(async () => {
  await server.stop();
  await s3.stop();
});

const kinds: BlobStoreKind[] = embedded ? ['directory', 'postgres'] : ['directory', 'postgres', 's3'];

function storeOf(kind: BlobStoreKind): BlobStore {
  const s3Settings = {
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
  };
  return createBlobStore(kind, { dataDir: server.config.dataDir, files: { store: kind, s3: s3Settings } }, server.db.sql);
}

const random = (size: number) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  return bytes;
};

async function readAll(stream: ReadableStream<Uint8Array>) {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe.each(kinds)('the %s store', (kind) => {
  test('put, has, get, open and delete; a second put of the same bytes is a no-op', async () => {
    const store = storeOf(kind);
    const bytes = random(1000);
    const sha = await store.put(bytes);
    expect(sha).toBe(sha256Hex(bytes));
    expect(await store.has(sha)).toBe(true);
    expect(await store.get(sha)).toEqual(bytes);
    expect(await store.put(bytes)).toBe(sha);
    const opened = (await store.open(sha))!;
    expect(opened.size).toBe(1000);
    expect(await readAll(opened.stream)).toEqual(bytes);
    await store.delete(sha);
    expect(await store.has(sha)).toBe(false);
    expect(await store.get(sha)).toBeNull();
    expect(await store.open(sha)).toBeNull();
    await store.delete(sha); // absent is fine
  });

  test('a file of several chunks (and an empty one) comes back byte for byte, whole and streamed', async () => {
    const store = storeOf(kind);
    for (const size of [CHUNK_BYTES * 2 + 12345, CHUNK_BYTES, 0]) {
      const bytes = random(size);
      const sha = await store.put(bytes);
      expect(sha256Hex((await store.get(sha))!)).toBe(sha);
      const opened = (await store.open(sha))!;
      expect(opened.size).toBe(size);
      expect(sha256Hex(await readAll(opened.stream))).toBe(sha);
    }
  });

  test('an address that is not a SHA-256 is refused before the store is touched', async () => {
    const store = storeOf(kind);
    for (const bad of ['../../etc/passwd', 'ab/../../x', '0'.repeat(63), 'A'.repeat(64), `${'0'.repeat(64)}?x=1`]) {
      await expect(store.get(bad)).rejects.toThrow('invalid blob address');
      await expect(store.delete(bad)).rejects.toThrow('invalid blob address');
    }
  });
});

// The s3 store is the same code on both databases: its outage is tested on PostgreSQL only.
describe('a store that is down', () => {
  test.skipIf(embedded)('s3 unreachable: upload and download answer 503 storage_unavailable, nothing half-stored, and everything is back when it is', async () => {
    const store = await startS3('down-test');
    const local = await startServer(store.env);
    try {
      const { client } = await signUp(local.url);
      const png = makePng(4, 4, [1, 2, 3]);
      const kept = await upload(client, png);
      expect(kept.status).toBe(201);
      const count = async () => Number((await local.db.sql`select count(*)::int as n from files`)[0]!.n);
      const before = await count();

      await store.pause();
      const refused = await upload(client, makePng(4, 4, [9, 9, 9]));
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('storage_unavailable');
      expect(await count()).toBe(before); // the file row rolled back with the failed write
      const read = await client.get(kept.body.file.url);
      expect(read.status).toBe(503);
      expect((await read.json()).error.code).toBe('storage_unavailable');
      expect((await fetch(`${local.url}/api/health`)).status).toBe(200); // the process is up and says so

      await store.start();
      const back = await client.get(kept.body.file.url);
      expect(back.status).toBe(200);
      expect(new Uint8Array(await back.arrayBuffer())).toEqual(png);
    } finally {
      await local.stop();
      await store.stop();
    }
  });
});

async function upload(client: Client, bytes: Uint8Array) {
  const data = new FormData();
  data.append('file', new File([bytes as Uint8Array<ArrayBuffer>], 'photo.png', { type: 'image/png' }));
  const res = await client.request('POST', '/api/files', data);
  return { status: res.status, body: await res.json() };
}

describe('bun run blobs:move', () => {
  // The script shares a database server with the running app; PGlite is one process's alone.
  test.skipIf(embedded)('moves a few hundred files directory → s3 → postgres, resumes after being killed, copies nothing the second time, and every file reads back', async () => {
    const store = await startS3('move-test');
    const local = await startServer({ BLOB_STORE: 'directory' });
    try {
      const { client, user } = await signUp(local.url);
      const files: { url: string; bytes: Uint8Array<ArrayBuffer> }[] = [];
      // Stored through the files module itself (the upload route's rate limit would make this slow).
      for (let i = 0; i < 300; i++) {
        const png = makePng(2, 2, [i % 256, Math.floor(i / 256), 42]);
        const { file } = await saveFile({ sql: local.db.sql, config: local.config }, { userId: user.id, bytes: png, mime: 'image/png', name: `${i}.png`, source: 'upload' });
        files.push({ url: fileUrl(file.id), bytes: png });
      }
      const env = {
        ...process.env,
        DATABASE_URL: local.config.db.url!,
        DATA_DIR: local.config.dataDir,
        BLOB_STORE: 'directory',
        ...Object.fromEntries(Object.entries(store.env).filter(([k]) => k !== 'BLOB_STORE')),
        LOG_LEVEL: 'silent',
      };
      const script = join(import.meta.dir, '../../scripts/blobs-move.ts');
      // Asynchronously: the S3 server runs in this very process and must keep answering.
      const runScript = async (args: string[]) => {
        const child = Bun.spawn(['bun', script, ...args], { env, stdout: 'pipe', stderr: 'pipe' });
        const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
        if (exitCode !== 0) console.error(stderr);
        return { stdout, exitCode };
      };

      // Killed part way: after its first progress line.
      const first = Bun.spawn(['bun', script, '--to', 's3'], { env, stdout: 'pipe', stderr: 'pipe' });
      const reader = first.stdout.getReader();
      // Up to its first output (a pipe may hand over an empty chunk first); if it ends without
      // any, its stderr says why.
      let progress = '';
      while (!progress) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`blobs:move ended without output: ${await new Response(first.stderr).text()}`);
        progress = new TextDecoder().decode(value);
      }
      expect(progress).toMatch(/^\d+\/300 blobs/);
      first.kill('SIGKILL');
      await first.exited;

      const resumed = await runScript(['--to', 's3']);
      expect(resumed.exitCode).toBe(0);
      const said = resumed.stdout;
      const [, copied, skipped] = said.match(/Done in [\d.]+ s: (\d+) copied, (\d+) already in s3, 0 missing/)!;
      // It resumed: what the killed run had copied was not copied again.
      expect(Number(skipped)).toBeGreaterThan(0);
      expect(Number(copied) + Number(skipped)).toBe(300);
      const again = await runScript(['--to', 's3']);
      expect(again.stdout).toContain('Done in');
      expect(again.stdout).toMatch(/: 0 copied, 300 already in s3, 0 missing/);

      // The instance restarted with BLOB_STORE=s3 serves every file from the bucket; then on to postgres.
      const s3Env = Object.fromEntries(Object.entries(store.env).filter(([k]) => k !== 'BLOB_STORE'));
      for (const kind of ['s3', 'postgres'] as const) {
        if (kind === 'postgres') {
          const moved = await runScript(['--from', 's3', '--to', 'postgres']);
          expect(moved.exitCode).toBe(0);
          expect(moved.stdout).toMatch(/: 300 copied, 0 already in postgres, 0 missing/);
        }
        const config = loadConfig({ DATA_DIR: local.config.dataDir, DATABASE_URL: local.config.db.url!, ...s3Env, BLOB_STORE: kind });
        const restarted = createApp({ config, sql: local.db.sql });
        restarted.listen({ port: 0, hostname: '127.0.0.1' });
        try {
          client.base = `http://127.0.0.1:${restarted.server!.port}`;
          for (const f of files) {
            const res = await client.get(f.url);
            expect(res.status).toBe(200);
            expect(new Uint8Array(await res.arrayBuffer())).toEqual(f.bytes);
          }
        } finally {
          await restarted.stop(true);
        }
      }
    } finally {
      await local.stop();
      await store.stop();
    }
  }, 120_000);
});
