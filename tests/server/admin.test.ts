/**
 * Roles, the admin API, quotas and the ledger, flags, and the integration API, against a
 * real server and database (PostgreSQL, or PGlite with PARLEY_TEST_DB=embedded).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createHmac } from 'node:crypto';
import { Client, signUp } from '../support/client';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { embedded, startServer, type TestServer } from '../support/server';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';
import { eventually } from '../support/eventually';
import { createApp } from '../../server/app';
import { openDatabase } from '../../server/db';
import { loadConfig } from '../../server/config';

const SECRET = 'integration-secret-of-at-least-32-characters';
// Several tests make dozens of requests (every admin route × three callers); on the embedded
// database, one query at a time, on a busy machine, that takes more than bun's 5 s.
setDefaultTimeout(30_000);
let server: TestServer;
let fake: FakeProvider;
let admin: Client;
let adminId: string;

beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'test',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    IMAGE_PROVIDER: 'openai',
    INTEGRATION_SECRET: SECRET,
    PROVIDER_TIMEOUT_MS: '3000',
  });
  const first = await signUp(server.url, 'admin');
  admin = first.client;
  adminId = first.user.id;
}, 60_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
}, 30_000);
beforeEach(() => fake.reset());

type Answer = { status: number; body: any; res: Response };
const call = (c: Client, method: string, path: string, body?: unknown) => c.json(method, path, body) as Promise<Answer>;

/** An account of `role`, signed in through its invite link. */
async function invited(role: 'user' | 'restricted' | 'admin', name: string = role) {
  const email = `${name}-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const made = await call(admin, 'POST', '/api/admin/users', { email, name, role });
  expect(made.status).toBe(201);
  const token = new URL(made.body.inviteUrl).hash.replace(/^#invite=/, '');
  const client = new Client(server.url);
  const password = `pw-${crypto.randomUUID()}`;
  const used = await call(client, 'POST', '/api/auth/reset', { token, password });
  expect(used.status).toBe(200);
  return { client, email, password, id: made.body.user.id as string, token };
}

async function reply(client: Client, threadId: string, content = 'hello there') {
  const res = await client.request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), content });
  if (res.status !== 200) return { status: res.status, body: await res.json() };
  const events = await new SseReader(res).all();
  return { status: 200, events };
}

const ledgerSum = async (userId: string) =>
  Number((await server.db.sql<{ n: string }[]>`select coalesce(sum(tokens), 0)::text as n from quota_transactions where user_id = ${userId}`)[0]!.n);
const balance = async (userId: string) =>
  (await server.db.sql<{ b: string | null }[]>`select balance::text as b from quotas where user_id = ${userId}`)[0]?.b;

describe('roles and permissions', () => {
  test('the first account is the admin; /api/auth/me carries the permissions', async () => {
    const me = await call(admin, 'GET', '/api/auth/me');
    expect(me.body.user.role).toBe('admin');
    expect(me.body.permissions).toMatchObject({ voice: true, images: true, share: true, models: null });
    const r = await invited('restricted');
    const rm = await call(r.client, 'GET', '/api/auth/me');
    expect(rm.body.user.role).toBe('restricted');
    expect(rm.body.permissions).toMatchObject({ images: false, share: false, ownKeys: false, systemPrompt: false });
  });

  test('every admin route answers 401 signed out and 403 to a user and a restricted account, doing nothing', async () => {
    const user = (await signUp(server.url, 'plain')).client;
    const restricted = (await invited('restricted')).client;
    const adminRoutes = server.app.routes.filter((r) => r.path.startsWith('/api/admin'));
    expect(adminRoutes.length).toBeGreaterThanOrEqual(14);
    const usersBefore = (await call(admin, 'GET', '/api/admin/users?limit=200')).body.users.length;
    const id = crypto.randomUUID();
    // Valid bodies, so what answers is the guard, not validation.
    const doc = (await call(admin, 'GET', '/api/admin/permissions')).body;
    for (const r of adminRoutes) {
      const path = r.path.replace(':id', id) + (r.path.endsWith('/usage') ? '?from=2026-01-01&to=2026-01-31' : '');
      const body =
        r.method === 'GET' || r.method === 'DELETE'
          ? undefined
          : r.path.endsWith('/permissions')
            ? doc
            : r.path.endsWith('/prices')
              ? {}
            : r.path.endsWith('/summary')
              ? { from: '2026-01-01', to: '2026-01-31' }
              : { email: 'x@example.test', role: 'admin', status: 'resolved' };
      expect([r.method, r.path, (await call(new Client(server.url), r.method, path, body)).status]).toEqual([r.method, r.path, 401]);
      for (const c of [user, restricted]) {
        const res = await call(c, r.method, path, body);
        expect([r.method, r.path, res.status, res.body?.error?.code]).toEqual([r.method, r.path, 403, 'forbidden']);
      }
    }
    expect((await call(admin, 'GET', '/api/admin/users?limit=200')).body.users.length).toBe(usersBefore);
    // The guard runs before the body is validated: a bad body still gets 401/403, not 400.
    expect((await call(new Client(server.url), 'PUT', '/api/admin/permissions', { nonsense: true })).status).toBe(401);
    expect((await call(user, 'PUT', '/api/admin/permissions', { nonsense: true })).status).toBe(403);
    expect((await call(restricted, 'POST', '/api/images', { prompt: 42 })).status).toBe(403);
    expect((await call(admin, 'PUT', '/api/admin/permissions', { nonsense: true })).status).toBe(400);
  });

  test('each permission-gated route answers 403 when the permission is off, before calling a provider', async () => {
    const r = await invited('restricted');
    const thread = await newThread(r.client);
    const gated: [string, string, unknown][] = [
      ['POST', '/api/images', { prompt: 'a cat' }],
      ['POST', `/api/threads/${thread.id}/share`, undefined],
      ['PUT', '/api/settings', { openaiKey: 'sk-abcdefghijkl' }],
      ['POST', '/api/threads', { title: 'x', systemPrompt: 'be a pirate' }],
      ['PATCH', `/api/threads/${thread.id}`, { systemPrompt: 'be a pirate' }],
    ];
    for (const [method, path, body] of gated) {
      const res = await call(r.client, method, path, body);
      expect([method, path, res.status, res.body.error.code]).toEqual([method, path, 403, 'forbidden']);
    }
    expect(fake.requests.length).toBe(0);

    // Voice off for restricted accounts: transcriptions and speech refuse before any work.
    const doc = (await call(admin, 'GET', '/api/admin/permissions')).body;
    const off = { ...doc, restricted: { ...doc.restricted, voice: false, chooseModel: false } };
    expect((await call(admin, 'PUT', '/api/admin/permissions', off)).status).toBe(200);
    expect((await call(r.client, 'POST', '/api/voice/speech', { text: 'hi' })).status).toBe(403);
    expect((await r.client.post('/api/voice/transcriptions', new FormData())).status).toBe(403);
    // Choosing a model is off: naming one is refused.
    const named = await r.client.request('POST', `/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'hi', model: 'openai:gpt-4o' });
    expect(named.status).toBe(403);
    expect(fake.requests.length).toBe(0);
    expect((await call(admin, 'PUT', '/api/admin/permissions', doc)).status).toBe(200);
  });

  test('a model allow-list limits /api/models and what a reply may use', async () => {
    const doc = (await call(admin, 'GET', '/api/admin/permissions')).body;
    const models = (await call(admin, 'GET', '/api/models')).body.models as { id: string }[];
    expect(models.length).toBeGreaterThan(1);
    const allowed = models[1]!.id;
    await call(admin, 'PUT', '/api/admin/permissions', { ...doc, restricted: { ...doc.restricted, models: [allowed] } });
    const r = await invited('restricted');
    const list = (await call(r.client, 'GET', '/api/models')).body;
    expect(list.models.map((m: { id: string }) => m.id)).toEqual([allowed]);
    expect(list.defaultModel).toBe(allowed);
    const thread = await newThread(r.client);
    const denied = await r.client.request('POST', `/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'hi', model: models[0]!.id });
    expect(denied.status).toBe(403);
    const ok = await reply(r.client, thread.id);
    expect(ok.status).toBe(200);
    expect(fake.chat.requests.at(-1)!.model).toBe(allowed.split(':')[1]!);
    await call(admin, 'PUT', '/api/admin/permissions', doc);
  });
});

describe('users', () => {
  test('invite: a one-time link, no password anywhere; the link works once', async () => {
    const email = `inv-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const made = await call(admin, 'POST', '/api/admin/users', { email, name: 'Kid', role: 'restricted' });
    expect(made.status).toBe(201);
    expect(JSON.stringify(made.body)).not.toMatch(/password/i);
    expect(made.body.inviteUrl).toStartWith(`${server.config.http.publicUrl}/reset#invite=`);
    const token = new URL(made.body.inviteUrl).hash.slice('#invite='.length);
    const kid = new Client(server.url);
    expect((await call(kid, 'POST', '/api/auth/login', { email, password: 'anything-at-all' })).status).toBe(401);
    expect((await call(kid, 'POST', '/api/auth/reset', { token, password: 'password' })).status).toBe(400);
    const used = await call(kid, 'POST', '/api/auth/reset', { token, password: 'a-good-long-passphrase' });
    expect(used.status).toBe(200);
    expect(used.body.user).toMatchObject({ email, role: 'restricted' });
    expect((await call(kid, 'GET', '/api/auth/me')).status).toBe(200);
    expect((await call(new Client(server.url), 'POST', '/api/auth/reset', { token, password: 'another-long-passphrase' })).status).toBe(400);
    expect((await call(admin, 'POST', '/api/admin/users', { email: email.toUpperCase(), role: 'user' })).status).toBe(409);
  });

  test('search and page', async () => {
    const tag = crypto.randomUUID().slice(0, 6);
    for (let i = 0; i < 3; i++) await call(admin, 'POST', '/api/admin/users', { email: `pg${tag}-${i}@example.test`, role: 'user' });
    const first = await call(admin, 'GET', `/api/admin/users?q=pg${tag}&limit=2`);
    expect(first.body.users).toHaveLength(2);
    expect(first.body.nextCursor).toBeString();
    const second = await call(admin, 'GET', `/api/admin/users?q=pg${tag}&limit=2&before=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.users).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    expect(second.body.users[0].quota).toMatchObject({ balance: null });
    // A LIKE wildcard is a literal.
    expect((await call(admin, 'GET', '/api/admin/users?q=%25')).body.users).toHaveLength(0);
  });

  test('disable ends sessions and replies in flight at once; enable lets the account sign in again', async () => {
    const u = await invited('user');
    const thread = await newThread(u.client);
    fake.chat.script({ hang: true });
    const res = await u.client.request('POST', `/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'long one' });
    const stream = new SseReader(res);
    await stream.until('start');
    const off = await call(admin, 'PATCH', `/api/admin/users/${u.id}`, { disabled: true });
    expect(off.body.user.disabled).toBe(true);
    // The open stream ends at once; the reply is stored cancelled, never left streaming.
    const t0 = performance.now();
    const end = await stream.all();
    expect(performance.now() - t0).toBeLessThan(2000);
    const replyId = end.find((e) => e.event === 'start')!.data.message!.id;
    await eventually(async () => {
      const [row] = await server.db.sql<{ status: string }[]>`select status from messages where id = ${replyId}`;
      expect(row!.status).toBe('cancelled');
    });
    expect((await call(u.client, 'GET', '/api/threads')).status).toBe(401);
    expect((await call(new Client(server.url), 'POST', '/api/auth/login', { email: u.email, password: u.password })).status).toBe(401);
    await call(admin, 'PATCH', `/api/admin/users/${u.id}`, { disabled: false });
    expect((await call(new Client(server.url), 'POST', '/api/auth/login', { email: u.email, password: u.password })).status).toBe(200);
  });

  test('role change takes effect on the next request', async () => {
    const u = await invited('user');
    expect((await call(u.client, 'POST', '/api/images', { prompt: 'x' })).status).not.toBe(403);
    await call(admin, 'PATCH', `/api/admin/users/${u.id}`, { role: 'restricted' });
    expect((await call(u.client, 'POST', '/api/images', { prompt: 'x' })).status).toBe(403);
    expect((await call(u.client, 'GET', '/api/admin/users')).status).toBe(403);
    await call(admin, 'PATCH', `/api/admin/users/${u.id}`, { role: 'admin' });
    expect((await call(u.client, 'GET', '/api/admin/users')).status).toBe(200);
    await call(admin, 'PATCH', `/api/admin/users/${u.id}`, { role: 'user' });
  });

  test('password-reset link: one-time, ends the other sessions', async () => {
    const u = await invited('user');
    const link = await call(admin, 'POST', `/api/admin/users/${u.id}/password-reset`);
    expect(link.status).toBe(201);
    expect(new Date(link.body.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    const token = new URL(link.body.url).hash.slice('#reset='.length);
    const other = new Client(server.url);
    expect((await call(other, 'POST', '/api/auth/reset', { token, password: 'brand-new-passphrase' })).status).toBe(200);
    expect((await call(u.client, 'GET', '/api/threads')).status).toBe(401);
    expect((await call(other, 'GET', '/api/threads')).status).toBe(200);
    expect((await call(admin, 'POST', `/api/admin/users/${crypto.randomUUID()}/password-reset`)).status).toBe(404);
  });

  test('the last active admin cannot be demoted, disabled or deleted (409 last_admin)', async () => {
    for (const change of [{ role: 'user' }, { disabled: true }]) {
      const res = await call(admin, 'PATCH', `/api/admin/users/${adminId}`, change);
      expect([res.status, res.body.error.code]).toEqual([409, 'last_admin']);
    }
    const del = await call(admin, 'DELETE', `/api/admin/users/${adminId}`);
    expect([del.status, del.body.error.code]).toEqual([409, 'last_admin']);
    // With a second admin, one may go.
    const second = await invited('admin', 'second');
    const gone = await call(second.client, 'DELETE', `/api/admin/users/${second.id}`);
    expect(gone.status).toBe(204);
    expect((await call(admin, 'PATCH', `/api/admin/users/${adminId}`, { role: 'user' })).status).toBe(409);
    // Two admins demoting each other at once: one wins.
    const third = await invited('admin', 'third');
    const [a, b] = await Promise.all([
      call(admin, 'PATCH', `/api/admin/users/${third.id}`, { role: 'user' }),
      call(third.client, 'PATCH', `/api/admin/users/${adminId}`, { role: 'user' }),
    ]);
    // The loser gets 409 last_admin, or 403 when the winner's change landed before its own
    // request was checked (it is no longer an admin by then); never both through, never a 500.
    const statuses = [a.status, b.status].sort();
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]!);
    const admins = await server.db.sql`select id from users where role = 'admin' and not disabled`;
    expect(admins.length).toBe(1);
    if (admins[0]!.id !== adminId) {
      // The other one won: put things back for the next tests.
      await call(third.client, 'PATCH', `/api/admin/users/${adminId}`, { role: 'admin' });
    }
    expect((await call(admin, 'DELETE', `/api/admin/users/${crypto.randomUUID()}`)).status).toBe(404);
  });
});

describe('quotas', () => {
  test('an unlimited account (no hold set aside) is refused at once when the admin gives it a balance of 0', async () => {
    const u = await invited('user');
    const q0 = await call(u.client, 'GET', '/api/quota');
    expect(q0.body.quota.balance).toBeNull();
    const thread = await newThread(u.client);
    const first = await reply(u.client, thread.id);
    expect(first.status).toBe(200);
    expect(fake.chat.requests.length).toBe(1);
    await call(admin, 'PUT', `/api/admin/users/${u.id}/quota`, { balance: 0 });
    const refused = await reply(u.client, thread.id);
    expect([refused.status, (refused as { body: any }).body?.error?.code]).toEqual([429, 'quota_exceeded']);
    expect(fake.chat.requests.length).toBe(1);
  });

  test('429 quota_exceeded before the provider is called, with a plain message; GET /api/quota', async () => {
    const r = await invited('restricted');
    const q0 = await call(r.client, 'GET', '/api/quota');
    expect(q0.body.quota).toMatchObject({ balance: 100000, grant: 100000, period: 'month' });
    const set = await call(admin, 'PUT', `/api/admin/users/${r.id}/quota`, { balance: 0 });
    expect(set.body.quota.balance).toBe(0);
    const thread = await newThread(r.client);
    const res = await reply(r.client, thread.id);
    expect(res.status).toBe(429);
    expect((res as { body: any }).body.error.code).toBe('quota_exceeded');
    expect((res as { body: any }).body.error.message).toMatch(/allowance; it renews on \d+ \w+ \d{4}/);
    expect(fake.chat.requests.length).toBe(0);
    await call(admin, 'PUT', `/api/admin/users/${r.id}/quota`, { balance: 5000 });
    const ok = await reply(r.client, thread.id);
    expect(ok.status).toBe(200);
    const q1 = await call(r.client, 'GET', '/api/quota');
    expect(q1.body.quota.balance).toBeLessThan(5000);
    expect(q1.body.used.tokensIn + q1.body.used.tokensOut).toBe(5000 - q1.body.quota.balance);
    expect(await ledgerSum(r.id)).toBe(q1.body.quota.balance);
  });

  test('images and speech are debited too', async () => {
    const u = await invited('user');
    await call(admin, 'PUT', `/api/admin/users/${u.id}/quota`, { balance: 10 });
    const image = await call(u.client, 'POST', '/api/images', { prompt: 'a red square' });
    expect(image.status).toBe(201);
    const after = Number(await balance(u.id));
    expect(after).toBeLessThan(0);
    const again = await call(u.client, 'POST', '/api/images', { prompt: 'a red square' });
    expect([again.status, again.body.error.code]).toEqual([429, 'quota_exceeded']);
    expect(fake.received('/images/generations').length).toBe(1);
    const kinds = await server.db.sql<{ source: string }[]>`select source from quota_transactions where user_id = ${u.id} and kind = 'debit'`;
    expect(kinds.map((k) => k.source)).toEqual(['image']);
  });

  test('50 concurrent replies against a small balance, on two server instances, go at most one reply below zero', async () => {
    const r = await invited('restricted');
    await call(admin, 'PUT', `/api/admin/users/${r.id}/quota`, { balance: 40 });
    // A second instance of the app on the same database (its own connection pool).
    const db2 = await openDatabase(server.config.db);
    const app2 = createApp({ config: server.config, sql: embedded ? server.db.sql : db2.sql });
    app2.listen({ port: 0, hostname: '127.0.0.1' });
    try {
      const other = new Client(`http://127.0.0.1:${app2.server!.port}`);
      other.cookies = new Map(r.client.cookies);
      const threads = await Promise.all(Array.from({ length: 5 }, () => newThread(r.client)));
      fake.chat.defaults.chunkDelayMs = 5;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => reply(i % 2 ? other : r.client, threads[i % 5]!.id, `question ${i}`)),
      );
      fake.chat.defaults.chunkDelayMs = 0;
      const done = results.filter((x) => x.status === 200);
      const refused = results.filter((x) => x.status === 429);
      expect(done.length + refused.length).toBe(50);
      expect(done.length).toBeGreaterThanOrEqual(1);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(fake.chat.requests.length).toBe(done.length);
      const debits = await server.db.sql<{ tokens: string }[]>`select tokens::text from quota_transactions where user_id = ${r.id} and kind = 'debit'`;
      expect(debits.length).toBe(done.length);
      const largest = Math.max(...debits.map((d) => -Number(d.tokens)));
      const final = Number(await balance(r.id));
      expect(final).toBeGreaterThan(-largest);
      expect(await ledgerSum(r.id)).toBe(final);
      // Every account's ledger sums to its balance.
      const mismatched = await server.db.sql`
        select q.user_id from quotas q
        where q.balance is not null
          and q.balance <> (select coalesce(sum(tokens), 0) from quota_transactions t where t.user_id = q.user_id)`;
      expect(mismatched).toHaveLength(0);
    } finally {
      await app2.stop(true);
      await db2.close();
    }
  }, 60_000);

  test('the period grant refills the balance with a grant transaction', async () => {
    const r = await invited('restricted');
    await call(admin, 'PUT', `/api/admin/users/${r.id}/quota`, { balance: -5, grant: 300, period: 'day' });
    await server.db.sql`update quotas set next_grant_at = now() - interval '1 minute' where user_id = ${r.id}`;
    const q = await call(r.client, 'GET', '/api/quota');
    expect(q.body.quota.balance).toBe(300);
    expect(new Date(q.body.quota.nextGrantAt).getTime()).toBeGreaterThan(Date.now());
    const tx = await call(admin, 'GET', `/api/admin/transactions?userId=${r.id}&kind=grant`);
    expect(tx.body.transactions[0]).toMatchObject({ kind: 'grant', tokens: 305, balanceAfter: 300 });
    expect(await ledgerSum(r.id)).toBe(300);
  });
});

describe('usage', () => {
  test('usage by day, user and model, with prices, CSV, transactions and a written summary', async () => {
    const u = await invited('user', 'Spender');
    const thread = await newThread(u.client);
    fake.chat.script({ text: 'Some answer', usage: { input: 1000, output: 500 } });
    expect((await reply(u.client, thread.id)).status).toBe(200);
    const model = 'openai:gpt-4o-mini';
    expect((await call(admin, 'PUT', '/api/admin/prices', { [model]: { input: 2, output: 10 } })).status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    const byUser = await call(admin, 'GET', `/api/admin/usage?from=${today}&to=${today}&groupBy=user`);
    const row = byUser.body.rows.find((x: { key: string }) => x.key === u.id);
    expect(row).toMatchObject({ label: 'Spender', tokensIn: 1000, tokensOut: 500, replies: 1, cost: 0.007 });
    const byModel = await call(admin, 'GET', `/api/admin/usage?from=${today}&to=${today}&groupBy=model`);
    expect(byModel.body.rows.some((x: { key: string }) => x.key === model)).toBe(true);
    const byDay = await call(admin, 'GET', `/api/admin/usage?from=${today}&to=${today}`);
    expect(byDay.body.rows[0].key).toBe(today);
    expect(byDay.body.totals.tokensIn).toBeGreaterThanOrEqual(1000);
    const byMonth = await call(admin, 'GET', `/api/admin/usage?from=${today}&to=${today}&groupBy=month`);
    expect(byMonth.body.rows[0]).toMatchObject({ key: today.slice(0, 7), tokensIn: byDay.body.totals.tokensIn });
    expect(byMonth.body.rows[0].label).toMatch(/^[A-Z][a-z]+ \d{4}$/);
    const csv = await admin.get(`/api/admin/usage?from=${today}&to=${today}&groupBy=user&format=csv`);
    expect(csv.headers.get('content-type')).toStartWith('text/csv');
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toBe('key,label,tokensIn,tokensOut,replies,cost');
    expect(text).toContain(`${u.id},Spender,1000,500,1,0.007`);
    const bad = await call(admin, 'GET', `/api/admin/usage?from=yesterday&to=${today}`);
    expect(bad.status).toBe(400);
    const tx = await call(admin, 'GET', `/api/admin/transactions?userId=${u.id}&kind=debit&from=${today}&to=${today}`);
    expect(tx.body.transactions[0]).toMatchObject({ kind: 'debit', tokens: -1500, tokensIn: 1000, tokensOut: 500, model });
    fake.chat.script({ text: 'Spending was flat; Spender used gpt-4o-mini.' });
    const summary = await call(admin, 'POST', '/api/admin/usage/summary', { from: today, to: today });
    expect(summary.body.summary).toBe('Spending was flat; Spender used gpt-4o-mini.');
    expect(JSON.stringify(fake.chat.requests.at(-1)!.messages)).toContain('Spender');
  });
});

describe('flags', () => {
  test('a user flags a reply in their own thread; someone else cannot; admins review', async () => {
    const u = await invited('user');
    const thread = await newThread(u.client);
    const res = await reply(u.client, thread.id, 'tell me something');
    const assistant = (res as { events: { event: string; data: any }[] }).events.find((e) => e.event === 'done')!.data.message;
    const user = (res as { events: { event: string; data: any }[] }).events.find((e) => e.event === 'user')!.data.message;
    const stranger = (await signUp(server.url, 'stranger')).client;
    expect((await call(stranger, 'POST', `/api/messages/${assistant.id}/flag`, { reason: 'x' })).status).toBe(404);
    expect((await call(u.client, 'POST', `/api/messages/${user.id}/flag`, { reason: 'x' })).status).toBe(400);
    expect((await call(u.client, 'POST', `/api/messages/${assistant.id}/flag`, { reason: '' })).status).toBe(400);
    const flagged = await call(u.client, 'POST', `/api/messages/${assistant.id}/flag`, { reason: 'Made up a fact' });
    expect(flagged.status).toBe(201);
    expect(flagged.body.flag).toMatchObject({ messageId: assistant.id, threadId: thread.id, status: 'open', reason: 'Made up a fact' });
    const open = await call(admin, 'GET', '/api/admin/flags?status=open');
    expect(open.body.flags.map((f: { id: string }) => f.id)).toContain(flagged.body.flag.id);
    const detail = await call(admin, 'GET', `/api/admin/flags/${flagged.body.flag.id}`);
    expect(detail.body.context.map((m: { id: string }) => m.id)).toEqual([user.id, assistant.id]);
    expect(detail.body.reporter.id).toBe(u.id);
    const done = await call(admin, 'PATCH', `/api/admin/flags/${flagged.body.flag.id}`, { status: 'resolved' });
    expect(done.body.flag.status).toBe('resolved');
    expect((await call(admin, 'GET', '/api/admin/flags?status=resolved')).body.flags.map((f: { id: string }) => f.id)).toContain(flagged.body.flag.id);
    expect((await call(u.client, 'GET', '/api/admin/flags')).status).toBe(403);
    expect((await call(admin, 'PATCH', `/api/admin/flags/${crypto.randomUUID()}`, { status: 'resolved' })).status).toBe(404);
  });
});

describe('integration API', () => {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  function token(claims: Record<string, unknown>, secret = SECRET, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }) {
    const head = `${b64(header)}.${b64(claims)}`;
    return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
  }
  const fresh = () => ({ exp: Math.floor(Date.now() / 1000) + 120, jti: crypto.randomUUID() });
  const put = (id: string, body: unknown, bearer: string) =>
    fetch(`${server.url}/api/integration/users/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('creates, then updates an account and its quota; each token once', async () => {
    const ext = `crm-${crypto.randomUUID().slice(0, 8)}`;
    const email = `${ext}@example.test`;
    const t1 = token(fresh());
    const made = await put(ext, { email, name: 'From CRM', role: 'restricted', quota: { balance: 777, grant: 1000, period: 'month' } }, t1);
    expect(made.status).toBe(200);
    const user = (await made.json()).user;
    expect(user).toMatchObject({ email, role: 'restricted', quota: { balance: 777, grant: 1000, period: 'month' } });
    expect((await put(ext, { quota: { balance: 1 } }, t1)).status).toBe(401); // replayed
    const updated = await put(ext, { name: 'Renamed', quota: { balance: 50 } }, token(fresh()));
    expect((await updated.json()).user).toMatchObject({ id: user.id, name: 'Renamed', quota: { balance: 50 } });
    const tx = await call(admin, 'GET', `/api/admin/transactions?userId=${user.id}&kind=adjust`);
    expect(tx.body.transactions[0].note).toContain('integration');
    expect((await put(`new-${ext}`, { name: 'no email' }, token(fresh()))).status).toBe(400);
  });

  test('bad signature, alg none, expired, too long-lived, missing jti → 401; nothing changed', async () => {
    const ext = `bad-${crypto.randomUUID().slice(0, 8)}`;
    const body = { email: `${ext}@example.test` };
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      token(fresh(), 'another-secret-of-at-least-32-characters!'),
      `${b64({ alg: 'none' })}.${b64(fresh())}.`,
      token(fresh(), SECRET, { alg: 'HS512' }),
      token({ exp: now - 1, jti: crypto.randomUUID() }),
      token({ exp: now + 3600, jti: crypto.randomUUID() }),
      token({ exp: now + 60 }),
      'not-a-token',
    ];
    for (const t of bad) expect((await put(ext, body, t)).status).toBe(401);
    expect((await fetch(`${server.url}/api/integration/users/${ext}`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
    const [row] = await server.db.sql`select 1 from users where external_id = ${ext}`;
    expect(row).toBeUndefined();
  });

  test('without INTEGRATION_SECRET the routes do not exist (404)', async () => {
    const config = loadConfig({ ...process.env, DATA_DIR: server.config.dataDir, INTEGRATION_SECRET: '', DATABASE_URL: server.config.db.url ?? '' });
    const app = createApp({ config, sql: server.db.sql });
    const res = await app.handle(
      new Request('http://localhost/api/integration/users/x', {
        method: 'PUT',
        headers: { authorization: `Bearer ${token(fresh())}`, 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'x@example.test' }),
      }),
    );
    expect(res.status).toBe(404);
  });
});
