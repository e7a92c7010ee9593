import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { Client, signUp } from '../support/client';
import { eventually } from '../support/eventually';
import { startServer, type TestServer } from '../support/server';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { echoReply, words } from '../support/fake-provider/chat';
import { createMistralProvider } from '../../server/providers/mistral';
import { createOpenAIProvider } from '../../server/providers/openai';
import { createProviders } from '../../server/providers/service';
import type { ChatMessage, ChatProvider, StreamEvent } from '../../server/providers/types';
import type { Config } from '../../server/config';

let fake: FakeProvider;
let server: TestServer;

beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'server-openai-key',
    MISTRAL_SERVER_URL: fake.mistralServerUrl,
    MISTRAL_API_KEY: 'server-mistral-key',
  });
}, 60_000); // the embedded database (PARLEY_TEST_DB=embedded) takes seconds to start
afterAll(async () => {
  await server?.stop();
  fake?.stop();
});
beforeEach(() => fake.reset());

async function collect(gen: AsyncGenerator<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of gen) events.push(e);
  return events;
}
const deltas = (events: StreamEvent[]) => events.flatMap((e) => (e.type === 'delta' ? [e.text] : []));
const user = (content: ChatMessage['content']): ChatMessage => ({ role: 'user', content });
const never = () => new AbortController().signal;

// A tiny PNG's worth of bytes: the adapters only encode them.
const PIXEL = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13]);

const adapters: [string, () => ChatProvider, string][] = [
  ['openai', () => createOpenAIProvider({ baseURL: fake.openaiBaseUrl }), 'gpt-4o-mini'],
  ['mistral', () => createMistralProvider({ serverURL: fake.mistralServerUrl }), 'mistral-small-latest'],
];

describe.each(adapters)('%s adapter through its real SDK', (sdk, make, model) => {
  test('streams the deltas in order, then usage, then done; the fake saw the SDK, model, messages and key', async () => {
    fake.chat.defaults.chunkDelayMs = 2;
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      user('hello there, friend'),
    ];
    const events = await collect(make().stream({ model, messages, signal: never(), apiKey: 'k-123456' }));
    const expected = echoReply('hello there, friend');
    expect(deltas(events)).toEqual(words(expected));
    expect(events.at(-2)).toEqual({ type: 'usage', inputTokens: 5, outputTokens: words(expected).length });
    expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    const [req] = fake.chat.requests;
    expect(req).toMatchObject({ sdk, model, stream: true, apiKey: 'k-123456' });
    expect(req!.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello there, friend' },
    ]);
  });

  test('scripted text, chunks and usage come through unchanged', async () => {
    fake.chat.script({ chunks: ['Bon', 'jour', ' à', ' vous 🎈'], usage: { input: 11, output: 4 }, finishReason: 'length' });
    const events = await collect(make().stream({ model, messages: [user('hi')], signal: never() }));
    expect(deltas(events)).toEqual(['Bon', 'jour', ' à', ' vous 🎈']);
    expect(events.slice(-2)).toEqual([
      { type: 'usage', inputTokens: 11, outputTokens: 4 },
      { type: 'done', finishReason: 'length' },
    ]);
  });

  test("images are sent in the SDK's own format as data URLs", async () => {
    const events = await collect(
      make().stream({
        model,
        messages: [user([{ type: 'text', text: 'what is this' }, { type: 'image', mime: 'image/png', data: PIXEL }])],
        signal: never(),
      }),
    );
    expect(deltas(events).join('')).toBe(echoReply('what is this', 1));
    const url = `data:image/png;base64,${Buffer.from(PIXEL).toString('base64')}`;
    const content = fake.chat.requests[0]!.messages[0]!.content as Record<string, unknown>[];
    expect(content[0]).toEqual({ type: 'text', text: 'what is this' });
    // On the wire both use image_url; OpenAI nests {url}, Mistral may send the string itself.
    const image = content[1]!;
    expect(image.type).toBe('image_url');
    expect(sdk === 'openai' ? (image.image_url as { url: string }).url : image.image_url).toBe(url);
  });

  test('an HTTP error before streaming is one error event with the readable reason and status', async () => {
    fake.chat.script({ status: 429, message: 'Slow down, please' });
    const events = await collect(make().stream({ model, messages: [user('hi')], signal: never() }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', status: 429 });
    const message = (events[0] as { message: string }).message;
    expect(message).toContain('Slow down, please');
    expect(message).not.toMatch(/Body:|\{|Status \d/); // no raw SDK dump
  });

  test('an error event mid-stream keeps the deltas before it and ends with a readable error', async () => {
    fake.chat.script({ chunks: ['one ', 'two ', 'three'], failAfter: 2, message: 'The GPU caught fire' });
    const events = await collect(make().stream({ model, messages: [user('hi')], signal: never() }));
    expect(deltas(events)).toEqual(['one ', 'two ']);
    expect(events.at(-1)!.type).toBe('error');
    expect((events.at(-1) as { message: string }).message).toContain('The GPU caught fire');
    expect(events.some((e) => e.type === 'done')).toBe(false);
  });

  test('a dropped connection mid-stream keeps the deltas and says the reply was cut', async () => {
    fake.chat.script({ chunks: ['one ', 'two ', 'three'], failAfter: 2, failMode: 'drop' });
    const events = await collect(make().stream({ model, messages: [user('hi')], signal: never() }));
    expect(deltas(events)).toEqual(['one ', 'two ']);
    expect(events.at(-1)).toMatchObject({ type: 'error', status: 502 });
    expect((events.at(-1) as { message: string }).message).toMatch(/connection .* lost/i);
  });

  test('an unreachable provider is an error event, not a throw', async () => {
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') });
    const port = closed.port;
    closed.stop(true);
    const adapter =
      sdk === 'openai'
        ? createOpenAIProvider({ baseURL: `http://127.0.0.1:${port}/v1` })
        : createMistralProvider({ serverURL: `http://127.0.0.1:${port}` });
    const events = await collect(adapter.stream({ model, messages: [user('hi')], signal: never() }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', status: 502 });
    expect((events[0] as { message: string }).message).toMatch(/could not reach/i);
  });

  test('abort while the provider hangs: the generator ends quietly and the request is closed', async () => {
    fake.chat.script({ hang: true });
    const ac = new AbortController();
    const events: StreamEvent[] = [];
    const run = (async () => {
      for await (const e of make().stream({ model, messages: [user('hi')], signal: ac.signal })) events.push(e);
    })();
    const req = await fake.chat.waitForRequests(1);
    ac.abort();
    await run;
    expect(events).toEqual([]);
    await fake.chat.waitForFinish(req);
    expect(req.aborted).toBe(true);
  });

  test('abort mid-stream stops at once: no more deltas, no error, no done', async () => {
    fake.chat.script({ text: 'a b c d e f g h i j k l', chunkDelayMs: 30 });
    const ac = new AbortController();
    const events: StreamEvent[] = [];
    for await (const e of make().stream({ model, messages: [user('hi')], signal: ac.signal })) {
      events.push(e);
      if (events.length === 2) ac.abort();
    }
    expect(events.map((e) => e.type)).toEqual(['delta', 'delta']);
    const req = fake.chat.requests[0]!;
    await fake.chat.waitForFinish(req);
    expect(req.aborted).toBe(true);
  });

  test('breaking out of the loop closes the upstream request too', async () => {
    fake.chat.script({ text: 'a b c d e f g h', chunkDelayMs: 30 });
    for await (const e of make().stream({ model, messages: [user('hi')], signal: never() })) {
      if (e.type === 'delta') break;
    }
    const req = fake.chat.requests[0]!;
    await fake.chat.waitForFinish(req);
    expect(req.aborted).toBe(true);
  });

  test('an already aborted signal sends nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await collect(make().stream({ model, messages: [user('hi')], signal: ac.signal }))).toEqual([]);
    expect(fake.chat.requests).toHaveLength(0);
  });
});

describe('model lists', () => {
  test('OpenAI: only chat models, vision inferred from names', async () => {
    fake.chat.models.openai = [
      { id: 'gpt-4o' },
      { id: 'gpt-3.5-turbo' },
      { id: 'llava:13b' },
      { id: 'qwen2.5-vl-7b' },
      { id: 'text-embedding-3-large' },
      { id: 'nomic-embed-text' },
      { id: 'whisper-1' },
      { id: 'tts-1-hd' },
      { id: 'dall-e-3' },
      { id: 'omni-moderation-latest' },
    ];
    const models = await createOpenAIProvider({ baseURL: fake.openaiBaseUrl }).listModels('k-123456');
    expect(models).toEqual([
      // OpenAI's own tool-calling models are known by name (other servers report it).
      { id: 'openai:gpt-4o', provider: 'openai', name: 'gpt-4o', capabilities: ['chat', 'vision', 'tools'] },
      { id: 'openai:gpt-3.5-turbo', provider: 'openai', name: 'gpt-3.5-turbo', capabilities: ['chat'] },
      { id: 'openai:llava:13b', provider: 'openai', name: 'llava:13b', capabilities: ['chat', 'vision'] },
      { id: 'openai:qwen2.5-vl-7b', provider: 'openai', name: 'qwen2.5-vl-7b', capabilities: ['chat', 'vision'] },
    ]);
  });

  test("Mistral: capabilities from the model cards; non-chat models dropped", async () => {
    const models = await createMistralProvider({ serverURL: fake.mistralServerUrl }).listModels('k-123456');
    expect(models).toEqual([
      { id: 'mistral:mistral-small-latest', provider: 'mistral', name: 'mistral-small-latest', capabilities: ['chat', 'vision', 'tools'], contextLength: 32768 },
      { id: 'mistral:mistral-large-latest', provider: 'mistral', name: 'mistral-large-latest', capabilities: ['chat', 'tools'], contextLength: 32768 },
      { id: 'mistral:pixtral-large-latest', provider: 'mistral', name: 'pixtral-large-latest', capabilities: ['chat', 'vision', 'tools'], contextLength: 32768 },
    ]);
    expect(fake.received('/v1/models')[0]!.headers['authorization']).toBe('Bearer k-123456');
  });

  test('GET /api/models merges both providers with capabilities', async () => {
    const { client } = await signUp(server.url);
    const res = await client.json('GET', '/api/models');
    expect(res.status).toBe(200);
    const ids = res.body.models.map((m: { id: string }) => m.id);
    expect(ids).toEqual([
      'mistral:mistral-small-latest',
      'mistral:mistral-large-latest',
      'mistral:pixtral-large-latest',
      'openai:gpt-4o-mini',
      'openai:gpt-4o',
      'openai:gpt-3.5-turbo',
    ]);
    // Mistral's cards say it calls tools (function_calling) and how long its context is.
    expect(res.body.models[0] as object).toEqual({
      id: 'mistral:mistral-small-latest',
      provider: 'mistral',
      name: 'mistral-small-latest',
      capabilities: ['chat', 'vision', 'tools'],
      contextLength: 32768,
    });
    expect(res.body.defaultModel).toBe('mistral:mistral-small-latest'); // no DEFAULT_MODEL: the first listed
  });

  test('GET /api/models needs a session', async () => {
    const res = await new Client(server.url).json('GET', '/api/models');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });

  test('lists are cached: many requests, one fetch per provider', async () => {
    const providers = createProviders(server.config, server.db.sql);
    const { user: u } = await signUp(server.url);
    await Promise.all([providers.models(u.id), providers.models(u.id), providers.models(u.id)]);
    await providers.models(u.id);
    expect(fake.chat.modelListCalls).toEqual({ openai: 1, mistral: 1 });
  });

  test('one provider down: the other is still listed', async () => {
    fake.chat.modelsDown.mistral = true;
    const providers = createProviders(server.config, server.db.sql);
    const { user: u } = await signUp(server.url);
    const { models, defaultModel } = await providers.models(u.id);
    expect(models.map((m) => m.provider)).toEqual(['openai', 'openai', 'openai']);
    expect(defaultModel).toBe('openai:gpt-4o-mini');
  });

  test('a provider that goes down keeps its last good list; it is refreshed in the background once back', async () => {
    const providers = createProviders(server.config, server.db.sql, { ttlMs: 0, retryMs: 0 });
    const { user: u } = await signUp(server.url);
    expect((await providers.models(u.id)).models).toHaveLength(6);
    fake.chat.modelsDown.openai = true;
    fake.chat.modelsDown.mistral = true;
    // Ask until both providers have failed three background refreshes; every answer meanwhile
    // is the last good list.
    const before = { ...fake.chat.modelListCalls };
    const answered: number[] = [];
    await eventually(
      async () => {
        answered.push((await providers.models(u.id)).models.length);
        expect(fake.chat.modelListCalls.openai - before.openai).toBeGreaterThanOrEqual(3);
        expect(fake.chat.modelListCalls.mistral - before.mistral).toBeGreaterThanOrEqual(3);
      },
      { message: 'three failed refreshes of each model list' },
    );
    expect(new Set(answered)).toEqual(new Set([6]));
    fake.chat.modelsDown.openai = false;
    fake.chat.models.openai = [{ id: 'gpt-4.1' }];
    await providers.models(u.id); // serves the old list, refreshes behind it
    const ids = await eventually(
      async () => {
        const now = (await providers.models(u.id)).models.map((m) => m.id);
        expect(now).toContain('openai:gpt-4.1');
        return now;
      },
      { message: 'the refreshed OpenAI list' },
    );
    expect(ids).not.toContain('openai:gpt-4o');
    expect(ids).toContain('mistral:mistral-small-latest');
  });

  test('over HTTP, with Mistral down from the start, OpenAI is listed alone', async () => {
    fake.chat.modelsDown.mistral = true;
    const other = await startServer({
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      OPENAI_API_KEY: 'server-openai-key',
      MISTRAL_SERVER_URL: fake.mistralServerUrl,
      MISTRAL_API_KEY: 'server-mistral-key',
    });
    try {
      const { client } = await signUp(other.url);
      const res = await client.json('GET', '/api/models');
      expect(res.status).toBe(200);
      expect(res.body.models.every((m: { provider: string }) => m.provider === 'openai')).toBe(true);
      expect(res.body.models.length).toBe(3);
    } finally {
      await other.stop();
    }
  }, 30_000); // starts a server of its own

  test('both providers down: an empty list, not an error', async () => {
    fake.chat.modelsDown.mistral = true;
    fake.chat.modelsDown.openai = true;
    const providers = createProviders(server.config, server.db.sql);
    const { user: u } = await signUp(server.url);
    expect(await providers.models(u.id)).toEqual({ models: [], defaultModel: null });
  });
});

describe('resolveModel and stream', () => {
  const withDefault = (defaultModel: string | null): Config =>
    ({ ...server.config, ai: { ...server.config.ai, defaultModel } }) as Config;

  test('the requested model when listed, else the user default, else DEFAULT_MODEL, else the first listed', async () => {
    const providers = createProviders(withDefault('openai:gpt-4o'), server.db.sql);
    const { client, user: u } = await signUp(server.url);
    expect(await providers.resolveModel(u.id, 'mistral:mistral-large-latest')).toBe('mistral:mistral-large-latest');
    expect(await providers.resolveModel(u.id, 'mistral:retired-model')).toBe('openai:gpt-4o');
    expect(await providers.resolveModel(u.id, null)).toBe('openai:gpt-4o');
    expect((await client.json('PUT', '/api/settings', { defaultModel: 'mistral:pixtral-large-latest' })).status).toBe(200);
    expect(await providers.resolveModel(u.id, undefined)).toBe('mistral:pixtral-large-latest');
    expect((await providers.models(u.id)).defaultModel).toBe('mistral:pixtral-large-latest');

    const noDefault = createProviders(withDefault('openai:not-listed'), server.db.sql);
    const { user: v } = await signUp(server.url);
    expect(await noDefault.resolveModel(v.id, 'nonsense')).toBe('mistral:mistral-small-latest');
  });

  test('stream picks the adapter by prefix and uses the server key', async () => {
    const providers = createProviders(server.config, server.db.sql);
    const { user: u } = await signUp(server.url);
    for (const [id, sdk, key] of [
      ['openai:gpt-4o-mini', 'openai', 'server-openai-key'],
      ['mistral:mistral-small-latest', 'mistral', 'server-mistral-key'],
    ] as const) {
      const events = await collect(providers.stream(u.id, id, [user('ping pong')], never()));
      expect(deltas(events).join('')).toBe(echoReply('ping pong'));
      expect(fake.chat.requests.at(-1)).toMatchObject({ sdk, model: id.split(':')[1], apiKey: key });
    }
  });

  test('unknown provider, unknown model and an unconfigured provider are error events, never throws', async () => {
    const providers = createProviders(server.config, server.db.sql);
    const { user: u } = await signUp(server.url);
    await providers.models(u.id); // lists known: an unlisted model is refused before any request
    for (const id of ['anthropic:claude', 'no-prefix', '', 'openai:no-such-model']) {
      const events = await collect(providers.stream(u.id, id, [user('hi')], never()));
      expect(events).toHaveLength(1);
      expect(events[0]!.type).toBe('error');
      expect((events[0] as { message: string }).message.length).toBeGreaterThan(10);
    }
    const openaiOnly = createProviders(
      { ...server.config, ai: { ...server.config.ai, mistral: null } } as Config,
      server.db.sql,
    );
    const [event] = await collect(openaiOnly.stream(u.id, 'mistral:mistral-small-latest', [user('hi')], never()));
    expect(event).toMatchObject({ type: 'error', status: 400 });
    expect((event as { message: string }).message).toMatch(/not set up/);
    expect(fake.chat.requests).toHaveLength(0);
  });

  test('a provider error streamed through Providers keeps the partial text', async () => {
    const providers = createProviders(server.config, server.db.sql);
    const { user: u } = await signUp(server.url);
    fake.chat.script({ sdk: 'mistral', chunks: ['half ', 'a '], failAfter: 1, message: 'overloaded' });
    const events = await collect(providers.stream(u.id, 'mistral:mistral-small-latest', [user('hi')], never()));
    expect(deltas(events)).toEqual(['half ']);
    expect(events.at(-1)).toMatchObject({ type: 'error' });
    expect((events.at(-1) as { message: string }).message).toContain('overloaded');
  });
});

describe('the fake provider itself', () => {
  test('a keyless OpenAI-compatible server (Ollama, vLLM) gets a harmless placeholder key; keyless Mistral gets none', async () => {
    await collect(createOpenAIProvider({ baseURL: fake.openaiBaseUrl }).stream({ model: 'llama3', messages: [user('hi')], signal: never(), apiKey: null }));
    await collect(createMistralProvider({ serverURL: fake.mistralServerUrl }).stream({ model: 'm', messages: [user('hi')], signal: never(), apiKey: null }));
    expect(fake.chat.requests.map((r) => r.authorization)).toEqual(['Bearer no-key-needed', null]);
  });
  test('answers non-streaming completions to both SDKs, with usage', async () => {
    const { default: OpenAI } = await import('openai');
    const { Mistral } = await import('@mistralai/mistralai');
    const openai = new OpenAI({ apiKey: 'k-123456', baseURL: fake.openaiBaseUrl, maxRetries: 0 });
    const a = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two' }] });
    expect(a.choices[0]!.message.content).toBe(echoReply('one two'));
    expect(a.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: words(echoReply('one two')).length });

    fake.chat.script({ sdk: 'mistral', text: 'Scripted answer', usage: { input: 7, output: 2 } });
    const mistral = new Mistral({ apiKey: 'k-123456', serverURL: fake.mistralServerUrl });
    const b = await mistral.chat.complete({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'x' }] });
    expect(b.choices?.[0]?.message?.content).toBe('Scripted answer');
    expect(b.usage).toMatchObject({ promptTokens: 7, completionTokens: 2 });
    expect(fake.chat.requests.map((r) => [r.sdk, r.stream])).toEqual([
      ['openai', false],
      ['mistral', false],
    ]);
  });

  test('scripts can target one SDK or model; others get the default echo', async () => {
    fake.chat.script({ model: 'gpt-4o', text: 'for gpt-4o only' });
    const openai = createOpenAIProvider({ baseURL: fake.openaiBaseUrl });
    const first = await collect(openai.stream({ model: 'gpt-4o-mini', messages: [user('hey')], signal: never() }));
    const second = await collect(openai.stream({ model: 'gpt-4o', messages: [user('hey')], signal: never() }));
    expect(deltas(first).join('')).toBe(echoReply('hey'));
    expect(deltas(second).join('')).toBe('for gpt-4o only');
    expect(fake.chat.queue).toHaveLength(0);
  });
});
