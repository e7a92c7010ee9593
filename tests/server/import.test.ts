/** Imports written in batches, checked whole first, with progress (issue 15), against a real server and database. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signUp, type Client } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { chatgptConversation } from '../support/chatgpt';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 60_000);
afterAll(() => server.stop(), 30_000);

/** A ChatGPT conversation of `turns` messages in one line. */
const conversation = (i: number, turns: number) => chatgptConversation(i, turns, (m) => `message ${m} of conversation ${i} about tides and moons`);

async function importJson(client: Client, value: unknown) {
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify(value)]), 'conversations.json');
  const res = await client.post('/api/import', form);
  return { status: res.status, body: await res.json() };
}

const threadCount = async (client: Client) => (await client.json('GET', '/api/threads?limit=200')).body.threads.length;

describe('import in batches', () => {
  test('a malformed conversation at the very end, after several batches worth, imports nothing', async () => {
    const { client } = await signUp(server.url);
    const file = [...Array.from({ length: 70 }, (_, i) => conversation(i, 4)), { title: 'Broken', mapping: 'not a mapping' }];
    const answer = await importJson(client, file);
    expect(answer.status).toBe(400);
    expect(answer.body.error.fields.file).toMatch(/71|Broken/);
    expect(answer.body.error.message).toMatch(/Nothing was imported/);
    expect(await threadCount(client)).toBe(0);
  });

  test('every batch is written, and the same file again adds nothing', async () => {
    const { client } = await signUp(server.url);
    const file = Array.from({ length: 45 }, (_, i) => conversation(i, 3));
    const first = await importJson(client, file);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ imported: { threads: 45, messages: 135 }, skipped: 0 });
    const again = await importJson(client, file);
    expect(again.body).toEqual({ imported: { threads: 0, messages: 0 }, skipped: 45 });
    expect(await threadCount(client)).toBe(45);
  });

  test('GET /api/import/progress: the import under way (checking, then importing n of total), null before and after, never another user’s', async () => {
    const { client } = await signUp(server.url);
    const other = await signUp(server.url);
    expect((await client.json('GET', '/api/import/progress')).body).toEqual({ progress: null });
    const file = Array.from({ length: 150 }, (_, i) => conversation(i, 30));
    const running = importJson(client, file);
    const seen: { phase: string; done: number; total: number }[] = [];
    let finished = false;
    void running.finally(() => (finished = true));
    while (!finished) {
      const { body } = await client.json('GET', '/api/import/progress');
      if (body.progress) seen.push(body.progress);
      const theirs = await other.client.json('GET', '/api/import/progress');
      expect(theirs.body.progress).toBeNull();
    }
    expect((await running).status).toBe(201);
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) {
      expect(['checking', 'importing']).toContain(p.phase);
      if (p.phase === 'importing') expect(p.total).toBe(150);
    }
    expect((await client.json('GET', '/api/import/progress')).body).toEqual({ progress: null });
    expect((await new (client.constructor as typeof Client)(server.url).request('GET', '/api/import/progress')).status).toBe(401);
  }, 60_000);
});
