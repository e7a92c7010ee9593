/**
 * The one outbox delivery (page and worker): through the app's API client (fetch, a 401
 * refreshed once), "stored" only when the server's `user` event names the entry.
 */
import { afterEach, describe, expect, test } from 'bun:test';
import type { OutboxEntry } from './db';
import { deliverEntry } from './deliver';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

const entry: OutboxEntry = { id: 'm1', threadId: 't1', content: 'Hello', createdAt: new Date(0).toISOString() };
const message = (id: string, role: string) => ({ id, threadId: 't1', parentId: null, role, content: '', status: 'complete', model: null, createdAt: '', attachments: [] });
const sse = (events: [string, unknown][]) =>
  new Response(events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join(''), {
    headers: { 'content-type': 'text/event-stream' },
  });

/** Answers each request in turn; records what was asked. */
function serve(...answers: (() => Response | Promise<Response>)[]) {
  const asked: { url: string; method: string; body: string | null }[] = [];
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    asked.push({ url: String(input), method: init?.method ?? 'GET', body: (init?.body as string | undefined) ?? null });
    const next = answers.shift();
    if (!next) throw new TypeError('no more answers');
    return next();
  }) as typeof fetch;
  return asked;
}

describe('deliverEntry', () => {
  test('stored once the user event names it; the reply is followed to its end', async () => {
    const asked = serve(() =>
      sse([
        ['user', { message: message('m1', 'user') }],
        ['start', { message: message('a1', 'assistant') }],
        ['delta', { id: 'a1', text: 'Hi' }],
        ['done', { message: message('a1', 'assistant') }],
      ]),
    );
    let stored = 0;
    expect(await deliverEntry(entry, async () => void stored++)).toBe('sent');
    expect(stored).toBe(1);
    expect(asked[0]).toMatchObject({ url: '/api/threads/t1/messages', method: 'POST' });
    expect(JSON.parse(asked[0]!.body!)).toEqual({ id: 'm1', content: 'Hello' });
  });

  test('a 200 without a user event is not "stored": it is tried again later', async () => {
    serve(() => sse([]));
    let stored = 0;
    expect(await deliverEntry(entry, async () => void stored++)).toBe('offline');
    expect(stored).toBe(0);
  });

  test('a 401 refreshes the session once (the app client), then posts again', async () => {
    const asked = serve(
      () => new Response('{"error":{"code":"unauthorized","message":"Sign in"}}', { status: 401 }),
      () => new Response(null, { status: 204 }),
      () => sse([['user', { message: message('m1', 'user') }]]),
    );
    expect(await deliverEntry(entry, async () => {})).toBe('sent');
    expect(asked.map((a) => `${a.method} ${a.url}`)).toEqual(['POST /api/threads/t1/messages', 'POST /api/auth/refresh', 'POST /api/threads/t1/messages']);
  });

  test('refused for good keeps the reason; no network means later', async () => {
    serve(() => new Response('{"error":{"code":"not_found","message":"Thread not found"}}', { status: 404 }));
    expect(await deliverEntry(entry, async () => {})).toEqual({ error: 'Thread not found' });
    serve(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(await deliverEntry(entry, async () => {})).toBe('offline');
  });

  test('a chat started offline: its thread is created first under the same id (201 or 200), then the message', async () => {
    const fresh = { ...entry, newThread: { systemPrompt: 'Be brief.' } };
    const thread = { id: 't1', title: '', model: null, systemPrompt: 'Be brief.', pinned: false, shared: false, createdAt: '', updatedAt: '' };
    const asked = serve(
      () => new Response(JSON.stringify({ thread }), { status: 200, headers: { 'content-type': 'application/json' } }),
      () => sse([['user', { message: message('m1', 'user') }]]),
    );
    expect(await deliverEntry(fresh, async () => {})).toBe('sent');
    expect(asked.map((a) => `${a.method} ${a.url}`)).toEqual(['POST /api/threads', 'POST /api/threads/t1/messages']);
    expect(JSON.parse(asked[0]!.body!)).toEqual({ id: 't1', systemPrompt: 'Be brief.' });
  });

  test("a new chat's id refused (409: not ours, or deleted) is refused for good; no network means later", async () => {
    const fresh = { ...entry, newThread: {} };
    const asked = serve(() => new Response('{"error":{"code":"conflict","message":"This thread id is already used","fields":{"id":"is already in use"}}}', { status: 409 }));
    const result = await deliverEntry(fresh, async () => {});
    expect(result).toEqual({ error: expect.stringContaining('already used') });
    expect(asked).toHaveLength(1); // the message itself was never posted
    serve(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(await deliverEntry(fresh, async () => {})).toBe('offline');
  });

  test('a room message: posted to the room with its id; 201 or 200 (already there) is sent; 404 refused; no network later', async () => {
    const room = { ...entry, threadId: 'room:r1', roomId: 'r1' };
    const json = (status: number) => () =>
      new Response(JSON.stringify({ message: { id: 'm1', roomId: 'r1' } }), { status, headers: { 'content-type': 'application/json' } });
    const asked = serve(json(201), json(200));
    let stored = 0;
    expect(await deliverEntry(room, async () => void stored++)).toBe('sent');
    expect(await deliverEntry(room, async () => void stored++)).toBe('sent');
    expect(stored).toBe(2);
    expect(asked.map((a) => `${a.method} ${a.url}`)).toEqual(['POST /api/rooms/r1/messages', 'POST /api/rooms/r1/messages']);
    expect(JSON.parse(asked[0]!.body!)).toEqual({ id: 'm1', content: 'Hello' });
    serve(() => new Response('{"error":{"code":"not_found","message":"Room not found"}}', { status: 404 }));
    expect(await deliverEntry(room, async () => void stored++)).toEqual({ error: 'Room not found' });
    serve(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(await deliverEntry(room, async () => void stored++)).toBe('offline');
    expect(stored).toBe(2);
  });
});
