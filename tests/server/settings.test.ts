import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { Client, signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { decrypt, deriveKey } from '../../server/crypto';
import { createProviders } from '../../server/providers/service';
import { getSettings } from '../../server/settings';
import type { StreamEvent } from '../../server/providers/types';

let fake: FakeProvider;
let server: TestServer;

// OpenAI has a server key; Mistral only a URL (as a keyless self-hosted install would),
// so Mistral requests carry a key only when the user saved one.
beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'server-openai-key',
    MISTRAL_SERVER_URL: fake.mistralServerUrl,
  });
}, 60_000); // the embedded database (PARLEY_TEST_DB=embedded) takes seconds to start
afterAll(async () => {
  await server?.stop();
  fake?.stop();
});
beforeEach(() => fake.reset());

const DEFAULTS = {
  settings: { defaultModel: null, theme: 'system', voice: null, talkMode: 'hold' },
  keys: { mistral: null, openai: null },
};

async function drain(gen: AsyncGenerator<StreamEvent>) {
  const events: StreamEvent[] = [];
  for await (const e of gen) events.push(e);
  return events;
}

describe('preferences', () => {
  test('a new user gets the defaults', async () => {
    const { client } = await signUp(server.url);
    const res = await client.json('GET', '/api/settings');
    expect(res.status).toBe(200);
    expect(res.body as unknown).toEqual(DEFAULTS);
  });

  test('round trip: PUT answers the new state, GET shows the same, unspecified fields are kept', async () => {
    const { client, user } = await signUp(server.url);
    const put = await client.json('PUT', '/api/settings', {
      defaultModel: 'openai:gpt-4o',
      theme: 'dark',
      voice: 'alloy',
      talkMode: 'toggle',
    });
    expect(put.status).toBe(200);
    const expected = {
      settings: { defaultModel: 'openai:gpt-4o', theme: 'dark', voice: 'alloy', talkMode: 'toggle' },
      keys: { mistral: null, openai: null },
    };
    expect(put.body as unknown).toEqual(expected);
    expect((await client.json('GET', '/api/settings')).body as unknown).toEqual(expected);

    const partial = await client.json('PUT', '/api/settings', { theme: 'light' });
    expect(partial.body.settings).toEqual({ ...expected.settings, theme: 'light' });

    const cleared = await client.json('PUT', '/api/settings', { defaultModel: null, voice: null });
    expect(cleared.body.settings).toEqual({ defaultModel: null, theme: 'light', voice: null, talkMode: 'toggle' });

    // The service other features use reads the same.
    expect((await getSettings(server.db.sql, user.id)) as unknown).toEqual(cleared.body.settings);
  });

  test('an empty PUT changes nothing and still answers the state', async () => {
    const { client } = await signUp(server.url);
    const res = await client.json('PUT', '/api/settings', {});
    expect(res.status).toBe(200);
    expect(res.body as unknown).toEqual(DEFAULTS);
  });

  test("one user's settings are not another's", async () => {
    const a = await signUp(server.url);
    const b = await signUp(server.url);
    await a.client.json('PUT', '/api/settings', { theme: 'dark', openaiKey: 'sk-user-a-0000' });
    expect((await b.client.json('GET', '/api/settings')).body as unknown).toEqual(DEFAULTS);
  });
});

describe('validation', () => {
  test('bad values are 400 naming the field', async () => {
    const { client } = await signUp(server.url);
    const cases: [Record<string, unknown>, string][] = [
      [{ defaultModel: 'openai:not-a-model' }, 'defaultModel'],
      [{ defaultModel: 'gpt-4o' }, 'defaultModel'],
      [{ defaultModel: 42 }, 'defaultModel'],
      [{ theme: 'purple' }, 'theme'],
      [{ talkMode: 'shout' }, 'talkMode'],
      [{ voice: 'v'.repeat(101) }, 'voice'],
      [{ mistralKey: 'short' }, 'mistralKey'],
      [{ openaiKey: 'k'.repeat(513) }, 'openaiKey'],
      [{ openaiKey: 'has a space in it' }, 'openaiKey'],
      [{ openaiKey: 'line\nbreak-key' }, 'openaiKey'],
      [{ mistralKey: 12345678 }, 'mistralKey'],
    ];
    for (const [body, field] of cases) {
      const res = await client.json('PUT', '/api/settings', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
      expect(Object.keys(res.body.error.fields)).toContain(field);
    }
    // Nothing was saved by any of them.
    expect((await client.json('GET', '/api/settings')).body as unknown).toEqual(DEFAULTS);
  });

  test('malformed bodies are 4xx and the server stays up', async () => {
    const { client } = await signUp(server.url);
    for (const body of ['{not json', '[]', 'null', '"x"', '5', '', '{"theme": {"deep": [[[[1]]]]}}']) {
      const res = await client.request('PUT', '/api/settings', body, { headers: { 'content-type': 'application/json' } });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect((await client.json('GET', '/api/settings')).status).toBe(200);
  });

  test('a failed PUT saves nothing, not even the valid fields or a key', async () => {
    const { client } = await signUp(server.url);
    const res = await client.json('PUT', '/api/settings', {
      theme: 'dark',
      openaiKey: 'sk-never-saved-1234',
      defaultModel: 'openai:not-a-model',
    });
    expect(res.status).toBe(400);
    expect((await client.json('GET', '/api/settings')).body as unknown).toEqual(DEFAULTS);
  });

  test('unauthenticated GET and PUT are 401', async () => {
    const anon = new Client(server.url);
    expect((await anon.json('GET', '/api/settings')).status).toBe(401);
    expect((await anon.json('PUT', '/api/settings', { theme: 'dark' })).status).toBe(401);
  });

  test('a PUT from a foreign origin is refused', async () => {
    const { client } = await signUp(server.url);
    const res = await client.request('PUT', '/api/settings', { theme: 'dark' }, { headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect((await client.json('GET', '/api/settings')).body.settings.theme).toBe('system');
  });
});

describe('own provider keys', () => {
  test('a key is tried against its provider before it is stored: a refused one is a 400 naming the field', async () => {
    const { client } = await signUp(server.url);
    fake.chat.refusedKeys.add('sk-wrong-key-0000');
    const res = await client.json('PUT', '/api/settings', { theme: 'dark', openaiKey: 'sk-wrong-key-0000' });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual({ openaiKey: 'was not accepted by OpenAI (401)' });
    // It was really asked, with that key.
    expect(fake.chat.modelListCalls.openai).toBeGreaterThan(0);
    expect((await client.json('GET', '/api/settings')).body as unknown).toEqual(DEFAULTS);

    // The same for Mistral, in the same request as a good OpenAI key: nothing of it is saved.
    fake.chat.refusedKeys.add('mk-wrong-key-1111');
    const both = await client.json('PUT', '/api/settings', { openaiKey: 'sk-right-key-2222', mistralKey: 'mk-wrong-key-1111' });
    expect(both.status).toBe(400);
    expect(Object.keys(both.body.error.fields)).toEqual(['mistralKey']);
    expect((await client.json('GET', '/api/settings')).body as unknown).toEqual(DEFAULTS);

    const good = await client.json('PUT', '/api/settings', { openaiKey: 'sk-right-key-2222' });
    expect(good.status).toBe(200);
    expect(good.body.keys.openai).toEqual({ last4: '2222' });
  });

  test('a provider that cannot be asked about a key: 502, and the key is not stored', async () => {
    const { client } = await signUp(server.url);
    fake.chat.modelsDown.mistral = true;
    const res = await client.json('PUT', '/api/settings', { mistralKey: 'mk-unchecked-3333' });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toContain('Could not check the Mistral key');
    expect((await client.json('GET', '/api/settings')).body as unknown).toEqual(DEFAULTS);
  });

  test('saved keys show only their last four characters and are stored encrypted', async () => {
    const { client, user } = await signUp(server.url);
    const mistralKey = 'mk-Secret-Value-AbCd';
    const openaiKey = 'sk-proj-another-secret-9876';
    const res = await client.json('PUT', '/api/settings', { mistralKey, openaiKey });
    expect(res.status).toBe(200);
    expect(res.body.keys).toEqual({ mistral: { last4: 'AbCd' }, openai: { last4: '9876' } });
    const get = await client.get('/api/settings');
    const text = await get.text();
    for (const secret of [mistralKey, openaiKey, 'Secret-Value', 'another-secret']) {
      expect(JSON.stringify(res.body)).not.toContain(secret);
      expect(text).not.toContain(secret);
    }

    const [row] = await server.db.sql<Record<string, string | null>[]>`
      select mistral_key_enc, mistral_key_last4, openai_key_enc, openai_key_last4, prefs::text as prefs
      from user_settings where user_id = ${user.id}`;
    expect(row!.mistralKeyEnc).not.toContain(mistralKey);
    expect(row!.openaiKeyEnc).not.toContain(openaiKey);
    expect(row!.prefs).not.toContain('secret');
    // AES-GCM under the key derived for this purpose: it opens with that key only.
    const key = deriveKey(server.config.auth.secret, 'provider-keys');
    expect(decrypt(key, row!.mistralKeyEnc!)).toBe(mistralKey);
    expect(() => decrypt(deriveKey(server.config.auth.secret, 'jwt-access'), row!.mistralKeyEnc!)).toThrow();
    // Sealing twice gives different ciphertexts (random IV).
    await client.json('PUT', '/api/settings', { mistralKey });
    const [again] = await server.db.sql<{ mistralKeyEnc: string }[]>`
      select mistral_key_enc from user_settings where user_id = ${user.id}`;
    expect(again!.mistralKeyEnc).not.toBe(row!.mistralKeyEnc);
  });

  test('null removes a key; the other one and the preferences stay', async () => {
    const { client, user } = await signUp(server.url);
    await client.json('PUT', '/api/settings', { mistralKey: 'mk-remove-me-1111', openaiKey: 'sk-keep-me-2222', theme: 'dark' });
    const res = await client.json('PUT', '/api/settings', { mistralKey: null });
    expect(res.body.keys).toEqual({ mistral: null, openai: { last4: '2222' } });
    expect(res.body.settings.theme).toBe('dark');
    const [row] = await server.db.sql<{ mistralKeyEnc: string | null; mistralKeyLast4: string | null }[]>`
      select mistral_key_enc, mistral_key_last4 from user_settings where user_id = ${user.id}`;
    expect(row).toEqual({ mistralKeyEnc: null, mistralKeyLast4: null });
  });

  test("a user's own key is what the provider receives, for the model list and for replies; others use the server's", async () => {
    const providers = createProviders(server.config, server.db.sql);
    const alice = await signUp(server.url, 'alice');
    const bob = await signUp(server.url, 'bob');
    await alice.client.json('PUT', '/api/settings', { openaiKey: 'sk-alice-own-key', mistralKey: 'mk-alice-own-key' });

    // Model lists over HTTP (the app's own Providers).
    expect((await alice.client.json('GET', '/api/models')).status).toBe(200);
    const aliceAuth = fake.received('/v1/models').map((r) => r.headers['authorization'] ?? null);
    expect(aliceAuth.sort()).toEqual(['Bearer mk-alice-own-key', 'Bearer sk-alice-own-key']);
    // Bob's list is the server's (cached already, or fetched now with the server's credentials).
    expect((await bob.client.json('GET', '/api/models')).status).toBe(200);
    const bobAuth = fake.received('/v1/models').slice(aliceAuth.length).map((r) => r.headers['authorization'] ?? null);
    for (const auth of bobAuth) expect([null, 'Bearer server-openai-key']).toContain(auth);

    // Replies.
    const messages = [{ role: 'user' as const, content: 'hello' }];
    const signal = new AbortController().signal;
    await drain(providers.stream(alice.user.id, 'openai:gpt-4o-mini', messages, signal));
    await drain(providers.stream(bob.user.id, 'openai:gpt-4o-mini', messages, signal));
    await drain(providers.stream(alice.user.id, 'mistral:mistral-small-latest', messages, signal));
    await drain(providers.stream(bob.user.id, 'mistral:mistral-small-latest', messages, signal));
    expect(fake.chat.requests.map((r) => [r.sdk, r.authorization])).toEqual([
      ['openai', 'Bearer sk-alice-own-key'],
      ['openai', 'Bearer server-openai-key'],
      ['mistral', 'Bearer mk-alice-own-key'],
      // No server key for Mistral and none of Bob's own: no key is sent at all.
      ['mistral', null],
    ]);

    // Removing the key goes back to the server's.
    await alice.client.json('PUT', '/api/settings', { openaiKey: null });
    await drain(providers.stream(alice.user.id, 'openai:gpt-4o-mini', messages, signal));
    expect(fake.chat.requests.at(-1)!.authorization).toBe('Bearer server-openai-key');
  });

  test("a key's own model list decides what it can pick, and a default model can be saved with the key that unlocks it", async () => {
    const { client } = await signUp(server.url);
    fake.chat.models.openai = [{ id: 'gpt-4o-mini' }, { id: 'gpt-5-for-key-holders' }];
    // The server key's list was cached with the default models: this one is not in it.
    const refused = await client.json('PUT', '/api/settings', { defaultModel: 'openai:gpt-5-for-key-holders' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.fields.defaultModel).toEqual(expect.any(String));

    const saved = await client.json('PUT', '/api/settings', {
      openaiKey: 'sk-holder-key-5555',
      defaultModel: 'openai:gpt-5-for-key-holders',
    });
    expect(saved.status).toBe(200);
    expect(saved.body.settings.defaultModel).toBe('openai:gpt-5-for-key-holders');
    const models = await client.json('GET', '/api/models');
    expect(models.body.models.map((m: { id: string }) => m.id)).toContain('openai:gpt-5-for-key-holders');
    expect(models.body.models.find((m: { id: string }) => m.id === 'openai:gpt-5-for-key-holders')!.capabilities).toEqual([
      'chat',
      'vision',
      'tools',
      'reasoning',
    ]);
    expect(models.body.defaultModel).toBe('openai:gpt-5-for-key-holders');
  });

  test('a stored key that no longer decrypts (APP_SECRET changed) falls back to the server key', async () => {
    const { client, user } = await signUp(server.url);
    await client.json('PUT', '/api/settings', { openaiKey: 'sk-old-secret-key-7777' });
    const rotated = { ...server.config, auth: { ...server.config.auth, secret: 'a-different-secret-of-at-least-32-chars!!' } };
    const providers = createProviders(rotated as typeof server.config, server.db.sql);
    const events = await drain(
      providers.stream(user.id, 'openai:gpt-4o-mini', [{ role: 'user', content: 'hi' }], new AbortController().signal),
    );
    expect(events.at(-1)!.type).toBe('done');
    expect(fake.chat.requests.at(-1)!.authorization).toBe('Bearer server-openai-key');
  });

  test("deleting the account deletes its settings and keys", async () => {
    const { client, user } = await signUp(server.url);
    await client.json('PUT', '/api/settings', { openaiKey: 'sk-gone-with-account-1' });
    expect((await client.request('DELETE', '/api/auth/me')).status).toBe(204);
    const rows = await server.db.sql`select 1 from user_settings where user_id = ${user.id}`;
    expect(rows.length).toBe(0);
  });
});
