/**
 * An import sent in parts on two instances behind nginx (issue 15): the parts live in the
 * database, so part 0 through A, part 1 through B and the finish through A import the file.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { signUp, via } from '../support/client';
import { startParleyCluster, type ParleyCluster } from '../support/cluster';
import { IMPORT_PART_BYTES } from '../../server/import/model';
import { chatgptConversation } from '../support/chatgpt';

let c: ParleyCluster;
beforeAll(async () => {
  c = await startParleyCluster({ instances: 2 });
}, 90_000);
afterAll(async () => {
  await c?.stop();
}, 30_000);

/** A ChatGPT export a little over one part long: 15 conversations of 10 messages of ~30 KB. */
function exportOfTwoParts() {
  const filler = 'tides and moons '.repeat(1900);
  const conversations = Array.from({ length: 15 }, (_, i) =>
    chatgptConversation(i, 10, (m) => `message ${m} of ${i}: ${filler}`, { title: `Cluster import ${i}`, id: `cluster-${i}-${crypto.randomUUID()}` }),
  );
  return new TextEncoder().encode(JSON.stringify(conversations));
}

test('parts sent to different instances, finished on a third request elsewhere: imported once', async () => {
  const bytes = exportOfTwoParts();
  expect(bytes.byteLength).toBeGreaterThan(IMPORT_PART_BYTES);
  expect(bytes.byteLength).toBeLessThanOrEqual(2 * IMPORT_PART_BYTES);
  const { client } = await signUp(c.instanceUrl(0), 'parts');
  const onB = via(client, c.instanceUrl(1));
  const started = await client.json('POST', '/api/import/uploads', { size: bytes.byteLength, name: 'conversations.json' });
  expect(started.status).toBe(201);
  const id = started.body.upload.id;
  const put = async (to: typeof client, n: number) => {
    const res = await to.put(`/api/import/uploads/${id}/parts/${n}`, bytes.subarray(n * IMPORT_PART_BYTES, (n + 1) * IMPORT_PART_BYTES), { headers: { 'content-type': 'application/octet-stream' } });
    await res.arrayBuffer();
    return res.status;
  };
  expect(await put(client, 0)).toBe(200);
  expect(await put(onB, 1)).toBe(200);
  const done = await via(client, c.url).json('POST', `/api/import/uploads/${id}/finish`);
  expect(done.status).toBe(201);
  expect(done.body).toEqual({ imported: { threads: 15, messages: 150 }, skipped: 0 });
  const listed = await onB.json('GET', '/api/threads?limit=200');
  expect(listed.body.threads.length).toBe(15);
  const [left] = await c.sql<{ n: number }[]>`select count(*)::int as n from import_upload_chunks where upload_id = ${id}`;
  expect(left!.n).toBe(0);
}, 60_000);
