/**
 * JSON answers on the wire (server/http/compress.ts): 1 KB or more goes gzipped when the client
 * takes it and the request is not cross-site (BREACH), with the status and every other header
 * kept; small answers, cross-site requests and the responses routes build (reply streams) go as
 * they are. /api/sync's pages are checked in sync.test.ts, the share page in shares.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { compressJson } from '../../server/http/compress';
import { type Client, signUp } from '../support/client';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { startServer, type TestServer } from '../support/server';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

let server: TestServer;
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({ OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'test', DEFAULT_MODEL: 'openai:gpt-4o-mini' });
}, 60_000); // the embedded database can take several seconds to start
afterAll(async () => {
  await server.stop();
  fake.stop();
}, 30_000);
beforeEach(() => fake.reset());

/** A reply of a few KB, as a model writes them: prose, not one repeated word. */
const REPLY = Array.from({ length: 40 }, (_, i) => `Step ${i + 1}: check the ${['budget', 'route', 'weather', 'tickets'][i % 4]} before day ${i * 3 + 1}. `);

/** Posts one message with the given headers; the reply stream's Response, unread. */
function post(client: Client, threadId: string, headers: Record<string, string> = {}) {
  fake.chat.script({ chunks: REPLY });
  const body = { id: crypto.randomUUID(), content: 'Plan a two-week trip to Lisbon, step by step.' };
  return client.request('POST', `/api/threads/${threadId}/messages`, body, { headers, decompress: false } as RequestInit);
}

/** A thread whose messages answer is a few KB of JSON. */
async function threadWithReply(client: Client) {
  const thread = await newThread(client, { title: 'Lisbon' });
  await new SseReader(await post(client, thread.id)).all();
  return thread.id;
}

/** The answer's bytes as sent (Bun's fetch would otherwise gunzip them unseen). */
async function raw(client: Client, path: string, headers: Record<string, string>) {
  const res = await client.request('GET', path, undefined, { headers, decompress: false } as RequestInit);
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('JSON answers on the wire', () => {
  test('a thread’s messages (over 1 KB) come gzipped, with Vary and every other header, and are the same JSON', async () => {
    const { client } = await signUp(server.url, 'gzip');
    const path = `/api/threads/${await threadWithReply(client)}/messages?limit=200`;
    const plain = await raw(client, path, { 'accept-encoding': 'identity' });
    const zipped = await raw(client, path, { 'accept-encoding': 'gzip, deflate, br', 'sec-fetch-site': 'same-origin' });
    expect(plain.res.headers.get('content-encoding')).toBeNull();
    expect(zipped.res.headers.get('content-encoding')).toBe('gzip');
    expect(Number(zipped.res.headers.get('content-length'))).toBe(zipped.bytes.length);
    for (const { res } of [plain, zipped]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('vary')).toBe('accept-encoding');
      expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    }
    expect(plain.bytes.length).toBeGreaterThan(2048);
    expect(zipped.bytes.length).toBeLessThan(plain.bytes.length / 2);
    const decoded = JSON.parse(text(Bun.gunzipSync(zipped.bytes)));
    expect(decoded).toEqual(JSON.parse(text(plain.bytes)));
    expect(decoded.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    // A client that is not a browser sends no Sec-Fetch-Site: gzip too; a q of 0 refuses it.
    expect((await raw(client, path, { 'accept-encoding': 'gzip' })).res.headers.get('content-encoding')).toBe('gzip');
    expect((await raw(client, path, { 'accept-encoding': 'gzip;q=0, identity' })).res.headers.get('content-encoding')).toBeNull();
  });

  test('small answers go plain', async () => {
    const { client } = await signUp(server.url, 'gzip');
    for (const path of ['/api/auth/me', '/api/health']) {
      const { res, bytes } = await raw(client, path, { 'accept-encoding': 'gzip, deflate, br', 'sec-fetch-site': 'same-origin' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBeNull();
      expect(bytes.length).toBeLessThan(1024);
      expect(JSON.parse(text(bytes))).toBeObject();
    }
  });

  test('a request another site started gets no compression (BREACH), the same JSON', async () => {
    const { client } = await signUp(server.url, 'gzip');
    const path = `/api/threads/${await threadWithReply(client)}/messages?limit=200`;
    const plain = await raw(client, path, { 'accept-encoding': 'identity' });
    for (const site of ['cross-site', 'same-site', 'none']) {
      const { res, bytes } = await raw(client, path, { 'accept-encoding': 'gzip, deflate, br', 'sec-fetch-site': site });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBeNull();
      expect(bytes).toEqual(plain.bytes);
    }
  });

  test('a reply stream (a Response the route builds) is not compressed', async () => {
    const { client } = await signUp(server.url, 'gzip');
    const thread = await newThread(client, { title: 'Stream' });
    const res = await post(client, thread.id, { 'accept-encoding': 'gzip, deflate, br', 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toStartWith('text/event-stream');
    expect(res.headers.get('content-encoding')).toBeNull();
    const reader = new SseReader(res);
    expect((await reader.all()).at(-1)!.event).toBe('done');
    expect(reader.text()).toBe(REPLY.join(''));
  });
});

describe('the plugin on its own', () => {
  // No JSON route that sets a cookie answers 1 KB (sign-in answers are the user): an app of its own.
  const app = new Elysia()
    .use(compressJson)
    .get('/big', ({ cookie, set }) => {
      cookie.session!.set({ value: 'abc', httpOnly: true, path: '/' });
      set.status = 201;
      set.headers['x-kept'] = 'yes';
      return { items: Array.from({ length: 100 }, (_, i) => ({ i, note: `item ${i}` })) };
    })
    .get('/text', () => 'x'.repeat(4096));
  const get = (path: string) => app.handle(new Request(`http://localhost${path}`, { headers: { 'accept-encoding': 'gzip' } }));

  test('the status, headers and cookies set by the route stay on a compressed answer', async () => {
    const res = await get('/big');
    expect(res.status).toBe(201);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('x-kept')).toBe('yes');
    expect(res.headers.getSetCookie()).toEqual(['session=abc; Path=/; HttpOnly']);
    const decoded = JSON.parse(text(Bun.gunzipSync(new Uint8Array(await res.arrayBuffer()))));
    expect(decoded.items).toHaveLength(100);
  });

  test('text is not JSON: left to Elysia', async () => {
    const res = await get('/text');
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(await res.text()).toBe('x'.repeat(4096));
  });
});
