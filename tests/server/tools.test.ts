/**
 * Connections, reasoning, the tool loop, web search and MCP, end to end over HTTP:
 * three fake model servers (the environment's, a second OpenAI-compatible one, a third
 * speaking as Ollama or Mistral), a fake SearXNG and a real MCP server built with the
 * official SDK, all reached through the real SDKs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { recording } from '../support/audio-fixtures';
import { Client, signUp } from '../support/client';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { startFakeSearxng, type FakeSearxng } from '../support/fake-searxng';
import { startMcpServer, type TestMcpServer } from '../support/mcp-server';
import { startServer, type TestServer } from '../support/server';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

let envFake: FakeProvider;
let second: FakeProvider;
let third: FakeProvider;
let searx: FakeSearxng;
let mcp: TestMcpServer;
let server: TestServer;
let admin: Client;
let user: Client;

beforeAll(async () => {
  [envFake, second, third, searx, mcp] = await Promise.all([
    startFakeProvider(),
    startFakeProvider(),
    startFakeProvider(),
    startFakeSearxng(),
    startMcpServer({ token: 'mcp-secret-token' }),
  ]);
  server = await startServer({
    OPENAI_BASE_URL: envFake.openaiBaseUrl,
    OPENAI_API_KEY: 'env-key',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    SEARXNG_URL: searx.url,
    PROVIDER_TIMEOUT_MS: '3000',
    TOOL_APPROVAL_TIMEOUT_MS: '1500',
    TOOL_MAX_ROUNDS: '3',
  });
  admin = (await signUp(server.url, 'admin')).client; // the first account is the admin
  user = (await signUp(server.url, 'user')).client;
}, 60_000);
afterAll(async () => {
  await server.stop();
  for (const f of [envFake, second, third, searx, mcp]) f.stop();
}, 30_000);
afterEach(() => {
  for (const f of [envFake, second, third]) f.reset();
  searx.queries.length = 0;
  mcp.calls.length = 0;
});

async function addConnection(body: Record<string, unknown>) {
  const res = await admin.json('POST', '/api/admin/connections', body);
  expect(res.status).toBe(201);
  return (res.body as any).connection;
}

function post(client: Client, threadId: string, body: Record<string, unknown>) {
  return client.request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), ...body }).then((res) => {
    if (res.status !== 200) throw new Error(`post failed ${res.status}`);
    return new SseReader(res);
  });
}

describe('connections', () => {
  test('an admin adds one; its key is sealed and only its last four characters are ever shown', async () => {
    const c = await addConnection({ name: 'Second Server', kind: 'openai', baseUrl: second.openaiBaseUrl, apiKey: 'sk-second-secret-9876' });
    expect(c).toMatchObject({ slug: 'second-server', kind: 'openai', hasKey: true, keyLast4: '9876', purposes: ['chat'], local: true });
    const list = await admin.json('GET', '/api/admin/connections');
    expect(JSON.stringify(list.body)).not.toContain('sk-second-secret');
    const [row] = await server.db.sql`select key_enc from connections where id = ${c.id}`;
    expect(row!.keyEnc).not.toContain('sk-second-secret');
    await admin.json('DELETE', `/api/admin/connections/${c.id}`);
  });

  test('everyone but an admin gets 403 on every connection and MCP route, before any work', async () => {
    const id = crypto.randomUUID();
    const tries: [string, string, unknown?][] = [
      ['GET', '/api/admin/connections'],
      ['POST', '/api/admin/connections', { name: 'x', kind: 'openai', baseUrl: 'http://127.0.0.1:1/v1' }],
      ['PATCH', `/api/admin/connections/${id}`, { name: 'y' }],
      ['DELETE', `/api/admin/connections/${id}`],
      ['POST', `/api/admin/connections/${id}/test`],
      ['GET', '/api/admin/mcp-servers'],
      ['POST', '/api/admin/mcp-servers', { name: 'x', url: 'http://127.0.0.1:1/mcp' }],
      ['PATCH', `/api/admin/mcp-servers/${id}`, { enabled: false }],
      ['DELETE', `/api/admin/mcp-servers/${id}`],
    ];
    for (const [method, path, body] of tries) {
      const res = await user.json(method, path, body);
      expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 403`);
    }
    expect((await admin.json('GET', '/api/admin/connections')).body).toEqual({ connections: [] });
  });

  test('bad input: a reserved slug, credentials in the URL, a default for a purpose it lacks', async () => {
    const base = { name: 'x', kind: 'openai', baseUrl: second.openaiBaseUrl };
    expect((await admin.json('POST', '/api/admin/connections', { ...base, slug: 'openai' })).status).toBe(400);
    expect((await admin.json('POST', '/api/admin/connections', { ...base, baseUrl: 'http://u:p@127.0.0.1/v1' })).status).toBe(400);
    expect((await admin.json('POST', '/api/admin/connections', { ...base, defaultFor: ['tts'] })).status).toBe(400);
    expect((await admin.json('POST', '/api/admin/connections', { ...base, kind: 'other' })).status).toBe(400);
    const a = await addConnection({ ...base, slug: 'dup' });
    expect((await admin.json('POST', '/api/admin/connections', { ...base, slug: 'dup' })).status).toBe(409);
    await admin.json('DELETE', `/api/admin/connections/${a.id}`);
  });

  test('models appear as <slug>:<model> with what the servers report: OpenRouter fields, Ollama /api/show, overrides, allow-list', async () => {
    second.chat.models.openai = [
      { id: 'router-big', contextLength: 200_000, tools: true, reasoning: true, vision: true },
      { id: 'router-small', contextLength: 16_000, tools: false },
      { id: 'plain-model' },
    ];
    third.chat.models.openai = [
      { id: 'llama3.2:3b', ollama: true, tools: true, contextLength: 131_072 },
      { id: 'qwen3:8b', ollama: true, reasoning: true, tools: true },
      { id: 'hidden:1b', ollama: true },
    ];
    const a = await addConnection({
      name: 'Router',
      kind: 'openai',
      baseUrl: second.openaiBaseUrl,
      overrides: { 'plain-model': { capabilities: ['tools'], contextLength: 4096 } },
    });
    const b = await addConnection({ name: 'Ollama', kind: 'openai', baseUrl: third.openaiBaseUrl, models: ['llama3.2:3b', 'qwen3:8b'] });
    const { body } = await user.json('GET', '/api/models');
    const byId = new Map((body as any).models.map((m: any) => [m.id, m]));
    expect(byId.get('openai:gpt-4o-mini')).toBeTruthy();
    expect(byId.get('router:router-big')).toMatchObject({ provider: 'router', connection: 'Router', contextLength: 200_000, capabilities: ['chat', 'vision', 'tools', 'reasoning'] });
    expect(byId.get('router:router-small')).toMatchObject({ contextLength: 16_000, capabilities: ['chat'] });
    expect(byId.get('router:plain-model')).toMatchObject({ contextLength: 4096, capabilities: ['chat', 'tools'] });
    expect(byId.get('ollama:llama3.2:3b')).toMatchObject({ contextLength: 131_072, capabilities: ['chat', 'tools'] });
    expect(byId.get('ollama:qwen3:8b')).toMatchObject({ contextLength: 8192, capabilities: ['chat', 'tools', 'reasoning'] });
    expect(byId.has('ollama:hidden:1b')).toBe(false);
    await admin.json('DELETE', `/api/admin/connections/${a.id}`);
    await admin.json('DELETE', `/api/admin/connections/${b.id}`);
  });

  test('a failing connection says why: unreachable, key refused, no models', async () => {
    const dead = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') });
    const deadUrl = `http://127.0.0.1:${dead.port}/v1`;
    dead.stop(true);
    const down = await addConnection({ name: 'Down', kind: 'openai', baseUrl: deadUrl });
    second.chat.refusedKeys.add('bad-key');
    const refused = await addConnection({ name: 'Refused', kind: 'openai', baseUrl: second.openaiBaseUrl, apiKey: 'bad-key' });
    const empty = await addConnection({ name: 'Empty', kind: 'openai', baseUrl: second.openaiBaseUrl, models: ['nothing-like-it'] });
    const reasons: Record<string, string | null> = {};
    for (const c of [down, refused, empty]) {
      const res = await admin.json('POST', `/api/admin/connections/${c.id}/test`);
      expect(res.status).toBe(200);
      reasons[c.slug] = (res.body as any).status.reason;
    }
    expect(reasons).toEqual({ down: 'unreachable', refused: 'unauthorized', empty: 'no_models' });
    const ok = await admin.json('POST', `/api/admin/connections/${(await addConnection({ name: 'Fine', kind: 'openai', baseUrl: second.openaiBaseUrl })).id}/test`);
    expect((ok.body as any).status).toMatchObject({ ok: true, reason: null });
    for (const c of (await admin.json('GET', '/api/admin/connections')).body.connections as any[]) {
      await admin.json('DELETE', `/api/admin/connections/${c.id}`);
    }
    expect((await admin.json('POST', `/api/admin/connections/${down.id}/test`)).status).toBe(404);
  });

  test('a redirect from a connection to a private address is refused (the SSRF rules hold at every hop)', async () => {
    const bouncer = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } }),
    });
    const c = await addConnection({ name: 'Bouncer', kind: 'openai', baseUrl: `http://127.0.0.1:${bouncer.port}/v1` });
    const res = await admin.json('POST', `/api/admin/connections/${c.id}/test`);
    expect((res.body as any).status.ok).toBe(false);
    expect((res.body as any).status.message).toMatch(/refused/);
    bouncer.stop(true);
    await admin.json('DELETE', `/api/admin/connections/${c.id}`);
  });

  test('a search connection is tested by searching (SearXNG lists no models)', async () => {
    const c = await addConnection({ name: 'Searx', kind: 'openai', baseUrl: searx.url, purposes: ['search'] });
    const res = await admin.json('POST', `/api/admin/connections/${c.id}/test`);
    expect((res.body as any).status).toMatchObject({ ok: true, message: 'Search answers' });
    expect(searx.queries).toEqual(['test']);
    await admin.json('DELETE', `/api/admin/connections/${c.id}`);
  });

  test("a reply with a connection's model goes to that server with that key", async () => {
    const c = await addConnection({ name: 'Second', kind: 'openai', baseUrl: second.openaiBaseUrl, apiKey: 'sk-second-1234' });
    const thread = await newThread(user);
    second.chat.script({ text: 'From the second server' });
    const stream = await post(user, thread.id, { content: 'Hi', model: 'second:gpt-4o-mini' });
    await stream.all();
    expect(stream.text()).toBe('From the second server');
    expect(second.chat.requests.at(-1)).toMatchObject({ model: 'gpt-4o-mini', apiKey: 'sk-second-1234' });
    expect(envFake.chat.requests).toHaveLength(0);
    await admin.json('DELETE', `/api/admin/connections/${c.id}`);
  });
});

describe('reasoning', () => {
  test('streams as `reasoning` events apart from the text, is stored, and is never sent back to the model', async () => {
    const thread = await newThread(user);
    envFake.chat.script({ reasoning: ['Let me think. ', 'Two plus two…'], text: 'It is 4.' });
    const stream = await post(user, thread.id, { content: 'What is 2+2?' });
    const events = await stream.all();
    const names = events.map((e) => e.event);
    expect(names.indexOf('reasoning')).toBeLessThan(names.indexOf('delta'));
    expect(events.filter((e) => e.event === 'reasoning').map((e) => e.data.text).join('')).toBe('Let me think. Two plus two…');
    const done = events.find((e) => e.event === 'done')!.data.message!;
    expect(done).toMatchObject({ content: 'It is 4.', reasoning: 'Let me think. Two plus two…' });
    await (await post(user, thread.id, { content: 'And 3+3?' })).all();
    expect(JSON.stringify(envFake.chat.requests.at(-1)!.messages)).not.toContain('Two plus two');
  });

  test('Mistral thinking chunks through a Mistral connection, and the effort setting is passed on', async () => {
    third.chat.models.mistral = [{ id: 'magistral-small-latest' }, { id: 'mistral-small-latest' }];
    const c = await addConnection({ name: 'Magistral', kind: 'mistral', baseUrl: third.mistralServerUrl });
    const thread = await newThread(user);
    third.chat.script({ reasoning: ['Hmm, '], text: 'Done.' });
    const stream = await post(user, thread.id, { content: 'Think hard', model: 'magistral:magistral-small-latest', reasoningEffort: 'high' });
    const done = (await stream.all()).find((e) => e.event === 'done')!.data.message!;
    expect(done).toMatchObject({ content: 'Done.', reasoning: 'Hmm, ' });
    expect(third.chat.requests.at(-1)!.body.reasoning_effort).toBe('high');
    // A model that does not reason is not sent an effort setting (providers refuse it).
    await (await post(user, thread.id, { content: 'Again', model: 'magistral:mistral-small-latest', reasoningEffort: 'high' })).all();
    expect(third.chat.requests.at(-1)!.body.reasoning_effort).toBeUndefined();
    await admin.json('DELETE', `/api/admin/connections/${c.id}`);
  });
});

describe('tools', () => {
  let mcpId: string;
  beforeAll(async () => {
    const res = await admin.json('POST', '/api/admin/mcp-servers', { name: 'Facts', url: mcp.url, headers: { Authorization: 'Bearer mcp-secret-token' } });
    expect(res.status).toBe(201);
    mcpId = (res.body as any).server.id;
    expect((res.body as any).server).toMatchObject({ headerNames: ['Authorization'], enabled: true, error: null });
    expect((res.body as any).server.tools.map((t: any) => t.name)).toEqual(['lookup', 'add']);
    expect(JSON.stringify(res.body)).not.toContain('mcp-secret-token');
  });

  test('the model searches the web and calls an MCP tool; each call streams, results go back, the answer cites its sources', async () => {
    const thread = await newThread(user);
    envFake.chat.script(
      { reasoning: ['I should search.'], toolCalls: [{ name: 'web_search', arguments: { query: 'parley assistant' } }] },
      { toolCalls: [{ name: 'facts__lookup', arguments: { query: 'meaning' } }] },
    );
    const stream = await post(user, thread.id, { content: 'What is Parley?' });
    const events = await stream.all();
    const first = envFake.chat.requests[0]!;
    expect((first.body.tools as any[]).map((t) => t.function.name)).toEqual(['web_search', 'facts__lookup', 'facts__add']);
    // A client attached late gets each call's latest state; one attached earlier saw `running` too.
    const last = new Map(events.filter((e) => e.event === 'tool').map((e) => [(e.data as any).call.name, (e.data as any).status]));
    expect([...last]).toEqual([
      ['web_search', 'done'],
      ['facts__lookup', 'done'],
    ]);
    expect(searx.queries).toEqual(['parley assistant']);
    expect(mcp.calls).toEqual([{ tool: 'lookup', args: { query: 'meaning' } }]);
    // The results went back to the model as tool turns.
    const final = envFake.chat.requests.at(-1)!;
    expect(final.messages.filter((m) => m.role === 'tool').map((m) => String(m.content))).toEqual([
      expect.stringContaining('[1] Parley, a voice-first assistant (https://example.org/parley)'),
      'Handbook: the answer about "meaning" is 42.',
    ]);
    const done = events.find((e) => e.event === 'done')!.data.message!;
    expect(done.content).toStartWith('Tools said:');
    expect(done.sources).toEqual([
      { n: 1, title: 'Parley, a voice-first assistant', url: 'https://example.org/parley' },
      { n: 2, title: 'Weather today', url: 'https://example.com/weather' },
    ]);
    expect(done.toolCalls.map((c: any) => [c.name, c.status, typeof c.ms])).toEqual([
      ['web_search', 'done', 'number'],
      ['facts__lookup', 'done', 'number'],
    ]);
    expect(done.reasoning).toBe('I should search.');
    // Stored: a reload shows the same.
    const { body } = await user.json('GET', `/api/threads/${thread.id}/messages`);
    const stored = (body as any).messages.at(-1);
    expect(stored.toolCalls).toHaveLength(2);
    expect(stored.sources).toHaveLength(2);
  });

  test('webSearch: true searches before the model answers, with the message as the query', async () => {
    const thread = await newThread(user);
    const stream = await post(user, thread.id, { content: 'weather in Lyon', webSearch: true });
    const events = await stream.all();
    expect(searx.queries).toEqual(['weather in Lyon']);
    const system = envFake.chat.requests[0]!.messages.find((m) => m.role === 'system' && String(m.content).includes('Web search results'));
    expect(String(system?.content)).toContain('[2] Weather today');
    expect(events.some((e) => e.event === 'sources')).toBe(true);
  });

  test('a model without the tools capability is offered none', async () => {
    const thread = await newThread(user);
    await (await post(user, thread.id, { content: 'Hi', model: 'openai:gpt-3.5-turbo' })).all();
    expect(envFake.chat.requests.at(-1)!.body.tools).toBeUndefined();
  });

  test('rounds are limited: the last round offers no tools, so the model must answer', async () => {
    const thread = await newThread(user);
    const call = { toolCalls: [{ name: 'facts__add', arguments: { a: 1, b: 2 } }] };
    envFake.chat.script(call, call, call, call);
    const events = await (await post(user, thread.id, { content: 'Loop forever' })).all();
    expect(envFake.chat.requests).toHaveLength(4); // TOOL_MAX_ROUNDS=3 rounds with tools, then one without
    expect(envFake.chat.requests.at(-1)!.body.tools).toBeUndefined();
    expect(events.at(-1)!.event).toBe('done');
  });

  test('an unknown tool name and a failing search are reported to the model, and the reply still completes', async () => {
    const thread = await newThread(user);
    searx.control.failWith = 500;
    envFake.chat.script({ toolCalls: [{ name: 'no_such_tool', arguments: {} }, { name: 'web_search', arguments: { query: 'x' } }] });
    const events = await (await post(user, thread.id, { content: 'Try' })).all();
    searx.control.failWith = null;
    const done = events.find((e) => e.event === 'done')!.data.message!;
    expect(done.toolCalls.map((c: any) => c.status)).toEqual(['error', 'error']);
    expect(done.status).toBe('complete');
  });

  describe('approval', () => {
    beforeAll(async () => {
      expect((await admin.json('PATCH', `/api/admin/mcp-servers/${mcpId}`, { requireApproval: true })).status).toBe(200);
    });
    afterAll(async () => {
      await admin.json('PATCH', `/api/admin/mcp-servers/${mcpId}`, { requireApproval: false });
    });

    test('a sensitive tool waits for the user; someone else cannot approve it; approved, it runs', async () => {
      const thread = await newThread(user);
      envFake.chat.script({ toolCalls: [{ name: 'facts__add', arguments: { a: 2, b: 3 }, id: 'call-add' }] });
      const stream = await post(user, thread.id, { content: 'Add' });
      let event;
      while ((event = await stream.next()) && event.event !== 'tool');
      expect(event!.data).toMatchObject({ status: 'approval', call: { id: 'call-add', name: 'facts__add', input: { a: 2, b: 3 } } });
      const messageId = event!.data.id!;
      expect(mcp.calls).toHaveLength(0);
      const other = (await signUp(server.url, 'other')).client;
      expect((await other.json('POST', `/api/messages/${messageId}/tool-calls/call-add`, { approve: true })).status).toBe(404);
      expect((await user.json('POST', `/api/messages/${messageId}/tool-calls/nope`, { approve: true })).status).toBe(404);
      expect((await user.json('POST', `/api/messages/${messageId}/tool-calls/call-add`, { approve: true })).status).toBe(200);
      const rest = await stream.all();
      expect(mcp.calls).toEqual([{ tool: 'add', args: { a: 2, b: 3 } }]);
      expect(rest.at(-1)!.data.message!.content).toBe('Tools said: 5');
    });

    test('the reply survives a dropped connection while a call waits: approved later, it completes and can be followed', async () => {
      const thread = await newThread(user);
      envFake.chat.script({ toolCalls: [{ name: 'facts__add', arguments: { a: 4, b: 4 }, id: 'call-drop' }] });
      const controller = new AbortController();
      const res = await user.request('POST', `/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'Add' }, { signal: controller.signal });
      const stream = new SseReader(res);
      let event;
      while ((event = await stream.next()) && event.event !== 'tool');
      const messageId = event!.data.id!;
      controller.abort(); // the phone locks, the network drops
      expect((await user.json('POST', `/api/messages/${messageId}/tool-calls/call-drop`, { approve: true })).status).toBe(200);
      const followed = await (await user.request('GET', `/api/messages/${messageId}/stream`)).body!;
      const rest = await new SseReader(new Response(followed)).all();
      expect(rest.at(-1)!.data.message).toMatchObject({ status: 'complete', content: 'Tools said: 8' });
      expect(mcp.calls).toEqual([{ tool: 'add', args: { a: 4, b: 4 } }]);
    });

    test('denied, or unanswered until the timeout, the tool does not run and the model is told', async () => {
      const thread = await newThread(user);
      envFake.chat.script({ toolCalls: [{ name: 'facts__add', arguments: { a: 1, b: 1 }, id: 'call-deny' }] });
      const stream = await post(user, thread.id, { content: 'Add' });
      let event;
      while ((event = await stream.next()) && event.event !== 'tool');
      await user.json('POST', `/api/messages/${event!.data.id}/tool-calls/call-deny`, { approve: false });
      const done = (await stream.all()).at(-1)!.data.message!;
      expect(done.toolCalls[0]).toMatchObject({ status: 'denied' });
      expect(mcp.calls).toHaveLength(0);

      envFake.chat.script({ toolCalls: [{ name: 'facts__add', arguments: { a: 1, b: 1 }, id: 'call-late' }] });
      const timedOut = (await (await post(user, thread.id, { content: 'Add again' })).all()).at(-1)!.data.message!;
      expect(timedOut.toolCalls[0]).toMatchObject({ status: 'denied' });
      expect(timedOut.status).toBe('complete');
      expect(mcp.calls).toHaveLength(0);
    });
  });

  test('through the Mistral SDK too: a Mistral connection calls the MCP tool', async () => {
    const c = await addConnection({ name: 'Mist', kind: 'mistral', baseUrl: third.mistralServerUrl });
    const thread = await newThread(user);
    third.chat.script({ toolCalls: [{ name: 'facts__add', arguments: { a: 20, b: 22 } }] });
    const done = (await (await post(user, thread.id, { content: 'Add', model: 'mist:mistral-small-latest' })).all()).at(-1)!.data.message!;
    expect(mcp.calls).toEqual([{ tool: 'add', args: { a: 20, b: 22 } }]);
    expect(done.content).toBe('Tools said: 42');
    const back = third.chat.requests.at(-1)!.messages;
    expect(back.find((m: any) => m.role === 'tool')).toMatchObject({ content: '42' });
    await admin.json('DELETE', `/api/admin/connections/${c.id}`);
  });

  test('a disabled MCP server offers nothing; a wrong token shows an error in the console', async () => {
    await admin.json('PATCH', `/api/admin/mcp-servers/${mcpId}`, { enabled: false });
    const thread = await newThread(user);
    await (await post(user, thread.id, { content: 'Hi' })).all();
    expect((envFake.chat.requests.at(-1)!.body.tools as any[]).map((t) => t.function.name)).toEqual(['web_search']);
    await admin.json('PATCH', `/api/admin/mcp-servers/${mcpId}`, { enabled: true });
    const bad = await admin.json('POST', '/api/admin/mcp-servers', { name: 'Bad', url: mcp.url, headers: { Authorization: 'Bearer wrong' } });
    expect((bad.body as any).server.error).toMatch(/Could not list its tools/);
    await admin.json('DELETE', `/api/admin/mcp-servers/${(bad.body as any).server.id}`);
  });
});

describe('voice and images on their own connections', () => {
  test('a speech connection serves transcriptions and speech, keyless, instead of the environment provider', async () => {
    const speechServer = await startFakeProvider();
    try {
      const c = await addConnection({ name: 'Local voice', kind: 'openai', baseUrl: speechServer.openaiBaseUrl, purposes: ['stt', 'tts'] });
      speechServer.audio.setTranscript('hello from the local whisper');
      const file = await recording('wav');
      const form = new FormData();
      form.set('file', new File([file.bytes as Uint8Array<ArrayBuffer>], file.filename, { type: file.type }));
      const heard = await user.json('POST', '/api/voice/transcriptions', form);
      expect(heard.status).toBe(200);
      expect(heard.body.text).toBe('hello from the local whisper');
      const spoken = await user.request('POST', '/api/voice/speech', { text: 'Hello there' });
      expect(spoken.status).toBe(200);
      expect(spoken.headers.get('content-type')).toStartWith('audio/');
      expect(speechServer.audio.transcriptions).toHaveLength(1);
      expect(speechServer.audio.speeches).toHaveLength(1);
      expect(speechServer.received('/audio/speech')[0]!.headers['authorization']).toBe('Bearer no-key-needed');
      expect(envFake.received('/audio/transcriptions')).toHaveLength(0);
      expect(envFake.received('/audio/speech')).toHaveLength(0);
      const info = await user.json('GET', '/api/voice');
      expect(info.body).toMatchObject({ stt: 'openai', tts: 'openai' });
      await admin.json('DELETE', `/api/admin/connections/${c.id}`);
      // Removed: back to the environment's provider.
      await user.request('POST', '/api/voice/speech', { text: 'Hello again' });
      expect(envFake.received('/audio/speech')).toHaveLength(1);
    } finally {
      speechServer.stop();
    }
  });

  test('of several speech connections, the one marked default serves', async () => {
    const [a, b] = await Promise.all([startFakeProvider(), startFakeProvider()]);
    try {
      const first = await addConnection({ name: 'Voice A', kind: 'openai', baseUrl: a.openaiBaseUrl, purposes: ['tts'] });
      const second = await addConnection({ name: 'Voice B', kind: 'openai', baseUrl: b.openaiBaseUrl, purposes: ['tts'], defaultFor: ['tts'] });
      await user.request('POST', '/api/voice/speech', { text: 'Which one?' });
      expect(b.audio.speeches).toHaveLength(1);
      expect(a.audio.speeches).toHaveLength(0);
      await admin.json('DELETE', `/api/admin/connections/${first.id}`);
      await admin.json('DELETE', `/api/admin/connections/${second.id}`);
    } finally {
      a.stop();
      b.stop();
    }
  });

  test('an images connection generates images instead of the environment provider', async () => {
    const painter = await startFakeProvider();
    try {
      const c = await addConnection({ name: 'Painter', kind: 'openai', baseUrl: painter.openaiBaseUrl, purposes: ['images'] });
      const res = await user.json('POST', '/api/images', { prompt: 'a red fox' });
      expect(res.status).toBe(201);
      expect(painter.received('/images/generations')).toHaveLength(1);
      expect(envFake.received('/images/generations')).toHaveLength(0);
      await admin.json('DELETE', `/api/admin/connections/${c.id}`);
    } finally {
      painter.stop();
    }
  });
});

describe('a connection model as a thread or default model', () => {
  test('threads and settings accept a listed connection model; an unknown slug is refused', async () => {
    const c = await addConnection({ name: 'Pick', kind: 'openai', baseUrl: second.openaiBaseUrl });
    expect((await user.json('POST', '/api/threads', { model: 'pick:gpt-4o' })).status).toBe(201);
    expect((await user.json('POST', '/api/threads', { model: 'nowhere:gpt-4o' })).status).toBe(400);
    expect((await user.json('POST', '/api/threads', { model: 'pick:not-listed' })).status).toBe(400);
    expect((await user.json('PUT', '/api/settings', { defaultModel: 'pick:gpt-4o' })).status).toBe(200);
    expect((await user.json('GET', '/api/models')).body.defaultModel).toBe('pick:gpt-4o');
    await user.json('PUT', '/api/settings', { defaultModel: null });
    await admin.json('DELETE', `/api/admin/connections/${c.id}`);
  });
});
