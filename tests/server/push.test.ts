/**
 * Web Push, end to end without the internet: a local push service (tests/support/push-service)
 * makes the subscriptions, receives what Parley POSTs, verifies the VAPID JWT and decrypts
 * the RFC 8291 payload with the keys it made.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkEndpoint } from '../../server/push/service';
import { Client, signUp } from '../support/client';
import { eventually } from '../support/eventually';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { startPushService, type PushService } from '../support/push-service';
import { startServer, type TestServer } from '../support/server';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

// Deliveries run after the reply's completion steps: on a loaded machine that takes seconds.
setDefaultTimeout(30_000);

let server: TestServer;
let fake: FakeProvider;
let push: PushService;
beforeAll(async () => {
  fake = await startFakeProvider();
  // Replies take a while, as real ones do: one whose client hangs up after `start` is still
  // being written when the server notices, so it ends unwatched (with the fake's instant
  // replies it could end first and count as watched).
  fake.chat.defaults.firstTokenDelayMs = 200;
  fake.chat.defaults.chunkDelayMs = 20;
  push = await startPushService();
  server = await startServer({
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'test',
    PUSH_ALLOWED_HOSTS: push.host,
  });
}, 30_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
  await push.stop();
});

async function subscribed(client?: Client) {
  const c = client ?? (await signUp(server.url)).client;
  const sub = push.subscribe();
  const res = await c.post('/api/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys });
  expect(res.status).toBe(201);
  return { client: c, sub };
}

/** Posts a message and hangs up once the reply has started: nobody watches it end. */
async function unwatchedReply(client: Client, threadId: string, content: string) {
  const abort = new AbortController();
  const res = await client.request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), content }, { signal: abort.signal });
  const stream = new SseReader(res);
  const start = await stream.until('start');
  abort.abort();
  await stream.cancel();
  const g = server.app.generations.get(start.data.message.id);
  await g?.settled;
  return start.data.message.id as string;
}

/** Posts a message and reads its whole stream (a visible window watching it). */
async function watchedReply(client: Client, threadId: string, content: string) {
  const res = await client.request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), content });
  const events = await new SseReader(res).all();
  return events.find((e) => e.event === 'done')!.data.message.id as string;
}

describe('push keys and subscriptions', () => {
  test('the VAPID public key is generated once into DATA_DIR and served to signed-in users only', async () => {
    const { client } = await signUp(server.url);
    const res = await client.json('GET', '/api/push/key');
    expect(res.status).toBe(200);
    const key = (res.body as { publicKey: string }).publicKey;
    expect(Buffer.from(key, 'base64url').length).toBe(65);
    const file = join(server.config.dataDir, 'vapid.json');
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).publicKey).toBe(key);
    expect((await client.json('GET', '/api/push/key')).body).toEqual({ publicKey: key });
    expect((await new Client(server.url).get('/api/push/key')).status).toBe(401);
    const sub = push.subscribe();
    expect((await new Client(server.url).post('/api/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(401);
    expect((await new Client(server.url).post('/api/push/visibility', { hidden: true })).status).toBe(401);
  });

  test('endpoints on private addresses, plain http or local names are refused unless allowed', async () => {
    const { client } = await signUp(server.url);
    const keys = push.subscribe().keys;
    for (const endpoint of [
      'https://127.0.0.1/push/x',
      'https://10.0.0.8/push/x',
      'https://[::ffff:192.168.1.1]/push/x',
      'https://2130706433/push/x',
      'https://localhost/push/x',
      'https://printer.local/push/x',
      'http://push.example.com/x',
      'https://user:pw@push.example.com/x',
      'ftp://push.example.com/x',
      'not a url',
      `http://127.0.0.1:${Number(push.host.split(':')[1]) + 1}/push/x`, // same address, port not allowed
    ]) {
      const res = await client.json('POST', '/api/push/subscriptions', { endpoint, keys });
      expect([endpoint, res.status]).toEqual([endpoint, 400]);
      expect((res.body as { error: { fields: Record<string, string> } }).error.fields.endpoint).toBeString();
    }
    // Malformed keys are refused by the schema.
    expect((await client.post('/api/push/subscriptions', { endpoint: push.subscribe().endpoint, keys: { p256dh: 'x', auth: 'y' } })).status).toBe(400);
    // The allow-listed host is accepted, plain http included.
    expect((await client.post('/api/push/subscriptions', { endpoint: push.subscribe().endpoint, keys })).status).toBe(201);
  });

  test('checkEndpoint allows public https hosts by their addresses', async () => {
    const config = { push: { vapid: null, allowedHosts: [] } };
    await expect(checkEndpoint(config, 'https://[2606:4700::1111]/push/abc')).resolves.toBeInstanceOf(URL);
    await expect(checkEndpoint(config, 'https://8.8.8.8/push/abc')).resolves.toBeInstanceOf(URL);
    await expect(checkEndpoint(config, 'https://169.254.169.254/latest')).rejects.toThrow();
  });
});

describe('a reply that finishes unwatched', () => {
  test('each subscribed device gets an encrypted notification naming the thread and the first words', async () => {
    const { client, sub } = await subscribed();
    const second = push.subscribe();
    expect((await client.post('/api/push/subscriptions', { endpoint: second.endpoint, keys: second.keys })).status).toBe(201);
    const thread = await newThread(client, { title: 'Trip to Lisbon' });
    fake.chat.script({ text: 'Pack light: the trams are narrow and the hills are steep, so bring good shoes.', chunkDelayMs: 20 });
    const messageId = await unwatchedReply(client, thread.id, 'What should I pack?');

    const [delivery] = await eventually(() => push.for(sub.id).length > 0 && push.for(sub.id), { message: 'a push delivery', timeout: 10_000 });
    expect(delivery!.payload).toEqual({
      title: 'Trip to Lisbon',
      body: 'Pack light: the trams are narrow and the hills are steep, so bring good shoes.',
      threadId: thread.id,
      messageId,
      url: `${server.config.http.publicUrl}/t/${thread.id}`,
    });
    expect(delivery!.vapid.aud).toBe(push.origin);
    expect(delivery!.vapid.publicKey).toBe(((await client.json('GET', '/api/push/key')).body as { publicKey: string }).publicKey);
    expect(Number(delivery!.headers.ttl)).toBeGreaterThan(0);
    await eventually(() => push.for(second.id).length === 1, { message: 'the second device too', timeout: 10_000 });
    expect(push.failures).toEqual([]);
  });

  test('a long reply is cut to its first words', async () => {
    const { client, sub } = await subscribed();
    const thread = await newThread(client, { title: 'Essay' });
    fake.chat.script({ text: Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ') });
    await unwatchedReply(client, thread.id, 'Write a lot');
    const [d] = await eventually(() => push.for(sub.id).length > 0 && push.for(sub.id), { timeout: 10_000 });
    const body = (d!.payload as { body: string }).body;
    expect(body.length).toBeLessThanOrEqual(141);
    expect(body).toStartWith('word0 word1 word2');
    expect(body).toEndWith('…');
  });

  test('a reply watched to its end by a visible window sends nothing; one watched only by hidden windows does', async () => {
    const { client, sub } = await subscribed();
    const thread = await newThread(client, { title: 'Watched' });
    await watchedReply(client, thread.id, 'first, watched');
    // Then a window that reported itself hidden: this one is pushed, and it is the only one.
    expect((await client.post('/api/push/visibility', { hidden: true })).status).toBe(204);
    const hiddenId = await watchedReply(client, thread.id, 'second, hidden');
    const got = await eventually(() => push.for(sub.id).length > 0 && push.for(sub.id), { timeout: 10_000 });
    expect(got.map((d) => (d.payload as { messageId: string }).messageId)).toEqual([hiddenId]);
    // Visible again: nothing more (a third, unwatched reply is the next and only delivery).
    expect((await client.post('/api/push/visibility', { hidden: false })).status).toBe(204);
    await watchedReply(client, thread.id, 'third, visible');
    const lastId = await unwatchedReply(client, thread.id, 'fourth, unwatched');
    const all = await eventually(() => push.for(sub.id).length > 1 && push.for(sub.id), { timeout: 10_000 });
    expect(all.map((d) => (d.payload as { messageId: string }).messageId)).toEqual([hiddenId, lastId]);
    expect((await client.json('POST', '/api/push/visibility', { hidden: 'yes' })).status).toBe(400);
  });

  test('a subscription the push service says is gone (404/410) is removed', async () => {
    const { client, sub } = await subscribed();
    const other = push.subscribe();
    expect((await client.post('/api/push/subscriptions', { endpoint: other.endpoint, keys: other.keys })).status).toBe(201);
    push.answerWith(sub.id, 410);
    push.answerWith(other.id, 404);
    const thread = await newThread(client, { title: 'Gone' });
    await unwatchedReply(client, thread.id, 'hello');
    await eventually(async () => {
      const rows = await server.db.sql`select 1 from push_subscriptions where endpoint in ${server.db.sql([sub.endpoint, other.endpoint])}`;
      expect(rows.length).toBe(0);
    }, { message: 'both subscriptions deleted', timeout: 10_000 });
  });

  test('signing out ends that device’s notifications; DELETE unsubscribes only your own endpoint', async () => {
    const { client, sub } = await subscribed();
    const thread = await newThread(client, { title: 'Out' });
    // Another account cannot remove this one's subscription.
    const { client: mallory } = await signUp(server.url, 'mallory');
    expect((await mallory.delete('/api/push/subscriptions', { endpoint: sub.endpoint })).status).toBe(204);
    const [row] = await server.db.sql`select 1 from push_subscriptions where endpoint = ${sub.endpoint}`;
    expect(row).toBeDefined();

    // Unsubscribing by endpoint works for the owner.
    const gone = push.subscribe();
    expect((await client.post('/api/push/subscriptions', { endpoint: gone.endpoint, keys: gone.keys })).status).toBe(201);
    expect((await client.delete('/api/push/subscriptions', { endpoint: gone.endpoint })).status).toBe(204);

    const [{ userId } = { userId: "" }] = await server.db.sql<{ userId: string }[]>`select user_id from push_subscriptions where endpoint = ${sub.endpoint}`;
    expect(userId).toBeTruthy();
    expect((await client.post('/api/auth/logout')).status).toBe(204);
    // The session is over; a reply finishing for the account now (e.g. one started earlier)
    // reaches no signed-out device, and the row goes.
    await server.app.push.notify(userId, { title: 't', body: 'b', threadId: thread.id, messageId: thread.id, url: '/' });
    expect(push.for(sub.id)).toEqual([]);
    expect(push.for(gone.id)).toEqual([]);
    expect((await server.db.sql`select 1 from push_subscriptions where endpoint = ${sub.endpoint}`).length).toBe(0);
  });
});
