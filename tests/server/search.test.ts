/** Search and import limits, and how search reads what was typed (issue 15), against a real server and database. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signUp, type Client } from '../support/client';
import { startServer, type TestServer } from '../support/server';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ SEARCH_LIMIT: '5', IMPORT_LIMIT: '2' });
}, 60_000);
afterAll(() => server.stop(), 30_000);

const fixture = (name: string) => readFileSync(join(import.meta.dir, '..', 'fixtures', 'import', name));

async function importFile(client: Client, bytes: Uint8Array | string, name = 'conversations.json') {
  const form = new FormData();
  form.append('file', new Blob([bytes as BlobPart]), name);
  const res = await client.post('/api/import', form);
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

/** A one-message ChatGPT export: the quickest way to put a message with given text into an account. */
const chatgpt = (title: string, text: string) =>
  JSON.stringify([
    {
      title,
      conversation_id: crypto.randomUUID(),
      create_time: 1700000000,
      update_time: 1700000100,
      mapping: {
        root: { id: 'root', message: null, parent: null, children: ['m1'] },
        m1: { id: 'm1', parent: 'root', children: [], message: { id: 'm1', author: { role: 'user' }, create_time: 1700000001, content: { content_type: 'text', parts: [text] }, metadata: {} } },
      },
    },
  ]);

describe('rate limits', () => {
  test('search: SEARCH_LIMIT a minute per user, then 429 with Retry-After; another user is not held back', async () => {
    const { client } = await signUp(server.url);
    for (let i = 0; i < 5; i++) {
      const res = await client.json('GET', `/api/search?q=word${i}`);
      expect(res.status).toBe(200);
    }
    const refused = await client.get('/api/search?q=again');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await refused.json()).error.code).toBe('rate_limited');

    const other = await signUp(server.url);
    expect((await other.client.json('GET', '/api/search?q=again')).status).toBe(200);
  });

  test('import: IMPORT_LIMIT an hour per user, then 429 before the file is read (nothing imported)', async () => {
    const { client } = await signUp(server.url);
    const first = await importFile(client, fixture('chatgpt-conversations.json'));
    expect(first.status).toBe(201);
    const second = await importFile(client, fixture('claude-conversations.json'));
    expect(second.status).toBe(201);
    const before = (await client.json('GET', '/api/threads?limit=200')).body.threads.length;

    const refused = await importFile(client, JSON.stringify([{ title: 'Late', mapping: {}, conversation_id: 'late' }]));
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect((await client.json('GET', '/api/threads?limit=200')).body.threads.length).toBe(before);

    const other = await signUp(server.url);
    expect((await importFile(other.client, fixture('claude-conversations.json'))).status).toBe(201);
  });
});

describe('what is typed', () => {
  test('a last word of one or two letters is a whole word, not a prefix; three letters and more match as prefixes', async () => {
    const { client } = await signUp(server.url);
    expect((await importFile(client, chatgpt('Notes', 'ab testing covers abacus and ox carts'))).status).toBe(201);
    const found = async (q: string) => (await client.json('GET', `/api/search?q=${encodeURIComponent(q)}`)).body.results.length;
    expect(await found('ab')).toBe(1); // the word "ab" itself
    expect(await found('o')).toBe(0); // not every word starting with o
    expect(await found('aba')).toBe(1); // abacus, as it is being typed
    expect(await found('testing ox')).toBe(1);
  });
});
