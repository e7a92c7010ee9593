/**
 * Web Push across two instances behind nginx (tests/support/cluster.ts): whether a reply was
 * watched must not depend on which instance heard the window's visibility report. The
 * reply runs on A (it was posted there and its stream is read there); the window reports
 * itself hidden or visible through B. The local push service (tests/support/push-service)
 * decrypts what Parley sends.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import webpush from 'web-push';
import { Client, signUp, via } from '../support/client';
import { startParleyCluster, type ParleyCluster } from '../support/cluster';
import { eventually } from '../support/eventually';
import { startPushService, type PushService } from '../support/push-service';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

let c: ParleyCluster;
let push: PushService;
let A: string;
let B: string;

beforeAll(async () => {
  push = await startPushService();
  // One key pair for the deployment: a subscription made through one instance is sent to by any.
  const keys = webpush.generateVAPIDKeys();
  c = await startParleyCluster({
    instances: 2,
    env: { PUSH_ALLOWED_HOSTS: push.host, VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey },
  });
  A = c.instanceUrl(0);
  B = c.instanceUrl(1);
}, 90_000);

afterAll(async () => {
  await c?.stop();
  await push?.stop();
}, 30_000);

/** Posts through A and reads the whole stream there: a window watching the reply to its end. */
async function watchedOnA(client: Client, threadId: string, content: string) {
  const res = await via(client, A).request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), content });
  expect(res.status).toBe(200);
  const events = await new SseReader(res).all();
  return events.find((e) => e.event === 'done')!.data.message.id as string;
}

/** Posts through A and hangs up once the reply has started: nobody watches it end. */
async function unwatchedOnA(client: Client, threadId: string, content: string) {
  const abort = new AbortController();
  const res = await via(client, A).request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), content }, { signal: abort.signal });
  const stream = new SseReader(res);
  const id = (await stream.until('start')).data.message.id as string;
  abort.abort();
  await stream.cancel();
  return id;
}

const ids = (subId: string) => push.for(subId).map((d) => (d.payload as { messageId: string }).messageId);

describe('push "watched" across instances', () => {
  test('a hidden report heard by B makes A push the reply its window watched; a visible report through B stops it', async () => {
    const { client } = await signUp(A, 'push');
    const sub = push.subscribe();
    expect((await via(client, B).post('/api/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(201);
    const thread = await newThread(client, { title: 'Across' });

    // The window hides; its report reaches B. The reply on A ends watched only by that hidden window: pushed.
    expect((await via(client, B).post('/api/push/visibility', { hidden: true })).status).toBe(204);
    const hiddenId = await watchedOnA(client, thread.id, 'first, hidden');
    await eventually(() => ids(sub.id).length > 0, { timeout: 15_000 });
    expect(ids(sub.id)).toEqual([hiddenId]);
    const [d] = push.for(sub.id);
    expect(d!.payload).toMatchObject({ title: 'Across', threadId: thread.id, messageId: hiddenId });

    // Visible again, reported through B: a reply watched on A sends nothing (the next,
    // unwatched reply is the next and only delivery).
    expect((await via(client, B).post('/api/push/visibility', { hidden: false })).status).toBe(204);
    await watchedOnA(client, thread.id, 'second, visible');
    const lastId = await unwatchedOnA(client, thread.id, 'third, unwatched');
    await eventually(() => ids(sub.id).length > 1, { timeout: 15_000 });
    expect(ids(sub.id)).toEqual([hiddenId, lastId]);
    expect(push.failures).toEqual([]);
  }, 60_000);

  test("another session's hidden report does not make this session's watched reply a push", async () => {
    const { client, email, password } = await signUp(A, 'push-two');
    const sub = push.subscribe();
    expect((await via(client, A).post('/api/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(201);
    const thread = await newThread(client, { title: 'Two devices' });
    // A second device of the same account (its own session) hides, through B.
    const phone = new Client(B);
    expect((await phone.json('POST', '/api/auth/login', { email, password })).status).toBe(200);
    expect((await phone.post('/api/push/visibility', { hidden: true })).status).toBe(204);
    // This window (visible, never reported) watches a reply on A: nothing is sent for it.
    await watchedOnA(client, thread.id, 'watched here');
    const lastId = await unwatchedOnA(client, thread.id, 'then unwatched');
    await eventually(() => ids(sub.id).length > 0, { timeout: 15_000 });
    expect(ids(sub.id)).toEqual([lastId]);
  }, 60_000);
});
