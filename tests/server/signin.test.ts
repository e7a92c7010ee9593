/**
 * Signing in beyond a password, against real things: a real OpenID Provider (panva's
 * oidc-provider, tests/support/oidc-provider.ts) through its own login and consent pages,
 * real PostgreSQL, the real server. Passkeys need a browser's authenticator: see
 * tests/e2e/passkeys.spec.ts (Chromium's CDP virtual authenticator); here only what needs none.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client, signUp } from '../support/client';
import { freePort } from '../support/ports';
import { startServer, type TestServer } from '../support/server';
import { CookieJar, signInThrough, step, startOidcProvider, type Hop, type TestOidcProvider } from '../support/oidc-provider';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { newThread } from '../support/threads';
import { SseReader } from '../support/sse';
import { eventually } from '../support/eventually';

let op: TestOidcProvider;
let server: TestServer;
let fake: FakeProvider;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  op = await startOidcProvider({ redirectUris: [`${base}/api/auth/oidc/oidc/callback`, `${base}/api/auth/oidc/corp/callback`] });
  fake = await startFakeProvider();
  server = await startServer({
    PORT: String(port),
    PUBLIC_URL: base,
    OIDC_ISSUER: op.issuer,
    OIDC_CLIENT_ID: op.clientId,
    OIDC_CLIENT_SECRET: op.clientSecret,
    OIDC_NAME: 'Test IdP',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'k',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
  });
  // The first account is the admin; the tests below are about everyone after it.
  await signUp(base, 'first-admin');
}, 60_000);
afterAll(async () => {
  await server.stop();
  await op.stop();
  fake.stop();
}, 30_000);

/** Signs in through the provider as `login`, from Parley's start route; returns Parley's client and the hops. */
async function oidcSignIn(login: string, providerId = 'oidc', returnTo = '/chat?x=1') {
  const jar = new CookieJar();
  const start = `${base}/api/auth/oidc/${providerId}/start?returnTo=${encodeURIComponent(returnTo)}`;
  const result = await signInThrough(jar, start, login, { stopAt: (u) => u.origin === base && !u.pathname.startsWith('/api/') });
  const client = new Client(base);
  for (const name of ['parley_access', 'parley_refresh']) {
    const value = jar.get(new URL(base).host, name);
    if (value) client.cookies.set(name, value);
  }
  return { ...result, client, jar };
}

const lastLocation = (hops: Hop[]) => hops.at(-1)?.location ?? '';

describe('OpenID Connect', () => {
  test('providers lists the environment provider by name', async () => {
    const res = await fetch(`${base}/api/auth/providers`);
    const body = (await res.json()) as { oidc: { id: string; name: string }[]; passkeys: boolean };
    expect(body.oidc).toEqual([{ id: 'oidc', name: 'Test IdP' }]);
    expect(body.passkeys).toBe(true);
  });

  test('a first sign-in creates the account and returns to the same-origin path with cookies', async () => {
    op.accounts['alice'] = { email: 'alice@idp.test', email_verified: true, name: 'Alice' };
    const { hops, final, client } = await oidcSignIn('alice');
    expect(final).toBe(`${base}/chat?x=1`);
    // Start → provider's authorization endpoint with PKCE S256, state and nonce.
    const auth = new URL(hops[0]!.location!);
    expect(hops[0]!.status).toBe(302);
    expect(auth.origin).toBe(op.issuer);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(auth.searchParams.get('state')).toBeTruthy();
    expect(auth.searchParams.get('nonce')).toBeTruthy();
    expect(auth.searchParams.get('redirect_uri')).toBe(`${base}/api/auth/oidc/oidc/callback`);
    // The provider's own login and consent forms were posted.
    expect(hops.filter((h) => h.method === 'POST').length).toBeGreaterThanOrEqual(2);
    const callback = hops.find((h) => h.url.startsWith(`${base}/api/auth/oidc/oidc/callback`))!;
    expect(new URL(callback.url).searchParams.get('code')).toBeTruthy();
    expect(callback.status).toBe(302);
    const me = await client.json('GET', '/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: 'alice@idp.test', name: 'Alice', role: 'user' });
    // Again: the same account, found by (provider, subject).
    const again = await oidcSignIn('alice');
    expect((await again.client.json('GET', '/api/auth/me')).body.user.id).toBe(me.body.user.id);
  });

  test('returnTo accepts same-origin paths only', async () => {
    op.accounts['bob'] = { email: 'bob@idp.test', email_verified: true };
    for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
      const { final } = await oidcSignIn('bob', 'oidc', evil);
      expect(final).toBe(`${base}/`);
    }
  });

  test('a verified email links to the existing account; an unverified one never takes it over', async () => {
    const owner = await signUp(base, 'owner');
    op.accounts['mallory'] = { email: owner.email, email_verified: false };
    const bad = await oidcSignIn('mallory');
    expect(bad.final).toBe(`${base}/login?error=unverified_email`);
    expect((await bad.client.get('/api/auth/me')).status).toBe(401);

    op.accounts['owner-at-idp'] = { email: owner.email.toUpperCase(), email_verified: true };
    const good = await oidcSignIn('owner-at-idp');
    expect((await good.client.json('GET', '/api/auth/me')).body.user.id).toBe(owner.user.id);
    // The password still works, and mallory's subject is not linked.
    const login = await new Client(base).json('POST', '/api/auth/login', { email: owner.email, password: owner.password });
    expect(login.status).toBe(200);
    const again = await oidcSignIn('mallory');
    expect(again.final).toBe(`${base}/login?error=unverified_email`);
  });

  test('state mismatch: a callback with another state, or without the cookie, is refused', async () => {
    op.accounts['carol'] = { email: 'carol@idp.test', email_verified: true };
    const jar = new CookieJar();
    // Run to the callback but do not follow it.
    const run = await signInThrough(jar, `${base}/api/auth/oidc/oidc/start`, 'carol', {
      stopAt: (u) => u.pathname.endsWith('/callback'),
    });
    const callback = new URL(run.final);
    const hops: Hop[] = [];
    // Another browser (no state cookie) presenting this callback: refused.
    const stranger = await step(new CookieJar(), hops, callback.href);
    expect(stranger.location).toBe(`${base}/login?error=state_mismatch`);
    // The right browser with a tampered state: refused.
    const tampered = new URL(callback);
    tampered.searchParams.set('state', 'x' + tampered.searchParams.get('state'));
    expect((await step(jar, hops, tampered.href)).location).toBe(`${base}/login?error=state_mismatch`);
    expect(jar.get(new URL(base).host, 'parley_access')).toBeUndefined();
  });

  test('replay: a used callback (its state, nonce and code) cannot sign in again', async () => {
    op.accounts['dave'] = { email: 'dave@idp.test', email_verified: true };
    const jar = new CookieJar();
    const run = await signInThrough(jar, `${base}/api/auth/oidc/oidc/start`, 'dave', { stopAt: (u) => u.pathname.endsWith('/callback') });
    const stateCookie = jar.get(new URL(base).host, 'parley_oidc')!;
    const hops: Hop[] = [];
    const first = await step(jar, hops, run.final);
    expect(first.location).toBe(`${base}/`);
    // An attacker with the same URL and the state cookie replays it.
    const replayJar = new CookieJar();
    replayJar.set(new URL(base).host, 'parley_oidc', stateCookie);
    const replay = await step(replayJar, hops, run.final);
    expect(replay.location).toBe(`${base}/login?error=state_mismatch`);
    expect(replayJar.get(new URL(base).host, 'parley_access')).toBeUndefined();
  });

  test("a code from another sign-in (someone else's nonce and PKCE verifier) is refused", async () => {
    op.accounts['erin'] = { email: 'erin@idp.test', email_verified: true };
    const victim = new CookieJar();
    const a = await signInThrough(victim, `${base}/api/auth/oidc/oidc/start`, 'erin', { stopAt: (u) => u.pathname.endsWith('/callback') });
    const codeA = new URL(a.final).searchParams.get('code')!;
    // The attacker starts its own sign-in (valid state B, nonce B) and injects code A.
    const attacker = new CookieJar();
    const hops: Hop[] = [];
    const started = await step(attacker, hops, `${base}/api/auth/oidc/oidc/start`);
    const stateB = new URL(started.location!).searchParams.get('state')!;
    const injected = await step(attacker, hops, `${base}/api/auth/oidc/oidc/callback?code=${encodeURIComponent(codeA)}&state=${stateB}&iss=${encodeURIComponent(op.issuer)}`);
    expect(injected.location).toBe(`${base}/login?error=provider_error`);
    expect(attacker.get(new URL(base).host, 'parley_access')).toBeUndefined();
  });

  test('an ID token signed by another key is refused', async () => {
    op.accounts['frank'] = { email: 'frank@idp.test', email_verified: true };
    op.forgeIdTokens = true;
    try {
      const { final, client } = await oidcSignIn('frank');
      expect(final).toBe(`${base}/login?error=provider_error`);
      expect((await client.get('/api/auth/me')).status).toBe(401);
    } finally {
      op.forgeIdTokens = false;
    }
  });

  test('a user the admin has disabled cannot sign in through the provider', async () => {
    op.accounts['grace'] = { email: 'grace@idp.test', email_verified: true };
    const first = await oidcSignIn('grace');
    const id = (await first.client.json('GET', '/api/auth/me')).body.user.id;
    await server.db.sql`update users set disabled = true where id = ${id}`;
    const again = await oidcSignIn('grace');
    expect(again.final).toBe(`${base}/login?error=account_disabled`);
  });
});

describe('identity providers from the admin console', () => {
  let admin: Client;
  beforeAll(async () => {
    const a = await signUp(base, 'console-admin');
    await server.db.sql`update users set role = 'admin' where id = ${a.user.id}`;
    admin = a.client;
  });

  test('only admins manage providers; the secret never comes back', async () => {
    const user = await signUp(base, 'plain');
    expect((await user.client.get('/api/admin/sign-in')).status).toBe(403);
    expect((await user.client.post('/api/admin/sign-in/providers', { id: 'x', name: 'X', issuer: op.issuer, clientId: 'c' })).status).toBe(403);
    const created = await admin.json('POST', '/api/admin/sign-in/providers', {
      id: 'corp',
      name: 'Corp SSO',
      issuer: op.issuer,
      clientId: op.clientId,
      clientSecret: op.clientSecret,
      signup: 'create',
      roleClaim: 'groups',
      roleMap: { 'parley-admins': 'admin', kids: 'restricted' },
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(op.clientSecret);
    expect(created.body.provider).toMatchObject({ id: 'corp', hasSecret: true, redirectUri: `${base}/api/auth/oidc/corp/callback` });
    const listed = (await (await fetch(`${base}/api/auth/providers`)).json()) as { oidc: { id: string }[] };
    expect(listed.oidc.map((p) => p.id)).toEqual(['oidc', 'corp']);
  });

  test('an http issuer is accepted only on a loopback address', async () => {
    for (const issuer of ['http://idp.example.com', 'http://10.0.0.5', 'ftp://127.0.0.1']) {
      const res = await admin.post('/api/admin/sign-in/providers', { id: 'bad', name: 'Bad', issuer, clientId: 'c' });
      expect(res.status).toBe(400);
    }
  });

  test('a claim maps to a role on first sign-in', async () => {
    op.accounts['kid'] = { email: 'kid@idp.test', email_verified: true, groups: ['kids'] };
    const { client } = await oidcSignIn('kid', 'corp');
    expect((await client.json('GET', '/api/auth/me')).body.user.role).toBe('restricted');
  });

  test('a disabled provider is not offered and its routes refuse', async () => {
    expect((await admin.patch('/api/admin/sign-in/providers/corp', { enabled: false })).status).toBe(200);
    const listed = (await (await fetch(`${base}/api/auth/providers`)).json()) as { oidc: { id: string }[] };
    expect(listed.oidc.map((p) => p.id)).toEqual(['oidc']);
    const hops: Hop[] = [];
    const res = await step(new CookieJar(), hops, `${base}/api/auth/oidc/corp/start`);
    expect(res.location).toBe(`${base}/login?error=provider_disabled`);
    await admin.patch('/api/admin/sign-in/providers/corp', { enabled: true });
  });

  test('invite-only: an unknown email gets no account', async () => {
    await admin.patch('/api/admin/sign-in/providers/corp', { signup: 'invited' });
    op.accounts['stranger'] = { email: 'stranger@idp.test', email_verified: true };
    const { final } = await oidcSignIn('stranger', 'corp');
    expect(final).toBe(`${base}/login?error=not_invited`);
    const [row] = await server.db.sql`select count(*)::int as n from users where email = 'stranger@idp.test'`;
    expect(row!.n).toBe(0);
    await admin.patch('/api/admin/sign-in/providers/corp', { signup: 'create' });
  });

  test('a wrong issuer (discovery names another) is refused', async () => {
    // The same provider reached as "localhost": its discovery document says 127.0.0.1.
    const wrong = op.issuer.replace('127.0.0.1', 'localhost');
    await admin.post('/api/admin/sign-in/providers', { id: 'wrong', name: 'Wrong', issuer: wrong, clientId: op.clientId, clientSecret: op.clientSecret });
    const res = await step(new CookieJar(), [], `${base}/api/auth/oidc/wrong/start`);
    expect(res.location).toBe(`${base}/login?error=provider_error`);
    expect((await admin.delete('/api/admin/sign-in/providers/wrong')).status).toBe(204);
  });
});

describe('sessions and devices', () => {
  test('lists the sessions, current marked, and signs one device out at once', async () => {
    const { client: phone, email, password } = await signUp(base, 'devices');
    const laptop = new Client(base, { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15' });
    expect((await laptop.post('/api/auth/login', { email, password })).status).toBe(200);
    const list = await laptop.json('GET', '/api/auth/sessions');
    expect(list.status).toBe(200);
    expect(list.body.sessions).toHaveLength(2);
    const current = list.body.sessions.find((s) => s.current)!;
    expect(current.device).toBe('Safari on Mac');
    const other = list.body.sessions.find((s) => !s.current)!;
    expect((await laptop.delete(`/api/auth/sessions/${other.id}`)).status).toBe(204);
    expect((await phone.get('/api/auth/me')).status).toBe(401);
    expect((await phone.post('/api/auth/refresh')).status).toBe(401);
    expect((await laptop.get('/api/auth/me')).status).toBe(200);
  });

  test("someone else's session is 404 and stays signed in", async () => {
    const a = await signUp(base, 'sess-a');
    const b = await signUp(base, 'sess-b');
    const theirs = (await b.client.json('GET', '/api/auth/sessions')).body.sessions[0]!;
    expect((await a.client.delete(`/api/auth/sessions/${theirs.id}`)).status).toBe(404);
    expect((await a.client.delete('/api/auth/sessions/not-a-uuid')).status).toBe(400);
    expect((await b.client.get('/api/auth/me')).status).toBe(200);
    expect((await new Client(base).get('/api/auth/sessions')).status).toBe(401);
  });

  test('"sign out all other devices" ends their open reply streams at once', async () => {
    const { client: other, email, password } = await signUp(base, 'streams');
    const here = new Client(base);
    await here.post('/api/auth/login', { email, password });
    fake.chat.script({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 50 });
    const thread = await newThread(other);
    const res = await other.post(`/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'a long one' });
    const reader = new SseReader(res);
    await reader.next();
    expect(server.app.streams.size).toBeGreaterThan(0);
    const began = performance.now();
    expect((await here.delete('/api/auth/sessions')).status).toBe(204);
    // The stream ends now, not when the reply finishes (~10 s).
    await reader.all();
    expect(performance.now() - began).toBeLessThan(2000);
    expect((await other.get('/api/auth/me')).status).toBe(401);
    expect((await here.get('/api/auth/me')).status).toBe(200);
    const sessions = (await here.json('GET', '/api/auth/sessions')).body.sessions;
    expect(sessions).toHaveLength(1);
  }, 30_000);
});

describe('signing out', () => {
  test('ends this session’s open reply streams at once', async () => {
    const { client } = await signUp(base, 'logout-stream');
    fake.chat.script({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 50 });
    const thread = await newThread(client);
    const res = await client.post(`/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content: 'long' });
    const reader = new SseReader(res);
    await reader.next();
    const began = performance.now();
    const streamClient = new Client(base);
    streamClient.cookies = new Map(client.cookies);
    expect((await streamClient.post('/api/auth/logout')).status).toBe(204);
    await reader.all();
    expect(performance.now() - began).toBeLessThan(2000);
  }, 30_000);
});

describe('guests', () => {
  test('off by default: no guest sessions', async () => {
    const res = await new Client(base).post('/api/auth/guest');
    expect(res.status).toBe(403);
  });

  test('an admin switches guests on; a guest registering keeps its threads', async () => {
    const a = await signUp(base, 'guest-admin');
    await server.db.sql`update users set role = 'admin' where id = ${a.user.id}`;
    const user = await signUp(base, 'not-admin');
    expect((await user.client.put('/api/admin/sign-in', { allowGuests: true })).status).toBe(403);
    expect((await a.client.put('/api/admin/sign-in', { allowGuests: true })).status).toBe(200);
    const providers = (await (await fetch(`${base}/api/auth/providers`)).json()) as { guests: boolean };
    expect(providers.guests).toBe(true);

    const guest = new Client(base);
    const made = await guest.json('POST', '/api/auth/guest');
    expect(made.status).toBe(201);
    expect(made.body.user.role).toBe('guest');
    const thread = await newThread(guest, { title: 'Guest thoughts' });
    const email = `from-guest-${Date.now()}@example.test`;
    const reg = await guest.json('POST', '/api/auth/register', { email, password: `pw-${crypto.randomUUID()}`, name: 'Was Guest' });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({ id: made.body.user.id, email, role: 'user' });
    const threads = await guest.json('GET', '/api/threads');
    expect(threads.body.threads.map((t) => t.id)).toContain(thread.id);
    await a.client.put('/api/admin/sign-in', { allowGuests: false });
  });

  test('a guest cannot share or save its own provider keys', async () => {
    await server.db.sql`update signin_settings set allow_guests = true`;
    const guest = new Client(base);
    expect((await guest.post('/api/auth/guest')).status).toBe(201);
    const thread = await newThread(guest);
    const share = await guest.json('POST', `/api/threads/${thread.id}/share`);
    expect(share.status).toBe(403);
    const [shares] = await server.db.sql`select count(*)::int as n from shares where thread_id = ${thread.id}`;
    expect(shares!.n).toBe(0);
    expect((await guest.put('/api/settings', { openaiKey: 'sk-guest-key-1234567890' })).status).toBe(403);
    await server.db.sql`update signin_settings set allow_guests = null`;
  });

  test('guests unused for 30 days are deleted with their data', async () => {
    await server.db.sql`update signin_settings set allow_guests = true`;
    const idle = new Client(base);
    const made = await idle.json('POST', '/api/auth/guest');
    await newThread(idle);
    const fresh = new Client(base);
    const kept = await fresh.json('POST', '/api/auth/guest');
    await server.db.sql`update users set last_seen_at = now() - interval '31 days', created_at = now() - interval '40 days' where id = ${made.body.user.id}`;
    expect(await server.app.sweepIdleGuests()).toBeGreaterThanOrEqual(1);
    const rows = await server.db.sql`select id from users where id in ${server.db.sql([made.body.user.id, kept.body.user.id])}`;
    expect(rows.map((r) => r.id)).toEqual([kept.body.user.id]);
    const threads = await server.db.sql`select count(*)::int as n from threads where user_id = ${made.body.user.id}`;
    expect(threads[0]!.n).toBe(0);
    await server.db.sql`update signin_settings set allow_guests = null`;
  });
});

describe('password reset without SMTP_URL', () => {
  test('no "Forgot password" email: 404, and the providers say so', async () => {
    const body = (await (await fetch(`${base}/api/auth/providers`)).json()) as { passwordReset: boolean };
    expect(body.passwordReset).toBe(false);
    expect((await new Client(base).post('/api/auth/forgot', { email: 'a@example.test' })).status).toBe(404);
  });
});

describe('passkeys without an authenticator', () => {
  test('options need a session to register; a made-up assertion is refused', async () => {
    expect((await new Client(base).post('/api/auth/passkeys/register/options')).status).toBe(401);
    const { client } = await signUp(base, 'pk');
    const opts = await client.json('POST', '/api/auth/passkeys/register/options');
    expect(opts.status).toBe(200);
    expect(opts.body.challenge).toBeTruthy();
    const loginOpts = await new Client(base).json('POST', '/api/auth/passkeys/login/options');
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: loginOpts.body.challenge, origin: base })).toString('base64url');
    const res = await new Client(base).post('/api/auth/passkeys/login/verify', {
      response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON, authenticatorData: 'AA', signature: 'AA' }, clientExtensionResults: {} },
    });
    expect(res.status).toBe(401);
    expect((await client.delete(`/api/auth/passkeys/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await client.json('GET', '/api/auth/passkeys')).body.passkeys).toEqual([]);
  });

  test('a 100,000-deep JSON body is refused (400, or 413 for its size), not a stack overflow (found by the fuzz test)', async () => {
    const { client } = await signUp(base, 'pk-deep');
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    for (const path of ['/api/auth/passkeys/register/verify', '/api/auth/passkeys/login/verify']) {
      for (const body of [deep, `{"response":${deep}}`]) {
        const res = await client.request('POST', path, body, { headers: { 'content-type': 'application/json' } });
        expect([400, 413]).toContain(res.status);
      }
    }
  });

  test("someone else's passkey: not listed, not removable (404), still there", async () => {
    const a = await signUp(base, 'pk-owner');
    const b = await signUp(base, 'pk-other');
    const [row] = await server.db.sql<{ id: string }[]>`
      insert into passkeys (user_id, credential_id, public_key, name) values (${a.user.id}, ${'cred-' + crypto.randomUUID()}, ${Buffer.from([1, 2, 3])}, 'A key')
      returning id`;
    expect((await b.client.json('GET', '/api/auth/passkeys')).body.passkeys).toEqual([]);
    expect((await b.client.delete(`/api/auth/passkeys/${row!.id}`)).status).toBe(404);
    expect((await a.client.json('GET', '/api/auth/passkeys')).body.passkeys.map((p) => p.id)).toEqual([row!.id]);
    expect((await a.client.delete(`/api/auth/passkeys/${row!.id}`)).status).toBe(204);
  });
});
