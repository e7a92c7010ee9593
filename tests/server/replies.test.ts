/**
 * Replies streamed from the fake provider through the real OpenAI and Mistral SDKs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { failOrphans } from '../../server/replies/service';
import { Client, signUp } from '../support/client';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { startServer, type TestServer } from '../support/server';
import { eventually } from '../support/eventually';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

// Replies stop and are stored in the background: on a loaded machine that takes seconds.
setDefaultTimeout(30_000);

let fake: FakeProvider;
let server: TestServer;

beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'server-openai-key',
    MISTRAL_SERVER_URL: fake.mistralServerUrl,
    MISTRAL_API_KEY: 'server-mistral-key',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    PROVIDER_TIMEOUT_MS: '1500',
  });
}, 60_000); // the embedded database can take several seconds to start
afterAll(async () => {
  await server.stop();
  fake.stop();
}, 30_000);
afterEach(() => fake.reset());

const generations = () => server.app.generations;

function post(client: Client, threadId: string, body: Record<string, unknown>, signal?: AbortSignal) {
  return client
    .request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), ...body }, signal ? { signal } : {})
    .then((res) => {
      if (res.status !== 200) throw new Error(`post failed ${res.status}`);
      return new SseReader(res);
    });
}

async function messages(client: Client, threadId: string) {
  return (await client.json('GET', `/api/threads/${threadId}/messages?limit=200`)).body.messages as any[];
}

describe('streaming', () => {
  test('events come in order (user, start, delta…, done), progressively, and the reply is stored with usage', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    fake.chat.script({ chunks: ['Hello', ', ', 'bright', ' world', '!'], chunkDelayMs: 40, usage: { input: 11, output: 5 } });
    const id = crypto.randomUUID();
    const stream = await post(client, thread.id, { id, content: 'Say hello' });
    const events = await stream.all();
    expect(events.map((e) => e.event)).toEqual(['user', 'start', 'delta', 'delta', 'delta', 'delta', 'delta', 'done']);
    expect(events[0]!.data.message).toMatchObject({ id, role: 'user', content: 'Say hello', threadId: thread.id, status: 'complete' });
    expect(events[1]!.data.message).toMatchObject({ role: 'assistant', status: 'streaming', parentId: id, model: 'openai:gpt-4o-mini' });
    expect(stream.text()).toBe('Hello, bright world!');
    const deltas = events.filter((e) => e.event === 'delta');
    // Progressive: the deltas arrived spread over the provider's pacing, not in one burst.
    expect(deltas.at(-1)!.at - deltas[0]!.at).toBeGreaterThan(100);
    const done = events.at(-1)!.data.message;
    expect(done).toMatchObject({ status: 'complete', content: 'Hello, bright world!', tokensIn: 11, tokensOut: 5 });
    const stored = await messages(client, thread.id);
    expect(stored.map((m) => [m.role, m.content, m.status])).toEqual([
      ['user', 'Say hello', 'complete'],
      ['assistant', 'Hello, bright world!', 'complete'],
    ]);
    const [row] = await server.db.sql`select tokens_in, tokens_out from messages where id = ${done.id}`;
    expect(row).toEqual({ tokensIn: 11, tokensOut: 5 });
    // The provider got the conversation through the OpenAI SDK with the server's key.
    const req = fake.chat.requests[0]!;
    expect(req).toMatchObject({ sdk: 'openai', model: 'gpt-4o-mini', apiKey: 'server-openai-key' });
    expect(req.messages).toEqual([{ role: 'user', content: 'Say hello' }]);
  });

  test('through the Mistral SDK for a mistral: model', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, { title: 'M', model: 'mistral:mistral-small-latest', systemPrompt: 'Be terse.' });
    const stream = await post(client, thread.id, { content: 'Bonjour' });
    await stream.all();
    expect(stream.events.at(-1)!.event).toBe('done');
    expect(stream.text()).toBe('Echo: Bonjour');
    const req = fake.chat.requests[0]!;
    expect(req).toMatchObject({ sdk: 'mistral', model: 'mistral-small-latest', apiKey: 'server-mistral-key' });
    expect(req.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Bonjour' },
    ]);
  });

  test('a quiet stream stays open past Bun’s 10 s idle timeout thanks to heartbeats', async () => {
    const slow = await startServer({
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      OPENAI_API_KEY: 'k',
      DEFAULT_MODEL: 'openai:gpt-4o-mini',
      PROVIDER_TIMEOUT_MS: '30000',
    });
    try {
      const { client } = await signUp(slow.url);
      const thread = await newThread(client);
      fake.chat.script({ text: 'Finally here', firstTokenDelayMs: 11_500 });
      const stream = await post(client, thread.id, { content: 'take your time' });
      await stream.all();
      expect(stream.events.at(-1)!.event).toBe('done');
      expect(stream.text()).toBe('Finally here');
      expect(stream.comments.filter((c) => c === 'ping').length).toBeGreaterThanOrEqual(2);
    } finally {
      await slow.stop();
    }
  }, 30_000);
});

describe('idempotency', () => {
  test('posting the same id again creates nothing new and replays the reply', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    const id = crypto.randomUUID();
    const first = await post(client, thread.id, { id, content: 'once' });
    await first.all();
    const again = await post(client, thread.id, { id, content: 'once' });
    await again.all();
    expect(again.events.map((e) => e.event)).toEqual(['user', 'start', 'delta', 'done']);
    expect(again.text()).toBe(first.text());
    expect((await messages(client, thread.id)).length).toBe(2);
    expect(fake.chat.requests.length).toBe(1);
  });

  test('two identical posts racing store one message and one reply', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    const id = crypto.randomUUID();
    fake.chat.defaults.chunkDelayMs = 20;
    const [a, b] = await Promise.all([post(client, thread.id, { id, content: 'race' }), post(client, thread.id, { id, content: 'race' })]);
    await Promise.all([a.all(), b.all()]);
    expect(a.text()).toBe('Echo: race');
    expect(b.text()).toBe('Echo: race');
    const stored = await messages(client, thread.id);
    expect(stored.filter((m) => m.role === 'user').length).toBe(1);
    expect(stored.filter((m) => m.role === 'assistant').length).toBe(1);
  });
});

describe('connections', () => {
  test('a streaming reply gets its search vector when it ends, not on each write of its text (sql/0019)', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    const text = Array.from({ length: 30 }, (_, i) => `zebra${i}`).join(' ');
    fake.chat.script({ text, chunkDelayMs: 60 }); // ~1.8 s: several flush intervals
    const stream = await post(client, thread.id, { content: 'a long one' });
    const assistantId = (await stream.until('start')).data.message.id;
    // Text already in the row while it streams, and no vector for it.
    const mid = await eventually(
      async () => {
        const [row] = await server.db.sql<{ content: string; status: string; indexed: boolean }[]>`
          select content, status, search is not null as indexed from messages where id = ${assistantId}`;
        expect(row!.content.length).toBeGreaterThan(0);
        return row!;
      },
      { message: 'a first batch of the reply written to its row' },
    );
    expect(mid).toMatchObject({ status: 'streaming', indexed: false });
    await stream.all();
    const [done] = await server.db.sql<{ status: string; indexed: boolean }[]>`
      select status, search is not null as indexed from messages where id = ${assistantId}`;
    expect(done).toEqual({ status: 'complete', indexed: true });
    const found = await client.json('GET', '/api/search?q=zebra29');
    expect(found.status).toBe(200);
    expect(found.body.results.map((r: { messageId: string | null }) => r.messageId)).toContain(assistantId);
  });

  test('disconnect mid-reply: it completes and is stored; re-attaching gives the full text', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    const text = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ');
    fake.chat.script({ text, chunkDelayMs: 60 }); // ~1.8 s: several flush intervals
    const abort = new AbortController();
    const stream = await post(client, thread.id, { content: 'long one' }, abort.signal);
    const start = await stream.until('start');
    await stream.until('delta');
    abort.abort();
    await stream.cancel();
    const assistantId = start.data.message.id;
    const g = generations().get(assistantId);
    expect(g).not.toBeNull();
    await eventually(() => expect(g!.listenerCount).toBe(0), { message: 'the closed client let go' });
    // While it streams, the text is written to the row in batches (so another instance,
    // or a crash, sees what arrived): a prefix of the reply, status still streaming.
    const mid = await eventually(
      async () => {
        const [row] = await server.db.sql<{ content: string; status: string }[]>`
          select content, status from messages where id = ${assistantId}`;
        expect(row!.content.length).toBeGreaterThan(0);
        return row!;
      },
      { message: 'a first batch of the reply written to its row' },
    );
    expect(mid.status).toBe('streaming');
    expect(mid.content.length).toBeLessThan(text.length);
    expect(text.startsWith(mid.content)).toBe(true);
    await g!.settled;
    const stored = (await messages(client, thread.id)).find((m) => m.id === assistantId);
    expect(stored).toMatchObject({ status: 'complete', content: text });
    expect(fake.chat.requests[0]!.aborted).toBe(false); // the provider was not hung up on

    const re = new SseReader(await client.get(`/api/messages/${assistantId}/stream`));
    await re.all();
    expect(re.events.map((e) => e.event)).toEqual(['start', 'delta', 'done']);
    expect(re.text()).toBe(text);
    expect(generations().get(assistantId)).toBeNull();
  });

  test('re-attaching while it streams: everything so far, then live, nothing lost or doubled', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    const text = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ');
    fake.chat.script({ text, chunkDelayMs: 25 });
    const first = await post(client, thread.id, { content: 'go' });
    const start = await first.until('start');
    for (let i = 0; i < 5; i++) await first.until('delta');
    const second = new SseReader(await client.get(`/api/messages/${start.data.message.id}/stream`));
    await Promise.all([first.all(), second.all()]);
    expect(second.text()).toBe(text);
    expect(first.text()).toBe(text);
    expect(second.events.filter((e) => e.event === 'delta').length).toBeGreaterThan(2); // partly live
  });

  test('a reply row left streaming by another instance is followed until its final row', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client);
    const first = await post(client, thread.id, { content: 'seed' });
    await first.all();
    const userMsg = first.events[0]!.data.message;
    // A reply generating elsewhere (the two-instance deltas are in tests/cluster/): a streaming
    // row this process does not own. The follower gets its text, and the rest from the final row.
    const orphanId = crypto.randomUUID();
    await server.db.sql`
      insert into messages (id, thread_id, user_id, parent_id, role, content, status, model)
      values (${orphanId}, ${thread.id}, ${user.id}, ${userMsg.id}, 'assistant', 'Part one', 'streaming', 'openai:gpt-4o-mini')`;
    const re = new SseReader(await client.get(`/api/messages/${orphanId}/stream`));
    expect((await re.until('delta')).data.text).toBe('Part one');
    await server.db.sql`update messages set content = 'Part one, part two', status = 'complete' where id = ${orphanId}`;
    await re.all();
    expect(re.text()).toBe('Part one, part two');
    expect(re.events.at(-1)!.event).toBe('done');
  });
});

describe('replies no process here is generating', () => {
  /** A streaming assistant row this process does not own (another instance's, or a crashed one's). */
  async function remoteReply(client: Client, userId: string, threadId: string, age = '0 seconds') {
    const first = await post(client, threadId, { content: 'seed' });
    await first.all();
    const id = crypto.randomUUID();
    await server.db.sql`
      insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, updated_at)
      values (${id}, ${threadId}, ${userId}, ${first.events[0]!.data.message.id}, 'assistant', 'Half', 'streaming',
              'openai:gpt-4o-mini', now() - ${age}::interval)`;
    return id;
  }

  test('cancel marks the row cancelled, keeps its text, and the change reaches the next sync', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client);
    const id = await remoteReply(client, user.id, thread.id);
    const cursor = (await client.json('GET', '/api/sync')).body.cursor;
    const res = await client.json('POST', `/api/messages/${id}/cancel`);
    expect(res.body.message).toMatchObject({ id, status: 'cancelled', content: 'Half' });
    const changes = (await client.json('GET', `/api/sync?since=${cursor}`)).body;
    expect(changes.messages.map((m: { id: string; status: string }) => [m.id, m.status])).toEqual([[id, 'cancelled']]);
  });

  test('at start-up, rows left streaming by a stopped process are marked failed, in the next sync; fresh ones are left', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client);
    const stale = await remoteReply(client, user.id, thread.id, '10 minutes');
    const fresh = await remoteReply(client, user.id, thread.id);
    const cursor = (await client.json('GET', '/api/sync')).body.cursor;
    expect(await failOrphans({ sql: server.db.sql })).toBeGreaterThanOrEqual(1);
    const rows = await messages(client, thread.id);
    expect(rows.find((m) => m.id === stale)).toMatchObject({ status: 'error', error: 'Interrupted: the server restarted', content: 'Half' });
    expect(rows.find((m) => m.id === fresh)).toMatchObject({ status: 'streaming' });
    const changes = (await client.json('GET', `/api/sync?since=${cursor}`)).body;
    expect(changes.messages.map((m: { id: string; status: string }) => [m.id, m.status])).toEqual([[stale, 'error']]);
  });
});

describe('stop, regenerate, edit', () => {
  test('cancel stops generation and keeps the partial text, status cancelled', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    fake.chat.script({ text: Array.from({ length: 50 }, (_, i) => `t${i}`).join(' '), chunkDelayMs: 30 });
    const stream = await post(client, thread.id, { content: 'long' });
    const start = await stream.until('start');
    await stream.until('delta');
    await stream.until('delta');
    const res = await client.json('POST', `/api/messages/${start.data.message.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body.message.status).toBe('cancelled');
    await stream.all();
    const last = stream.events.at(-1)!;
    expect(last.event).toBe('done');
    expect(last.data.message.status).toBe('cancelled');
    const stored = (await messages(client, thread.id)).find((m) => m.id === start.data.message.id);
    expect(stored.status).toBe('cancelled');
    expect(stored.content.length).toBeGreaterThan(0);
    expect(stored.content.split(' ').length).toBeLessThan(50);
    const req = fake.chat.requests[0]!;
    await fake.chat.waitForFinish(req);
    expect(req.aborted).toBe(true); // the provider request was stopped too
    // Cancelling again is harmless.
    expect((await client.json('POST', `/api/messages/${start.data.message.id}/cancel`)).body.message.status).toBe('cancelled');
  });

  test('regenerate makes a sibling reply with the same parent and the same context', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    fake.chat.script({ text: 'First answer' }, { text: 'Second answer' });
    const first = await post(client, thread.id, { content: 'question' });
    await first.all();
    const original = first.events.at(-1)!.data.message;
    const regen = new SseReader(await client.post(`/api/messages/${original.id}/regenerate`));
    await regen.all();
    expect(regen.events.map((e) => e.event)).toEqual(['start', 'delta', 'delta', 'done']);
    const sibling = regen.events.at(-1)!.data.message;
    expect(sibling.id).not.toBe(original.id);
    expect(sibling.parentId).toBe(original.parentId);
    expect(sibling.content).toBe('Second answer');
    const stored = await messages(client, thread.id);
    expect(stored.filter((m) => m.role === 'assistant').map((m) => m.content).sort()).toEqual(['First answer', 'Second answer']);
    expect(fake.chat.requests[1]!.messages).toEqual(fake.chat.requests[0]!.messages);
  });

  test('edit: a new user message under an earlier parent; the provider sees only that branch', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, { title: 'Branches', systemPrompt: 'System rules.' });
    const s1 = await post(client, thread.id, { content: 'one' });
    await s1.all();
    const a1 = s1.events.at(-1)!.data.message;
    const s2 = await post(client, thread.id, { content: 'two' });
    await s2.all();
    expect(s2.events[0]!.data.message.parentId).toBe(a1.id); // default parent: the latest message
    expect(fake.chat.requests.at(-1)!.messages).toEqual([
      { role: 'system', content: 'System rules.' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Echo: one' },
      { role: 'user', content: 'two' },
    ]);
    const edited = await post(client, thread.id, { content: 'two, edited', parentId: a1.id });
    await edited.all();
    expect(edited.events[0]!.data.message.parentId).toBe(a1.id);
    expect(fake.chat.requests.at(-1)!.messages).toEqual([
      { role: 'system', content: 'System rules.' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'Echo: one' },
      { role: 'user', content: 'two, edited' },
    ]);
    const users = (await messages(client, thread.id)).filter((m) => m.parentId === a1.id);
    expect(users.map((m) => m.content).sort()).toEqual(['two', 'two, edited']);
    // Editing the very first message: parentId null starts a new root branch.
    const root = await post(client, thread.id, { content: 'one, edited', parentId: null });
    await root.all();
    expect(root.events[0]!.data.message.parentId).toBeNull();
    expect(fake.chat.requests.at(-1)!.messages).toEqual([
      { role: 'system', content: 'System rules.' },
      { role: 'user', content: 'one, edited' },
    ]);
  });

  test('bad input: empty content, a parent from another thread, a malformed id', async () => {
    const { client } = await signUp(server.url);
    const t1 = await newThread(client);
    const t2 = await newThread(client);
    const s = await post(client, t1.id, { content: 'in t1' });
    await s.all();
    const empty = await client.json('POST', `/api/threads/${t2.id}/messages`, { id: crypto.randomUUID(), content: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.fields).toHaveProperty('content');
    const cross = await client.json('POST', `/api/threads/${t2.id}/messages`, {
      id: crypto.randomUUID(),
      content: 'x',
      parentId: s.events[0]!.data.message.id,
    });
    expect(cross.status).toBe(400);
    expect(cross.body.error.fields).toHaveProperty('parentId');
    const badId = await client.json('POST', `/api/threads/${t2.id}/messages`, { id: 'nope', content: 'x' });
    expect(badId.status).toBe(400);
    expect(badId.body.error.fields).toHaveProperty('id');
    expect((await messages(client, t2.id)).length).toBe(0);
  });
});

describe('provider failures', () => {
  test('an error before streaming marks the reply error with a readable reason', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    fake.chat.script({ status: 500, message: 'The model is overloaded' }, { status: 500, message: 'The model is overloaded' }, { status: 500, message: 'The model is overloaded' });
    const stream = await post(client, thread.id, { content: 'hi' });
    await stream.all();
    const last = stream.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data.message.status).toBe('error');
    expect(last.data.error.message).toMatch(/overloaded/i);
    const stored = (await messages(client, thread.id)).find((m) => m.role === 'assistant');
    expect(stored.status).toBe('error');
  });

  test('an error mid-stream keeps what arrived', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    for (const failMode of ['error', 'drop'] as const) {
      fake.chat.script({ chunks: ['Partial ', 'answer ', 'then ', 'boom'], failAfter: 2, failMode, message: 'upstream exploded' });
      const stream = await post(client, thread.id, { content: `fail ${failMode}` });
      await stream.all();
      const last = stream.events.at(-1)!;
      expect(last.event).toBe('error');
      expect(last.data.message.content).toBe('Partial answer ');
      const stored = (await messages(client, thread.id)).find((m) => m.id === last.data.message.id);
      expect(stored).toMatchObject({ status: 'error', content: 'Partial answer ' });
    }
  });

  test('a provider that never answers times out with a readable error', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    fake.chat.script({ hang: true });
    const t0 = performance.now();
    const stream = await post(client, thread.id, { content: 'anyone?' });
    await stream.all();
    const last = stream.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(last.data.error.code).toBe('provider_timeout');
    expect(last.data.error.message).toMatch(/did not answer/);
    expect(performance.now() - t0).toBeLessThan(5000);
    // A slow first token inside the limit is fine.
    fake.chat.script({ text: 'slow but ok', firstTokenDelayMs: 800 });
    const ok = await post(client, thread.id, { content: 'again' });
    await ok.all();
    expect(ok.text()).toBe('slow but ok');
  });
});

describe('titles and sync', () => {
  test('the first exchange names the thread; a user rename is never overwritten', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, {});
    expect(thread.title).toBe('');
    fake.chat.script({ text: 'Sure, here is a packing list.' }, { text: '"Packing for Lisbon."' });
    const stream = await post(client, thread.id, { content: 'What should I pack for a weekend in Lisbon in May?' });
    await stream.all();
    await eventually(async () => expect((await client.json('GET', `/api/threads/${thread.id}`)).body.thread.title).toBe('Packing for Lisbon'), {
      message: 'the thread named after its first exchange',
    });
    expect(fake.chat.requests[1]!.messages.at(-1)!.content).toContain('Lisbon in May');
  });

  test('the model’s title arrives as a `title` event after `done`, before the stream ends', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client, {});
    fake.chat.script({ text: 'Here is a plan.' }, { text: 'Weekend in Porto.' });
    const stream = await post(client, thread.id, { content: 'Plan a weekend in Porto' });
    await stream.all();
    expect(stream.events.filter((e) => e.event !== 'delta').map((e) => e.event)).toEqual(['user', 'start', 'done', 'title']);
    expect(stream.events.at(-1)!.data as unknown).toEqual({ threadId: thread.id, title: 'Weekend in Porto' });
    // Stored by the time the stream ended: no polling needed.
    expect((await client.json('GET', `/api/threads/${thread.id}`)).body.thread.title).toBe('Weekend in Porto');
    // A thread that already has a title gets no title event (and the model is not asked).
    const again = await post(client, thread.id, { content: 'And a day trip?' });
    await again.all();
    expect(again.events.some((e) => e.event === 'title')).toBe(false);
    expect(fake.chat.requests.length).toBe(3);
  });

  test('sync carries the exchange with its final text', async () => {
    const { client } = await signUp(server.url);
    const cursor = (await client.json('GET', '/api/sync')).body.cursor;
    const thread = await newThread(client);
    const stream = await post(client, thread.id, { content: 'sync me' });
    await stream.all();
    const changes = (await client.json('GET', `/api/sync?since=${cursor}`)).body;
    expect(changes.threads.map((t: { id: string }) => t.id)).toEqual([thread.id]);
    expect(changes.messages.map((m: { content: string; status: string }) => [m.content, m.status])).toEqual([
      ['sync me', 'complete'],
      ['Echo: sync me', 'complete'],
    ]);
  });
});

describe("someone else's ids (security item 1)", () => {
  test('stream, cancel, regenerate, parentId and message id of another user: 404 (or 409), nothing changes', async () => {
    const alice = await signUp(server.url);
    const mallory = await signUp(server.url);
    const thread = await newThread(alice.client);
    fake.chat.script({ text: Array.from({ length: 20 }, (_, i) => `secret${i}`).join(' '), chunkDelayMs: 20 });
    const stream = await post(alice.client, thread.id, { content: 'my secret' });
    const userMsg = (await stream.until('user')).data.message;
    const reply = (await stream.until('start')).data.message;
    const malloryThread = await newThread(mallory.client);

    for (const res of [
      await mallory.client.get(`/api/messages/${reply.id}/stream`),
      await mallory.client.get(`/api/messages/${userMsg.id}/stream`),
      await mallory.client.post(`/api/messages/${reply.id}/cancel`),
      await mallory.client.post(`/api/messages/${reply.id}/regenerate`),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('secret');
    }
    const parent = await mallory.client.json('POST', `/api/threads/${malloryThread.id}/messages`, {
      id: crypto.randomUUID(),
      content: 'x',
      parentId: userMsg.id,
    });
    expect(parent.status).toBe(400);
    // Re-using Alice's message id never attaches Mallory to Alice's reply.
    const reuse = await mallory.client.json('POST', `/api/threads/${malloryThread.id}/messages`, { id: userMsg.id, content: 'x' });
    expect(reuse.status).toBe(409);
    expect(JSON.stringify(reuse.body)).not.toContain('secret');

    await stream.all();
    expect(stream.events.at(-1)!.data.message.status).toBe('complete');
    const stored = await messages(alice.client, thread.id);
    expect(stored.length).toBe(2);
    expect((await messages(mallory.client, malloryThread.id)).length).toBe(0);
  });

  test('a post whose session has ended (its access token not yet expired) is refused: 401, nothing stored, no provider call', async () => {
    // The reply route checks the session row beside the thread's look-up (auth plugin, authBeside):
    // each way a session ends must still stop it before any effect.
    const ends: [string, (userId: string) => Promise<unknown>][] = [
      ['signed out', (id) => server.db.sql`update sessions set revoked_at = now() where user_id = ${id}`],
      ['disabled', (id) => server.db.sql`update users set disabled = true where id = ${id}`],
      ['password changed', (id) => server.db.sql`update users set tokens_valid_after = now() + interval '1 second' where id = ${id}`],
    ];
    for (const [how, end] of ends) {
      const { client, user } = await signUp(server.url);
      const thread = await newThread(client);
      await end(user.id);
      const asked = fake.chat.requests.length;
      const res = await client.json('POST', `/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: `after ${how}` });
      expect([how, res.status]).toEqual([how, 401]);
      expect(fake.chat.requests.length).toBe(asked);
      const [stored] = await server.db.sql<{ count: number }[]>`select count(*)::int as count from messages where user_id = ${user.id}`;
      expect([how, stored!.count]).toEqual([how, 0]);
    }
  });

  test('disabling the account mid-reply stops it and ends the open stream (item 12)', async () => {
    const { client, user } = await signUp(server.url);
    const thread = await newThread(client);
    fake.chat.script({ text: Array.from({ length: 200 }, (_, i) => `y${i}`).join(' '), chunkDelayMs: 20 });
    const stream = await post(client, thread.id, { content: 'long' });
    const start = await stream.until('start');
    await stream.until('delta');
    const t0 = performance.now();
    await server.db.sql`update users set disabled = true where id = ${user.id}`;
    await stream.all();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(stream.events.at(-1)!.data.message.status).not.toBe('complete');
    expect(stream.text().split(' ').length).toBeLessThan(200);
    expect(generations().get(start.data.message.id)).toBeNull();
    expect((await client.get(`/api/messages/${start.data.message.id}/stream`)).status).toBe(401);
  });

  test('deleting the account mid-reply stops it and ends the open stream', async () => {
    const { client } = await signUp(server.url);
    const thread = await newThread(client);
    fake.chat.script({ text: Array.from({ length: 200 }, (_, i) => `x${i}`).join(' '), chunkDelayMs: 20 });
    const stream = await post(client, thread.id, { content: 'long' });
    const start = await stream.until('start');
    await stream.until('delta');
    const t0 = performance.now();
    expect((await client.delete('/api/auth/me')).status).toBe(204);
    await stream.all();
    expect(performance.now() - t0).toBeLessThan(2000);
    // The stream ends at once (sign-out of every session); the generation stops right after.
    await eventually(() => expect(generations().get(start.data.message.id)).toBeNull(), { timeout: 10_000 });
    const [{ n }] = (await server.db.sql<{ n: number }[]>`select count(*)::int as n from messages where id = ${start.data.message.id}`) as unknown as [{ n: number }];
    expect(n).toBe(0);
  });
});
