import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { newThread } from '../support/threads';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 60_000); // the embedded database can take several seconds to start
afterAll(() => server.stop(), 30_000);

describe('threads', () => {
  test('create, read, rename, set model and system prompt, pin, delete', async () => {
    const { client } = await signUp(server.url);
    const created = await client.json('POST', '/api/threads', { title: '  Trip plans ', systemPrompt: 'Be brief.' });
    expect(created.status).toBe(201);
    const thread = created.body.thread;
    expect(thread).toMatchObject({ title: 'Trip plans', systemPrompt: 'Be brief.', pinned: false, model: null });
    expect(new Date(thread.createdAt).toISOString()).toBe(thread.createdAt);

    const read = await client.json('GET', `/api/threads/${thread.id}`);
    expect(read.body.thread).toEqual(thread);

    const patched = await client.json('PATCH', `/api/threads/${thread.id}`, {
      title: 'Lisbon trip',
      pinned: true,
      systemPrompt: 'Answer in French.',
      model: 'openai:gpt-4o-mini',
    });
    expect(patched.status).toBe(200);
    expect(patched.body.thread).toMatchObject({ title: 'Lisbon trip', pinned: true, systemPrompt: 'Answer in French.', model: 'openai:gpt-4o-mini' });

    const cleared = await client.json('PATCH', `/api/threads/${thread.id}`, { model: null });
    expect(cleared.body.thread.model).toBeNull();

    expect((await client.delete(`/api/threads/${thread.id}`)).status).toBe(204);
    expect((await client.json('GET', `/api/threads/${thread.id}`)).status).toBe(404);
    expect((await client.delete(`/api/threads/${thread.id}`)).status).toBe(404);
  });

  test('bad input names the field and writes nothing', async () => {
    const { client } = await signUp(server.url);
    const before = (await client.json('GET', '/api/threads')).body.threads.length;
    for (const [body, field] of [
      [{ title: 'x'.repeat(201) }, 'title'],
      [{ model: 'gpt-4' }, 'model'],
      [{ model: 'acme:thing' }, 'model'],
      [{ systemPrompt: 42 }, 'systemPrompt'],
    ] as const) {
      const res = await client.json('POST', '/api/threads', body);
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.error.fields)).toContain(field);
    }
    expect((await client.json('GET', '/api/threads')).body.threads.length).toBe(before);
    const { body } = await client.json('POST', '/api/threads', {});
    const empty = await client.json('PATCH', `/api/threads/${body.thread.id}`, {});
    expect(empty.status).toBe(400);
    const pinned = await client.json('PATCH', `/api/threads/${body.thread.id}`, { pinned: 'yes' });
    expect(pinned.status).toBe(400);
    expect(pinned.body.error.fields).toHaveProperty('pinned');
    expect((await client.json('GET', '/api/threads/not-a-uuid')).status).toBe(400);
  });

  test('list: newest activity first, cursor pages without gaps or repeats', async () => {
    const { client } = await signUp(server.url);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await newThread(client, { title: `t${i}` })).id);
    // Touch t2: it becomes the most recent.
    await client.json('PATCH', `/api/threads/${ids[2]}`, { pinned: true });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { threads: { id: string; updatedAt: string }[]; nextCursor: string | null } } = await client.json(
        'GET',
        `/api/threads?limit=3${cursor ? `&before=${cursor}` : ''}`,
      );
      seen.push(...res.body.threads.map((t) => t.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    // updatedAt did not change on PATCH (activity = messages), so order is creation order, newest first.
    expect(seen).toEqual([...ids].reverse());
    const bad = await client.json('GET', '/api/threads?limit=500');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('limit');
  });

  test("someone else's thread: 404 on every route, nothing read or changed", async () => {
    const alice = await signUp(server.url, 'alice');
    const mallory = await signUp(server.url, 'mallory');
    const { id } = await newThread(alice.client, { title: 'Private' });
    const attempts = [
      mallory.client.json('GET', `/api/threads/${id}`),
      mallory.client.json('PATCH', `/api/threads/${id}`, { title: 'pwned' }),
      mallory.client.json('DELETE', `/api/threads/${id}`),
      mallory.client.json('GET', `/api/threads/${id}/messages`),
      mallory.client.json('POST', `/api/threads/${id}/messages`, { id: crypto.randomUUID(), content: 'hi' }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain('Private');
    }
    expect((await mallory.client.json('GET', '/api/threads')).body.threads).toEqual([]);
    const still = await alice.client.json('GET', `/api/threads/${id}`);
    expect(still.body.thread.title).toBe('Private');
    // Its owner opens it in one request: the messages' page carries the thread as GET /:id gives it.
    const page = await alice.client.json('GET', `/api/threads/${id}/messages?limit=200`);
    expect(page.status).toBe(200);
    expect(page.body.thread).toEqual(still.body.thread);
    expect(page.body.messages).toEqual([]);
    const [{ n }] = (await server.db.sql<{ n: number }[]>`select count(*)::int as n from messages where thread_id = ${id}`) as unknown as [{ n: number }];
    expect(n).toBe(0);
  });

  test('a client-made id makes creation idempotent: 201 once, then 200 with the same thread, one row', async () => {
    const { client } = await signUp(server.url);
    const id = crypto.randomUUID();
    const first = await client.json('POST', '/api/threads', { id, systemPrompt: 'Be brief.' });
    expect(first.status).toBe(201);
    expect(first.body.thread).toMatchObject({ id, title: '', systemPrompt: 'Be brief.' });
    const { body: synced } = await client.json('GET', '/api/sync');
    // A retry (a lost answer, a second tab, the service worker) makes nothing new; its other fields are ignored.
    const again = await client.json('POST', '/api/threads', { id, title: 'Other', systemPrompt: 'Different' });
    expect(again.status).toBe(200);
    expect(again.body.thread).toEqual(first.body.thread);
    // Several at once still make one thread, and none of them is told the id is someone else's
    // (a race the first version lost about one time in three).
    const racing: string[] = [];
    for (let round = 0; round < 10; round++) {
      const raced = crypto.randomUUID();
      racing.push(raced);
      const answers = await Promise.all([1, 2, 3].map(() => client.json('POST', '/api/threads', { id: raced })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
      expect(new Set(answers.map((a) => a.body.thread.id))).toEqual(new Set([raced]));
    }
    const { body } = await client.json('GET', '/api/threads');
    expect(body.threads.map((t: { id: string }) => t.id).sort()).toEqual([id, ...racing].sort());
    // A replay changes nothing a sync would have to bring again.
    const after = await client.json('GET', `/api/sync?since=${synced.cursor}`);
    expect(after.body.threads.map((t: { id: string }) => t.id).sort()).toEqual([...racing].sort());
  });

  test("someone else's thread id, or a deleted one, is a 409 naming the field, never their thread", async () => {
    const alice = await signUp(server.url, 'alice');
    const mallory = await signUp(server.url, 'mallory');
    const { id } = await newThread(alice.client, { title: 'Private plans' });
    const res = await mallory.client.json('POST', '/api/threads', { id, title: 'mine now' });
    expect(res.status).toBe(409);
    expect(res.body.error.fields).toEqual({ id: 'is already in use' });
    expect(JSON.stringify(res.body)).not.toContain('Private');
    expect(JSON.stringify(res.body)).not.toContain(alice.email);
    expect((await mallory.client.json('GET', '/api/threads')).body.threads).toEqual([]);
    const still = await alice.client.json('GET', `/api/threads/${id}`);
    expect(still.body.thread.title).toBe('Private plans');
    // A deleted thread's id stays retired: its tombstone keeps offline copies dropping it.
    expect((await alice.client.delete(`/api/threads/${id}`)).status).toBe(204);
    for (const who of [alice, mallory]) {
      const again = await who.client.json('POST', '/api/threads', { id });
      expect(again.status).toBe(409);
      expect(again.body.error.fields).toEqual({ id: 'is already in use' });
    }
    expect((await alice.client.json('GET', `/api/threads/${id}`)).status).toBe(404);
  });

  test('a bad client id is a 400 naming the field, and writes nothing', async () => {
    const { client } = await signUp(server.url);
    for (const id of ['not-a-uuid', 42, '', `${crypto.randomUUID()}x`]) {
      const res = await client.json('POST', '/api/threads', { id });
      expect(res.status).toBe(400);
      expect(res.body.error.fields).toHaveProperty('id');
    }
    expect((await client.json('GET', '/api/threads')).body.threads).toEqual([]);
  });

  test('signed out: 401', async () => {
    const res = await fetch(server.url + '/api/threads');
    expect(res.status).toBe(401);
  });
});

describe('sync', () => {
  test('first sync returns everything; the cursor then returns only changes; deletions are tombstones', async () => {
    const { client } = await signUp(server.url);
    const a = await newThread(client, { title: 'A' });
    const b = await newThread(client, { title: 'B' });
    const first = await client.json('GET', '/api/sync');
    expect(first.status).toBe(200);
    expect(first.body.threads.map((t: { id: string }) => t.id).sort()).toEqual([a.id, b.id].sort());
    expect(first.body.more).toBe(false);
    const cursor = first.body.cursor;
    expect(cursor).toMatch(/^\d+$/);

    const none = await client.json('GET', `/api/sync?since=${cursor}`);
    expect(none.body as unknown).toEqual({ threads: [], messages: [], deletedThreadIds: [], folders: [], deletedFolderIds: [], cursor, more: false });

    await client.json('PATCH', `/api/threads/${a.id}`, { title: 'A2' });
    await client.delete(`/api/threads/${b.id}`);
    const changes = await client.json('GET', `/api/sync?since=${cursor}`);
    expect(changes.body.threads.map((t: { title: string }) => t.title)).toEqual(['A2']);
    expect(changes.body.deletedThreadIds).toEqual([b.id]);
    expect(BigInt(changes.body.cursor)).toBeGreaterThan(BigInt(cursor));

    expect((await client.json('GET', '/api/sync?since=abc')).status).toBe(400);
  });

  test('paged with `more`, every change exactly once', async () => {
    const { client } = await signUp(server.url);
    const ids = new Set<string>();
    for (let i = 0; i < 9; i++) ids.add((await newThread(client, { title: `p${i}` })).id);
    const got: string[] = [];
    let since = '0';
    let more = true;
    let pages = 0;
    while (more) {
      const res = await client.json('GET', `/api/sync?since=${since}&limit=4`);
      got.push(...res.body.threads.map((t: { id: string }) => t.id));
      since = res.body.cursor;
      more = res.body.more;
      pages++;
    }
    expect(pages).toBe(3);
    expect(got.length).toBe(9);
    expect(new Set(got)).toEqual(ids);
  });

  test("another user's changes never appear", async () => {
    const alice = await signUp(server.url);
    const bob = await signUp(server.url);
    await newThread(alice.client, { title: 'alice only' });
    const res = await bob.client.json('GET', '/api/sync');
    expect(res.body.threads).toEqual([]);
    expect(res.body.messages).toEqual([]);
  });

  test('concurrent writers: a reader polling its cursor misses nothing', async () => {
    const { client } = await signUp(server.url);
    const created = new Set<string>();
    let since = '0';
    const seen = new Set<string>();
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 10; i++) {
          created.add((await newThread(client, { title: `c${i}` })).id);
        }
      }),
    ).then(() => {
      writing = false;
    });
    while (writing) {
      const res = await client.json('GET', `/api/sync?since=${since}&limit=3`);
      for (const t of res.body.threads) seen.add(t.id);
      since = res.body.cursor;
    }
    await writers;
    for (let more = true; more; ) {
      const res = await client.json('GET', `/api/sync?since=${since}&limit=3`);
      for (const t of res.body.threads) seen.add(t.id);
      since = res.body.cursor;
      more = res.body.more;
    }
    expect(created.size).toBe(40);
    expect([...created].filter((id) => !seen.has(id))).toEqual([]);
  });
});
