import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client, signUp } from '../support/client';
import { eventually } from '../support/eventually';
import { startServer, type TestServer } from '../support/server';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 60_000); // the embedded database can take several seconds to start
afterAll(() => server.stop(), 30_000);

const strong = () => `Sunny-${crypto.randomUUID().slice(0, 8)}-Meadow`;

describe('registration', () => {
  test('the first account is admin, later ones are users; cookies are httpOnly and SameSite=Lax', async () => {
    const c = new Client(server.url);
    const first = await c.json('POST', '/api/auth/register', { email: 'Admin@Example.test', password: strong(), name: 'Ada' });
    expect(first.status).toBe(201);
    // Stored in its one normalized form (NFKC + case fold): see hardening.test.ts.
    expect(first.body.user).toMatchObject({ email: 'admin@example.test', name: 'Ada', role: 'admin' });
    expect(first.body.user.id).toMatch(/^[0-9a-f-]{36}$/);
    const cookies = first.res.headers.getSetCookie();
    expect(cookies.some((c) => /^parley_access=.+HttpOnly.*SameSite=Lax/i.test(c))).toBe(true);
    expect(cookies.some((c) => /^parley_refresh=.+Path=\/api\/auth.*HttpOnly/i.test(c))).toBe(true);
    expect(cookies.some((c) => /Secure/i.test(c))).toBe(false); // PUBLIC_URL is http here
    const second = await signUp(server.url);
    expect(second.user.role).toBe('user');
  });

  test('duplicate email (any case) is a 409 naming the field', async () => {
    const { email } = await signUp(server.url);
    const res = await new Client(server.url).json('POST', '/api/auth/register', {
      email: email.toUpperCase(),
      password: strong(),
    });
    expect(res.status).toBe(409);
    expect(res.body.error.fields).toHaveProperty('email');
  });

  test('password rules: length 8..128 in characters, common passwords refused', async () => {
    const c = new Client(server.url);
    const cases: [string, RegExp][] = [
      ['short1', /at least 8/],
      ['x'.repeat(129), /at most 128/],
      ['password123', /common/],
      ['iloveyou', /common/],
      ['qwertyuiop', /common/],
    ];
    for (const [password, why] of cases) {
      const res = await c.json('POST', '/api/auth/register', { email: `p${Math.random()}@example.test`, password });
      expect(res.status).toBe(400);
      expect(res.body.error.fields.password).toMatch(why);
    }
    // 8 emoji are 8 characters though 16 UTF-16 units; 128 characters exactly is fine.
    for (const password of ['🎈🎈🎈🎈🎈🎈🎈🎈', 'Ab3$'.repeat(32)]) {
      const res = await c.json('POST', '/api/auth/register', { email: `p${Math.random()}@example.test`, password });
      expect(res.status).toBe(201);
    }
  });

  test('bad email is a 400 with the field', async () => {
    const res = await new Client(server.url).json('POST', '/api/auth/register', { email: 'not-an-email', password: strong() });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toHaveProperty('email');
  });

  test('passwords are stored as Argon2id at or above 19 MiB / 2 iterations', async () => {
    const { email } = await signUp(server.url);
    const [row] = await server.db.sql<{ passwordHash: string }[]>`select password_hash from users where email = ${email}`;
    expect(row!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=1\$/);
    const [, m, t] = row!.passwordHash.match(/m=(\d+),t=(\d+)/)!;
    expect(Number(m)).toBeGreaterThanOrEqual(19456);
    expect(Number(t)).toBeGreaterThanOrEqual(2);
  });
});

describe('sign-in, me, refresh, sign-out', () => {
  test('login with the right password; the same 401 for a wrong password and an unknown email', async () => {
    const { email, password } = await signUp(server.url);
    const c = new Client(server.url);
    expect((await c.json('GET', '/api/auth/me')).status).toBe(401);
    const wrong = await c.json('POST', '/api/auth/login', { email, password: password + 'x' });
    const unknown = await c.json('POST', '/api/auth/login', { email: 'nobody@example.test', password });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    const ok = await c.json('POST', '/api/auth/login', { email: email.toUpperCase(), password });
    expect(ok.status).toBe(200);
    const me = await c.json('GET', '/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(email);
  });

  test('refresh rotates the refresh token; the old one is refused and ends the whole login', async () => {
    const { client } = await signUp(server.url);
    const first = client.cookies.get('parley_refresh')!;
    const r1 = await client.json('POST', '/api/auth/refresh');
    expect(r1.status).toBe(200);
    const second = client.cookies.get('parley_refresh')!;
    expect(second).not.toBe(first);
    expect((await client.json('GET', '/api/auth/me')).status).toBe(200);

    // An attacker replays the first token, after the few seconds' grace two tabs get
    // (hardening.test.ts); the clock is simulated by ageing the rotation.
    await server.db.sql`update refresh_tokens set used_at = now() - interval '1 minute' where used_at is not null`;
    const attacker = new Client(server.url);
    attacker.cookies.set('parley_refresh', first);
    const replay = await attacker.json('POST', '/api/auth/refresh');
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('token_reused');
    // The whole family is revoked: the legitimate holder's current tokens die too.
    expect((await client.json('GET', '/api/auth/me')).status).toBe(401);
    const legit = new Client(server.url);
    legit.cookies.set('parley_refresh', second);
    expect((await legit.json('POST', '/api/auth/refresh')).status).toBe(401);
  });

  test('logout revokes at once, clears cookies and sends Clear-Site-Data', async () => {
    const { client } = await signUp(server.url);
    const access = client.cookies.get('parley_access')!;
    const refresh = client.cookies.get('parley_refresh')!;
    const res = await client.post('/api/auth/logout');
    expect(res.status).toBe(204);
    expect(res.headers.get('clear-site-data')).toContain('"storage"');
    expect(client.cookies.has('parley_access')).toBe(false);
    // A copy of the old cookies is worthless now.
    const copy = new Client(server.url);
    copy.cookies.set('parley_access', access);
    copy.cookies.set('parley_refresh', refresh);
    expect((await copy.json('GET', '/api/auth/me')).status).toBe(401);
    expect((await copy.json('POST', '/api/auth/refresh')).status).toBe(401);
  });

  test('a new login gets new tokens; other logins of the same user keep working', async () => {
    const { client, email, password } = await signUp(server.url);
    const other = new Client(server.url);
    await other.json('POST', '/api/auth/login', { email, password });
    expect(other.cookies.get('parley_access')).not.toBe(client.cookies.get('parley_access'));
    await client.post('/api/auth/logout');
    expect((await other.json('GET', '/api/auth/me')).status).toBe(200);
  });

  test('changing the password ends the other sessions and keeps this one', async () => {
    const { client, email, password } = await signUp(server.url);
    const other = new Client(server.url);
    await other.json('POST', '/api/auth/login', { email, password });
    // Tokens carry whole-second issue times: change the password in a later second than the
    // other login's, so its token is refused for its age and not only for its revoked session.
    const loggedInBy = Math.floor(Date.now() / 1000);
    await eventually(() => Math.floor(Date.now() / 1000) > loggedInBy, { timeout: 2500, message: 'the next second' });
    const wrongCurrent = await client.json('POST', '/api/auth/password', { currentPassword: 'nope', newPassword: strong() });
    expect(wrongCurrent.status).toBe(400);
    expect(wrongCurrent.body.error.fields).toHaveProperty('currentPassword');
    const newPassword = strong();
    const res = await client.json('POST', '/api/auth/password', { currentPassword: password, newPassword });
    expect(res.status).toBe(200);
    expect((await client.json('GET', '/api/auth/me')).status).toBe(200);
    expect((await other.json('GET', '/api/auth/me')).status).toBe(401);
    expect((await other.json('POST', '/api/auth/refresh')).status).toBe(401);
    expect((await new Client(server.url).json('POST', '/api/auth/login', { email, password: newPassword })).status).toBe(200);
  });

  test('a disabled account loses access on the next request', async () => {
    const { client, user } = await signUp(server.url);
    await server.db.sql`update users set disabled = true where id = ${user.id}`;
    expect((await client.json('GET', '/api/auth/me')).status).toBe(401);
    expect((await client.json('POST', '/api/auth/refresh')).status).toBe(401);
  });

  test('delete account removes the user and every session; the email is free again', async () => {
    const { client, email, user } = await signUp(server.url);
    const res = await client.delete('/api/auth/me');
    expect(res.status).toBe(204);
    expect(res.headers.get('clear-site-data')).toBe('"cache", "cookies", "storage"');
    const [count] = await server.db.sql<{ n: number }[]>`
      select (select count(*) from users where id = ${user.id})::int + (select count(*) from sessions where user_id = ${user.id})::int as n`;
    expect(count!.n).toBe(0);
    expect((await client.json('GET', '/api/auth/me')).status).toBe(401);
    const again = await new Client(server.url).json('POST', '/api/auth/register', { email, password: strong() });
    expect(again.status).toBe(201);
  });
});

describe('registration switch', () => {
  test('ALLOW_REGISTRATION=false still lets the first admin in, then refuses sign-up', async () => {
    const closed = await (await import('../support/server')).startServer({ ALLOW_REGISTRATION: 'false' });
    try {
      const first = await new Client(closed.url).json('POST', '/api/auth/register', { email: 'root@example.test', password: strong() });
      expect(first.status).toBe(201);
      expect(first.body.user.role).toBe('admin');
      const second = await new Client(closed.url).json('POST', '/api/auth/register', { email: 'x@example.test', password: strong() });
      expect(second.status).toBe(403);
    } finally {
      await closed.stop();
    }
  }, 30_000); // starts a server of its own: on the embedded database that takes seconds

  test('https PUBLIC_URL sets Secure cookies', async () => {
    const secure = await (await import('../support/server')).startServer({ PUBLIC_URL: 'https://parley.example' });
    try {
      const res = await new Client(secure.url).json('POST', '/api/auth/register', { email: 's@example.test', password: strong() });
      expect(res.res.headers.getSetCookie().every((c) => /;\s*Secure/i.test(c))).toBe(true);
    } finally {
      await secure.stop();
    }
  }, 30_000); // starts a server of its own: on the embedded database that takes seconds
});
