/**
 * Stored files on two instances behind nginx (issue 19): a file stored through A is
 * served by B with the `postgres` store (the default with a database server) and with
 * `s3` (a real S3 wire-protocol server, s3rver), where the bytes are in the bucket; and
 * deleting a thread through B stops the reply A is generating for it.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { Client, signUp, via } from '../support/client';
import { startParleyCluster, type ParleyCluster } from '../support/cluster';
import { startS3, type TestS3 } from '../support/s3';
import { makePng } from '../support/fake-provider/images';
import { newThread } from '../support/threads';
import { SseReader } from '../support/sse';

const started: { cluster: ParleyCluster; s3: TestS3 | null }[] = [];
const clusters = new Map<string, Promise<{ cluster: ParleyCluster; s3: TestS3 | null }>>();
/** One two-instance deployment per store, shared by the tests that use it (each takes seconds to start). */
function deployment(store: 'postgres' | 's3') {
  let d = clusters.get(store);
  if (!d) {
    d = (async () => {
      const s3 = store === 's3' ? await startS3() : null;
      const cluster = await startParleyCluster({ instances: 2, env: s3 ? s3.env : { BLOB_STORE: 'postgres' } });
      const entry = { cluster, s3 };
      started.push(entry);
      return entry;
    })();
    clusters.set(store, d);
  }
  return d;
}
afterAll(async () => {
  for (const { cluster, s3 } of started) {
    await cluster.stop();
    await s3?.stop();
  }
}, 60_000);

async function upload(client: Client, bytes: Uint8Array) {
  const form = new FormData();
  form.append('file', new File([bytes as Uint8Array<ArrayBuffer>], 'photo.png', { type: 'image/png' }));
  const res = await client.request('POST', '/api/files', form);
  expect(res.status).toBe(201);
  return (await res.json()).file as { id: string; url: string };
}

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex');

describe.each(['postgres', 's3'] as const)('BLOB_STORE=%s on two instances', (store) => {
  test('a file stored through A is served by B (and through nginx); deleting it through B removes the bytes everywhere', async () => {
    const { cluster, s3 } = await deployment(store);
    const A = cluster.instanceUrl(0);
    const B = cluster.instanceUrl(1);
    const { client } = await signUp(A, 'files');
    const thread = await newThread(client);
    const png = makePng(64, 48, [200, 120, 40]);
    const file = await upload(client, png);
    for (const base of [B, cluster.url]) {
      const res = await via(client, base).get(file.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
    }
    const key = `blobs/${sha256(png).slice(0, 2)}/${sha256(png).slice(2)}`;
    const bucket = s3
      ? new Bun.S3Client({ endpoint: s3.endpoint, bucket: s3.bucket, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' })
      : null;
    if (bucket) {
      // The bytes are in the bucket, and come back from it as they went in.
      expect(await bucket.file(key).exists()).toBe(true);
      expect(new Uint8Array(await bucket.file(key).arrayBuffer())).toEqual(png);
      expect(Number((await cluster.sql`select count(*)::int as n from blob_chunks`)[0]!.n)).toBe(0);
    } else {
      expect(Number((await cluster.sql`select count(*)::int as n from blob_chunks where sha256 = ${sha256(png)}`)[0]!.n)).toBe(1);
    }
    // Sent in the thread, then the thread deleted through B: the bytes go from the store.
    await cluster.sql`update files set thread_id = ${thread.id} where id = ${file.id}`;
    expect((await via(client, B).request('DELETE', `/api/threads/${thread.id}`)).status).toBe(204);
    expect((await via(client, A).get(file.url)).status).toBe(404);
    if (bucket) expect(await bucket.file(key).exists()).toBe(false);
    else expect(Number((await cluster.sql`select count(*)::int as n from blob_chunks where sha256 = ${sha256(png)}`)[0]!.n)).toBe(0);
  }, 90_000);
});

describe('deletions across instances', () => {
  test('deleting a thread through B stops the reply A is generating for it (its provider request is aborted)', async () => {
    const { cluster } = await deployment('postgres');
    const A = cluster.instanceUrl(0);
    const B = cluster.instanceUrl(1);
    const { client } = await signUp(A, 'delete');
    const thread = await newThread(client);
    cluster.fake.chat.script({ chunks: Array.from({ length: 400 }, (_, i) => `w${i} `), chunkDelayMs: 25 });
    const res = await client.post(`/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'A long story' });
    expect(res.status).toBe(200);
    const reader = new SseReader(res);
    await reader.until('delta');
    const request = await cluster.fake.chat.waitForRequests(1);
    expect((await via(client, B).request('DELETE', `/api/threads/${thread.id}`)).status).toBe(204);
    await cluster.fake.chat.waitForFinish(request, 10_000);
    expect(request.aborted).toBe(true);
    expect(request.finished).toBe(true);
  }, 90_000);
});
