/**
 * Faults a deployment meets, on two Parley instances behind nginx on one PostgreSQL
 * (tests/support/cluster.ts): replies followed across instances over LISTEN/NOTIFY,
 * sign-out/disabling/rate limits everywhere at once, SIGTERM, SIGKILL and a PostgreSQL
 * restart mid-reply, and the offline sync under concurrent writers on both instances.
 * Instance 0 is "A", instance 1 is "B"; tests talk to one directly when it matters, else to nginx.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client, signUp, via } from '../support/client';
import { startParleyCluster, type ParleyCluster } from '../support/cluster';
import { eventually } from '../support/eventually';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

let c: ParleyCluster;
let A: string;
let B: string;

beforeAll(async () => {
  c = await startParleyCluster({ instances: 2 });
  A = c.instanceUrl(0);
  B = c.instanceUrl(1);
}, 90_000);

afterAll(async () => {
  await c?.stop();
}, 30_000);

function post(client: Client, threadId: string, content: string) {
  return client.post(`/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), content }).then((res) => {
    expect(res.status).toBe(200);
    return new SseReader(res);
  });
}

const chunks = (n: number, word = 'w') => Array.from({ length: n }, (_, i) => `${word}${i} `);

async function row(id: string) {
  const [m] = await c.sql<{ status: string; content: string; error: string | null }[]>`
    select status, content, error from messages where id = ${id}`;
  return m!;
}

async function health(base: string) {
  return fetch(`${base}/api/health`).then((r) => r.status, () => 0);
}

describe('two instances behind nginx', () => {
  test('nginx spreads requests over both instances, and either serves a session made on the other', async () => {
    const { client } = await signUp(A);
    expect((await via(client, B).json('GET', '/api/auth/me')).status).toBe(200);
    expect((await via(client, c.url).json('GET', '/api/auth/me')).status).toBe(200);
  }, 30_000);

  test('a reply started through A is followed live from B, every delta in order (LISTEN/NOTIFY, not row polling)', async () => {
    const { client } = await signUp(A, 'follow');
    const thread = await newThread(client);
    const pieces = chunks(30, 'piece');
    c.fake.chat.script({ chunks: pieces, firstTokenDelayMs: 100, chunkDelayMs: 60 });
    const onA = await post(client, thread.id, 'Count for me');
    const start = await onA.until('start');
    const id = start.data.message.id;
    const onB = new SseReader(await via(client, B).get(`/api/messages/${id}/stream`));
    const [eventsA, eventsB] = await Promise.all([onA.all(), onB.all()]);
    expect(onA.text()).toBe(pieces.join(''));
    expect(onB.text()).toBe(pieces.join(''));
    expect(eventsB.at(-1)!.event).toBe('done');
    expect(eventsB.at(-1)!.data.message).toMatchObject({ id, status: 'complete', content: pieces.join('') });
    // Live: B got the pieces one by one as A streamed them (a row read every 500 ms would batch them).
    const deltasB = eventsB.filter((e) => e.event === 'delta');
    expect(deltasB.length).toBeGreaterThan(15);
    // ...and close behind A: each of B's last ten deltas within 250 ms of A's same text.
    const atA = new Map<string, number>();
    for (const e of eventsA) if (e.event === 'delta') atA.set(e.data.text, e.at);
    for (const e of deltasB.slice(-10)) {
      const a = atA.get(e.data.text);
      if (a !== undefined) expect(e.at - a).toBeLessThan(250);
    }
  }, 30_000);

  test('a cancel through B stops the reply generating on A; the text so far is kept as cancelled', async () => {
    const { client } = await signUp(A, 'cancel');
    const thread = await newThread(client);
    c.fake.chat.script({ chunks: chunks(200), chunkDelayMs: 50 });
    const onA = await post(client, thread.id, 'Talk for long');
    const id = (await onA.until('start')).data.message.id;
    await onA.until('delta');
    const res = await via(client, B).json('POST', `/api/messages/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body.message.status).toBe('cancelled');
    await onA.all();
    expect(onA.events.at(-1)!.event).toBe('done');
    const stored = await row(id);
    expect(stored.status).toBe('cancelled');
    expect(stored.content.length).toBeGreaterThan(0);
    expect(chunks(200).join('').startsWith(stored.content)).toBe(true);
    expect(stored.content.length).toBeLessThan(chunks(200).join('').length);
  }, 30_000);

  test('sign-out through A ends the session\'s open streams on B at once; B refuses the session after', async () => {
    const { client } = await signUp(A, 'signout');
    const thread = await newThread(client);
    c.fake.chat.script({ hang: true });
    const onA = await post(client, thread.id, 'Wait forever');
    const id = (await onA.until('start')).data.message.id;
    const onB = new SseReader(await via(client, B).get(`/api/messages/${id}/stream`));
    await onB.until('start');
    const before = performance.now();
    expect((await client.post('/api/auth/logout')).status).toBe(204);
    await onB.all(); // B's stream of that session ends (the reply itself still hangs on A)
    expect(onB.closed).toBe(true);
    expect(performance.now() - before).toBeLessThan(2000);
    await onA.all(); // A's own stream of that session ends too
    expect(onA.closed).toBe(true);
    const me = await via(client, B).json('GET', '/api/auth/me');
    expect(me.status).toBe(401);
  }, 30_000);

  test('disabling an account ends its streams on every instance and stores its reply; none is left streaming', async () => {
    const { client, user } = await signUp(A, 'disabled');
    const thread = await newThread(client);
    c.fake.chat.script({ chunks: chunks(400), chunkDelayMs: 50 });
    const onA = await post(client, thread.id, 'Keep going');
    const id = (await onA.until('start')).data.message.id;
    await onA.until('delta');
    const onB = new SseReader(await via(client, B).get(`/api/messages/${id}/stream`));
    await onB.until('start');
    // Whatever code path disables it (an admin screen, SQL): a trigger tells every instance.
    await c.sql`update users set disabled = true where id = ${user.id}`;
    await Promise.all([onA.all(), onB.all()]);
    expect(onB.closed).toBe(true);
    await eventually(async () => expect((await row(id)).status).not.toBe('streaming'), { timeout: 5000 });
    expect((await row(id)).error).toContain('disabled');
    expect((await via(client, B).json('GET', '/api/auth/me')).status).toBe(401);
  }, 30_000);

  test('a rate limit reached through A holds on B', async () => {
    const { email } = await signUp(A, 'limited');
    const wrong = { email, password: 'not-the-password' };
    for (let i = 0; i < 10; i++) expect((await new Client(A).json('POST', '/api/auth/login', wrong)).status).toBe(401);
    expect((await new Client(B).json('POST', '/api/auth/login', wrong)).status).toBe(429);
  }, 30_000);

  test('offline sync stays exact across both instances under concurrent writers', async () => {
    const { client } = await signUp(A, 'sync');
    const onA = client;
    const onB = via(client, B);
    const first = await onA.json('GET', '/api/sync');
    const cursor = first.body.cursor;
    // Both instances write at once: new threads, renames, and messages with their replies.
    const writers = [onA, onB, via(client, c.url)].map(async (api, w) => {
      const made: string[] = [];
      for (let i = 0; i < 6; i++) {
        const t = await newThread(api, { title: `w${w}-${i}` });
        made.push(t.id);
        const renamed = api.patch(`/api/threads/${t.id}`, { title: `w${w}-${i} renamed` });
        const reply = post(api, t.id, `hello ${w}-${i}`).then((s) => s.all());
        await Promise.all([renamed, reply]);
      }
      return made;
    });
    const made = (await Promise.all(writers)).flat();
    // Every change since the cursor, read through each instance: the same, and all of it.
    const changes = async (api: Client) => {
      const threads = new Map<string, string>();
      const messages = new Map<string, string>();
      let since = cursor;
      for (;;) {
        const page = await api.json('GET', `/api/sync?since=${since}`);
        expect(page.status).toBe(200);
        for (const t of page.body.threads) threads.set(t.id, t.title);
        for (const m of page.body.messages) messages.set(m.id, `${m.role}:${m.status}:${m.content}`);
        since = page.body.cursor;
        if (!page.body.more) break;
      }
      return { threads, messages, since };
    };
    const [a, b] = await Promise.all([changes(onA), changes(onB)]);
    expect([...a.threads].sort()).toEqual([...b.threads].sort());
    expect([...a.messages].sort()).toEqual([...b.messages].sort());
    expect([...a.threads.keys()].sort()).toEqual([...made].sort());
    for (const id of made) expect(a.threads.get(id)).toMatch(/renamed$/);
    expect(a.messages.size).toBe(made.length * 2);
    for (const v of a.messages.values()) expect(v).toMatch(/^(user:complete|assistant:complete):/);
    // Nothing more after the cursor either side reached.
    const after = await onB.json('GET', `/api/sync?since=${a.since}`);
    expect(after.body.threads.length + after.body.messages.length).toBe(0);
  }, 60_000);
});

describe('faults', () => {
  test('PostgreSQL restarts mid-reply: health goes 503 and back by itself, the reply\'s text is kept, no process exits', async () => {
    const { client } = await signUp(A, 'pgrestart');
    const thread = await newThread(client);
    const pieces = chunks(40, 'pg');
    c.fake.chat.script({ chunks: pieces, chunkDelayMs: 100 });
    const onA = await post(client, thread.id, 'Survive the database');
    const id = (await onA.until('start')).data.message.id;
    await onA.until('delta');
    await c.stopPostgres();
    await eventually(async () => expect(await health(A)).toBe(503), { timeout: 5000 });
    await eventually(async () => expect(await health(B)).toBe(503), { timeout: 5000 });
    await c.startPostgres();
    await eventually(async () => expect(await health(A)).toBe(200), { timeout: 15_000 });
    await eventually(async () => expect(await health(B)).toBe(200), { timeout: 15_000 });
    await onA.all();
    expect(onA.text()).toBe(pieces.join(''));
    await eventually(async () => expect(await row(id)).toMatchObject({ status: 'complete', content: pieces.join('') }), {
      timeout: 15_000,
    });
    expect(c.running(0)).toBe(true);
    expect(c.running(1)).toBe(true);
    // Following across instances works again (the listener reconnected).
    c.fake.chat.script({ chunks: chunks(20, 'again'), chunkDelayMs: 60 });
    const again = await post(client, thread.id, 'And again');
    const id2 = (await again.until('start')).data.message.id;
    const onB = new SseReader(await via(client, B).get(`/api/messages/${id2}/stream`));
    await Promise.all([again.all(), onB.all()]);
    expect(onB.text()).toBe(chunks(20, 'again').join(''));
    expect(onB.events.filter((e) => e.event === 'delta').length).toBeGreaterThan(5);
  }, 60_000);

  test('SIGTERM: the instance stops taking requests (nginx fails over), its replies in flight finish and are stored', async () => {
    const { client } = await signUp(A, 'sigterm');
    const thread = await newThread(client);
    const pieces = chunks(30, 'term');
    c.fake.chat.script({ chunks: pieces, chunkDelayMs: 80 });
    const onA = await post(client, thread.id, 'Finish while I stop');
    const id = (await onA.until('start')).data.message.id;
    await onA.until('delta');
    const exited = c.kill(0, 'SIGTERM');
    // A no longer answers new requests (503 while draining, then refused); nginx sends them to B.
    await eventually(async () => expect(await health(A)).not.toBe(200), { timeout: 3000 });
    for (let i = 0; i < 6; i++) expect(await health(c.url)).toBe(200);
    expect((await via(client, c.url).json('GET', `/api/threads/${thread.id}`)).status).toBe(200);
    // The reply in flight finished on A and was stored complete; nothing left streaming.
    await onA.all();
    expect(onA.text()).toBe(pieces.join(''));
    expect(onA.events.at(-1)!.event).toBe('done');
    expect(await exited).toBe(0);
    expect(await row(id)).toMatchObject({ status: 'complete', content: pieces.join('') });
    await c.restart(0);
  }, 60_000);

  test('SIGTERM with a reply longer than the drain: it is stopped, stored as error with its text, never left streaming', async () => {
    const { client } = await signUp(A, 'sigterm-long');
    const thread = await newThread(client);
    c.fake.chat.script({ chunks: chunks(400, 'long'), chunkDelayMs: 100 });
    const onA = await post(client, thread.id, 'Longer than any drain');
    const id = (await onA.until('start')).data.message.id;
    await onA.until('delta');
    const onB = new SseReader(await via(client, B).get(`/api/messages/${id}/stream`));
    await onB.until('start');
    expect(await c.kill(0, 'SIGTERM')).toBe(0);
    const stored = await row(id);
    expect(stored.status).toBe('error');
    expect(stored.error).toContain('Interrupted');
    expect(stored.content.length).toBeGreaterThan(0);
    // A's own client got every piece and the error before A exited.
    await onA.all();
    expect(onA.text()).toBe(stored.content);
    expect(onA.events.at(-1)!.event).toBe('error');
    // The follower on B learns it.
    await onB.all();
    expect(onB.events.at(-1)!.event).toBe('error');
    expect(onB.text()).toBe(stored.content);
    await c.restart(0);
  }, 60_000);

  test('SIGKILL mid-reply: the streamed text is kept, the reply ends as error within seconds, a client re-attached through B learns it', async () => {
    const { client } = await signUp(A, 'sigkill');
    const thread = await newThread(client);
    c.fake.chat.script({ chunks: chunks(400, 'kill'), chunkDelayMs: 50 });
    const onA = await post(client, thread.id, 'Die mid-sentence');
    const id = (await onA.until('start')).data.message.id;
    const onB = new SseReader(await via(client, B).get(`/api/messages/${id}/stream`));
    await onB.until('start');
    // Let at least one batch reach the row.
    await eventually(async () => expect((await row(id)).content.length).toBeGreaterThan(0), { timeout: 5000 });
    await c.kill(0, 'SIGKILL');
    const killedAt = performance.now();
    const streamedOnA = onA.text();
    await onA.all().catch(() => {}); // its connection just drops
    // B's follower ends with the error...
    await onB.all();
    const ended = performance.now() - killedAt;
    expect(onB.events.at(-1)!.event).toBe('error');
    expect(ended).toBeLessThan(15_000);
    const stored = await row(id);
    expect(stored.status).toBe('error');
    expect(stored.content.length).toBeGreaterThan(0);
    expect(streamedOnA.startsWith(stored.content) || stored.content.startsWith(streamedOnA)).toBe(true);
    // ...and a client attaching again (through nginx: B) gets the text and the error.
    const again = new SseReader(await via(client, c.url).get(`/api/messages/${id}/stream`));
    await again.all();
    expect(again.text()).toBe(stored.content);
    expect(again.events.at(-1)!.event).toBe('error');
    await c.restart(0);
  }, 60_000);
});
