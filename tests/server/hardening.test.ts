/**
 * Issue 11, "Confirmed defects": each attack as it was reproduced against a running
 * server, tried again against a real server and database; each must now fail to get in.
 * (Defect 10, malformed input on every route, is fuzzed in fuzz.test.ts; defects 5 and 11,
 * hostile Markdown, run in a browser: tests/e2e/hostile-markdown.spec.ts.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { ConfigError, loadConfig } from '../../server/config';
import { deriveKey } from '../../server/crypto';
import { normalizeEmail } from '../../server/auth/email';
import { normalizeStoredEmails } from '../../server/auth/queries';
import { jsonTooDeep } from '../../server/http/body-limits';
import { forwardedChain, parseTrustProxy, pickClientIp } from '../../server/http/client';
import { Client, signUp } from '../support/client';
import { eventually } from '../support/eventually';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { makePng } from '../support/fake-provider/images';
import { cookieHeader, rawRequest } from '../support/raw-http';
import { startServer, type TestServer } from '../support/server';
import { SseReader } from '../support/sse';
import { newThread } from '../support/threads';

let fake: FakeProvider;
let server: TestServer;

beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    TRUST_PROXY: '1',
    AUTH_ACCOUNT_LIMIT: '5',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'k',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
  });
}, 60_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
}, 30_000);
afterEach(() => fake.reset());

// Each test its own address as the one proxy in front saw it (TRUST_PROXY=1 takes the right-most entry).
let ipCounter = 0;
const freshIp = () => `10.7.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`;
const behindProxy = (ip = freshIp()) => new Client(server.url, { 'x-forwarded-for': ip });

async function account(client = behindProxy()) {
  const email = `h-${crypto.randomUUID()}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  const res = await client.json('POST', '/api/auth/register', { email, password });
  expect(res.status).toBe(201);
  return { client, email, password, user: res.body.user };
}

function postMessage(client: Client, threadId: string, content: string) {
  return client.request('POST', `/api/threads/${threadId}/messages`, { id: crypto.randomUUID(), content }).then((res) => {
    expect(res.status).toBe(200);
    return new SseReader(res);
  });
}

/** Reads events until the reply has started; returns the assistant message id. */
async function started(stream: SseReader): Promise<string> {
  for (;;) {
    const event = await stream.next();
    if (!event) throw new Error('stream ended before start');
    if (event.event === 'start') return event.data.message!.id;
  }
}

async function messageRow(id: string) {
  const [row] = await server.db.sql<{ status: string; content: string }[]>`select status, content from messages where id = ${id}`;
  return row;
}

describe('1. client IP behind a proxy', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ TRUST_PROXY: '1', AUTH_IP_LIMIT: '5' });
  }, 60_000);
  afterAll(() => limited.stop(), 30_000);

  test('forged left-most X-Forwarded-For entries do not escape the per-IP limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      // The client writes the first entry; the proxy appends the address it really saw.
      const c = new Client(limited.url, { 'x-forwarded-for': `198.18.${i}.${i}, 203.0.113.50` });
      statuses.push((await c.json('POST', '/api/auth/login', { email: `x${i}@example.test`, password: 'whatever-123' })).status);
    }
    expect(statuses.slice(0, 5).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    // Another real client behind the same proxy has its own counter.
    const other = new Client(limited.url, { 'x-forwarded-for': '203.0.113.51' });
    expect((await other.json('POST', '/api/auth/login', { email: 'y@example.test', password: 'whatever-123' })).status).toBe(401);
  });

  test('TRUST_PROXY as hops or trusted CIDRs: the right-most untrusted address is the client', () => {
    const chain = forwardedChain('10.0.0.2', 'forged, 203.0.113.9, 10.1.2.3');
    expect(pickClientIp(chain, parseTrustProxy('false')!)).toBe('10.0.0.2');
    expect(pickClientIp(chain, parseTrustProxy('1')!)).toBe('10.1.2.3');
    expect(pickClientIp(chain, parseTrustProxy('2')!)).toBe('203.0.113.9');
    // More hops than entries: the farthest one there is, never past it.
    expect(pickClientIp(forwardedChain('10.0.0.2', '203.0.113.9'), parseTrustProxy('5')!)).toBe('203.0.113.9');
    const cidrs = parseTrustProxy('10.0.0.0/8, 192.168.1.1, ::1')!;
    expect(pickClientIp(chain, cidrs)).toBe('203.0.113.9');
    // IPv4-mapped IPv6 peers match IPv4 ranges; a lying client cannot add trusted hops on the right.
    expect(pickClientIp(forwardedChain('::ffff:10.0.0.2', '203.0.113.9'), cidrs)).toBe('203.0.113.9');
    expect(pickClientIp(forwardedChain('203.0.113.7', '10.0.0.1'), cidrs)).toBe('203.0.113.7');
    // Not behind a trusted proxy at all: the header is ignored.
    expect(pickClientIp(forwardedChain('198.51.100.4', '1.2.3.4'), cidrs)).toBe('198.51.100.4');
  });

  test('a bad TRUST_PROXY stops start-up naming the variable', () => {
    for (const bad of ['banana', '10.0.0.0/99', '1.2.3.4, nope']) {
      expect(() => loadConfig({ DATA_DIR: server.config.dataDir, TRUST_PROXY: bad })).toThrow(ConfigError);
    }
    expect(parseTrustProxy('true')).toEqual({ kind: 'hops', hops: 1 });
  });
});

describe('2. one email normalisation (NFKC + case fold) for sign-in and limits', () => {
  // Letters whose case or compatibility forms fold differently in JavaScript and PostgreSQL.
  const variants = (local: string) => [
    local.toUpperCase(),
    local.replace('k', '\u212A'), // KELVIN SIGN
    local.replace('s', '\u017F'), // LATIN SMALL LETTER LONG S
    local.replace('k', '\uFF4B'), // FULLWIDTH LATIN SMALL LETTER K
    local.replace('i', '\u0130'), // LATIN CAPITAL LETTER I WITH DOT ABOVE: not the same letter
  ];

  test('every spelling that signs in counts against the same limit; the others are other accounts', async () => {
    const ip = freshIp();
    const local = `kis${Date.now()}`;
    const email = `${local}@example.test`;
    const password = `pw-${crypto.randomUUID()}`;
    expect((await behindProxy(ip).json('POST', '/api/auth/register', { email, password })).status).toBe(201);
    const outcomes: [string, number][] = [];
    for (const v of variants(local)) outcomes.push([v, (await behindProxy(ip).json('POST', '/api/auth/login', { email: `${v}@example.test`, password })).status]);
    // The dotted capital I is a different letter after folding: that spelling is not this account.
    expect(outcomes.map(([, s]) => s)).toEqual([200, 200, 200, 200, 401]);
    // Wrong passwords spread over the spellings share one counter (AUTH_ACCOUNT_LIMIT=5 here).
    const attacker = freshIp();
    const statuses: number[] = [];
    for (const v of [...variants(local).slice(0, 4), local, local.toUpperCase()]) {
      statuses.push((await behindProxy(attacker).json('POST', '/api/auth/login', { email: `${v}@EXAMPLE.test`, password: 'wrong-password' })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    const keys = await server.db.sql<{ key: string }[]>`select key from rate_limits where key like ${`login:account-ip:%${attacker}`}`;
    expect(keys.map((k) => k.key)).toEqual([`login:account-ip:${email}:${attacker}`]);
  });

  test('a registration in another spelling is the same account (409); the stored form is the normalized one', async () => {
    const { email } = await account();
    const res = await behindProxy().json('POST', '/api/auth/register', { email: email.replace(/^h/, 'H').replace('example', 'EXAMPLE'), password: `pw-${crypto.randomUUID()}` });
    expect(res.status).toBe(409);
    expect(normalizeEmail(' Stra\u00DFe@Example.TEST ')).toBe('strasse@example.test');
    expect(normalizeEmail('\u212Aelvin@example.test')).toBe('kelvin@example.test');
    expect(normalizeEmail('\uFF21\uFF22@example.test')).toBe('ab@example.test');
  });

  test('emails stored before normalisation are normalized once at start-up, and sign in', async () => {
    const password = `pw-${crypto.randomUUID()}`;
    const { hashPassword } = await import('../../server/auth/passwords');
    const stored = `\uFF2D\uFF29\uFF38${Date.now()}@Example.test`; // fullwidth "MIX"
    await server.db.sql`insert into users (email, password_hash) values (${stored}, ${await hashPassword(password)})`;
    const result = await normalizeStoredEmails(server.db.sql);
    expect(result.changed).toBeGreaterThanOrEqual(1);
    const [row] = await server.db.sql<{ email: string }[]>`select email from users where email = ${normalizeEmail(stored)}`;
    expect(row?.email).toMatch(/^mix\d+@example\.test$/);
    expect((await behindProxy().json('POST', '/api/auth/login', { email: stored, password })).status).toBe(200);
  });
});

describe('3. memory amplification before authentication', () => {
  test('a 10 MB nested body to the login route is refused before it is read', async () => {
    const hostile = '['.repeat(5_000_000) + ']'.repeat(5_000_000);
    const started = performance.now();
    const declared = await rawRequest(server.url, {
      path: '/api/auth/login',
      headers: { 'content-type': 'application/json', 'content-length': String(hostile.length) },
      body: (function* () {
        for (let i = 0; i < hostile.length; i += 64 * 1024) yield new TextEncoder().encode(hostile.slice(i, i + 64 * 1024));
      })(),
    });
    expect(declared.status).toBe(413);
    expect(declared.sentBeforeResponse).toBeLessThan(1024 * 1024);
    // Without a Content-Length (chunked), the cap holds on the bytes read.
    const chunked = await rawRequest(server.url, {
      path: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      chunked: true,
      body: (function* () {
        for (let i = 0; i < 160; i++) yield new TextEncoder().encode('['.repeat(64 * 1024));
      })(),
    });
    expect(chunked.status).toBe(413);
    expect(chunked.sentBeforeResponse).toBeLessThan(2 * 1024 * 1024);
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await fetch(server.url + '/api/health')).status).toBe(200);
  }, 30_000);

  test('nesting deeper than 32 is refused under the cap, before JSON.parse builds it', async () => {
    const c = behindProxy();
    const deep = await c.request('POST', '/api/auth/login', `{"email":${'['.repeat(40)}${']'.repeat(40)},"password":"x"}`, {
      headers: { 'content-type': 'application/json' },
    });
    expect(deep.status).toBe(400);
    expect((await deep.json()).error.fields.body).toMatch(/nested/);
    expect(jsonTooDeep('{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')).toBe(false); // brackets in strings are text
    expect(jsonTooDeep('[[["\\"[[[["]]]')).toBe(false);
  });

  test('JSON routes refuse text, form and multipart bodies with 415; JSON stays capped at 1 MiB elsewhere', async () => {
    const { client } = await account();
    const thread = await newThread(client);
    for (const [type, body] of [
      ['text/plain', '{"title":"x"}'],
      ['application/x-www-form-urlencoded', 'title=x'],
      ['multipart/form-data; boundary=zzz', '--zzz\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--zzz--\r\n'],
    ] as const) {
      const res = await client.request('PATCH', `/api/threads/${thread.id}`, body, { headers: { 'content-type': type } });
      expect([type, res.status]).toEqual([type, 415]);
      expect((await res.json()).error.code).toBe('unsupported_media_type');
    }
    const big = await client.request('PATCH', `/api/threads/${thread.id}`, { title: 'x', systemPrompt: 'y'.repeat(1_100_000) });
    expect(big.status).toBe(413);
    // The upload routes still take multipart (their own caps apply).
    const form = new FormData();
    form.set('file', new File([makePng(2, 2, [9, 9, 9])], 'x.png', { type: 'image/png' }));
    expect((await client.request('POST', '/api/files', form)).status).toBe(201);
  });
});

describe('4. ownership before any effect', () => {
  test("DELETE of another user's thread is a 404 and leaves their running reply alone, stored complete", async () => {
    const alice = await account();
    const mallory = await account();
    const thread = await newThread(alice.client);
    const text = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    fake.chat.script({ text, chunkDelayMs: 20 });
    const stream = await postMessage(alice.client, thread.id, 'write a lot');
    const assistantId = await started(stream);
    expect((await mallory.client.request('DELETE', `/api/threads/${thread.id}`)).status).toBe(404);
    await stream.all();
    expect(stream.events.at(-1)!.event).toBe('done');
    expect(await messageRow(assistantId)).toEqual({ status: 'complete', content: text });
  });

  test('a reply stopped for any reason is never stored complete', async () => {
    const alice = await account();
    const thread = await newThread(alice.client);
    fake.chat.script({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 20 });
    const stream = await postMessage(alice.client, thread.id, 'long');
    const assistantId = await started(stream);
    await stream.next(); // some text arrived
    server.app.generations.get(assistantId)!.stop('thread deleted');
    await stream.all();
    // Cut short: `cancelled` (the user's stop) or `error` with the reason (any other stop), never `complete`.
    const ended = stream.events.at(-1)!.data.message!.status;
    expect(['cancelled', 'error']).toContain(ended);
    expect((await messageRow(assistantId))!.status).toBe(ended);
  });
});

describe('6. current-password checks are limited; deleting the account needs the password', () => {
  test('a stolen session cannot guess the password through POST /api/auth/password', async () => {
    const { client, password } = await account();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await client.json('POST', '/api/auth/password', { currentPassword: `guess-${i}`, newPassword: `pw-${crypto.randomUUID()}` })).status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    // The right password is refused too now: the limit answers before any check.
    const blocked = await client.json('POST', '/api/auth/password', { currentPassword: password, newPassword: `pw-${crypto.randomUUID()}` });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('DELETE /api/auth/me from a session older than a few minutes needs the password', async () => {
    const { client, password, user } = await account();
    await server.db.sql`update sessions set created_at = now() - interval '1 hour' where user_id = ${user.id}`;
    const bare = await client.json('DELETE', '/api/auth/me');
    expect(bare.status).toBe(403);
    expect(bare.body.error.code).toBe('password_required');
    const wrong = await client.json('DELETE', '/api/auth/me', { password: 'not-it-at-all' });
    expect(wrong.status).toBe(400);
    expect((await client.json('GET', '/api/auth/me')).status).toBe(200); // still there
    expect((await client.json('DELETE', '/api/auth/me', { password })).status).toBe(204);
    expect((await server.db.sql`select 1 from users where id = ${user.id}`).length).toBe(0);
  });
});

describe('7. open reply streams end with their session', () => {
  async function streaming(client: Client) {
    const thread = await newThread(client);
    fake.chat.script({ text: Array.from({ length: 400 }, (_, i) => `w${i}`).join(' '), chunkDelayMs: 15 });
    const stream = await postMessage(client, thread.id, 'keep talking');
    const assistantId = await started(stream);
    await stream.next();
    return { stream, assistantId };
  }

  /** Reads to the end; returns how long the stream went on after `since`. */
  async function endsWithin(stream: SseReader, ms: number) {
    const timer = setTimeout(() => stream.res.body?.cancel().catch(() => {}), 10_000);
    const since = performance.now();
    await stream.all().catch(() => {});
    clearTimeout(timer);
    expect(performance.now() - since).toBeLessThan(ms);
  }

  test('sign-out ends the stream at once; no chunk arrives after it', async () => {
    const { client } = await account();
    const { stream, assistantId } = await streaming(client);
    expect((await client.request('POST', '/api/auth/logout')).status).toBe(204);
    const at = performance.now();
    await endsWithin(stream, 1000);
    expect(stream.events.filter((e) => e.at > at + 50)).toEqual([]);
    expect(server.app.streams.size).toBe(0);
    // The reply itself still ends properly (not left streaming).
    await eventually(async () => expect((await messageRow(assistantId))!.status).not.toBe('streaming'), { timeout: 15_000 });
  }, 30_000);

  test("a password change ends the other sessions' streams, not this one's", async () => {
    const first = await account();
    const second = behindProxy();
    expect((await second.json('POST', '/api/auth/login', { email: first.email, password: first.password })).status).toBe(200);
    const other = await streaming(second);
    const res = await first.client.json('POST', '/api/auth/password', { currentPassword: first.password, newPassword: `pw-${crypto.randomUUID()}` });
    expect(res.status).toBe(200);
    await endsWithin(other.stream, 1000);
    expect((await second.json('GET', '/api/auth/me')).status).toBe(401);
  }, 30_000);

  test('disabling the account leaves no message streaming', async () => {
    const { client, user } = await account();
    const { stream, assistantId } = await streaming(client);
    await server.db.sql`update users set disabled = true where id = ${user.id}`;
    await endsWithin(stream, 3000);
    await eventually(async () => expect((await messageRow(assistantId))!.status).toBe('cancelled'), { timeout: 5000 });
  }, 30_000);

  test('the hook an admin route calls on disabling stops a reply still waiting for its first token', async () => {
    const { client, user } = await account();
    const thread = await newThread(client);
    fake.chat.script({ hang: true });
    const stream = await postMessage(client, thread.id, 'hello?');
    const assistantId = await started(stream);
    await server.db.sql`update users set disabled = true where id = ${user.id}`;
    await server.app.hooks.afterAccountDisabled(user.id);
    await endsWithin(stream, 2000);
    await eventually(async () => expect((await messageRow(assistantId))!.status).toBe('cancelled'), { timeout: 5000 });
  }, 30_000);
});

describe('8. brute force stays slow without locking the owner out', () => {
  test('an attacker exhausting the account from many addresses does not lock out a device that signed in before', async () => {
    const owner = await account();
    const ownerDevice = owner.client.cookies.get('parley_device');
    expect(ownerDevice).toBeTruthy();
    // Ten bad attempts every five minutes from everywhere: the account-wide ceiling (25 here) fills.
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      statuses.push((await behindProxy().json('POST', '/api/auth/login', { email: owner.email, password: `guess-${i}` })).status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    // A new device is held back by the ceiling...
    expect((await behindProxy().json('POST', '/api/auth/login', { email: owner.email, password: owner.password })).status).toBe(429);
    // ...the owner's own browser is not, even from a new address.
    const again = behindProxy();
    again.cookies.set('parley_device', ownerDevice!);
    expect((await again.json('POST', '/api/auth/login', { email: owner.email, password: owner.password })).status).toBe(200);
    // A device cookie of another account (or forged) is worth nothing here.
    const forged = behindProxy();
    forged.cookies.set('parley_device', `${ownerDevice!.split('.')[0]}.AAAA`);
    expect((await forged.json('POST', '/api/auth/login', { email: owner.email, password: owner.password })).status).toBe(429);
    // The known device is itself limited: guessing from it is as slow as from anywhere.
    const thief = behindProxy();
    thief.cookies.set('parley_device', again.cookies.get('parley_device')!);
    const fromDevice: number[] = [];
    for (let i = 0; i < 6; i++) fromDevice.push((await thief.json('POST', '/api/auth/login', { email: owner.email, password: `guess-${i}` })).status);
    expect(fromDevice).toEqual([401, 401, 401, 401, 401, 429]);
  }, 30_000);
});

describe('9. two tabs refreshing at once', () => {
  test('both get the same session; a replay after the grace window still revokes the whole login', async () => {
    const { client, user } = await account();
    const refresh = client.cookies.get('parley_refresh')!;
    const tab = () => {
      const c = new Client(server.url);
      c.cookies.set('parley_refresh', refresh);
      return c;
    };
    const [a, b] = [tab(), tab()];
    const [ra, rb] = await Promise.all([a.json('POST', '/api/auth/refresh'), b.json('POST', '/api/auth/refresh')]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect((await a.json('GET', '/api/auth/me')).status).toBe(200);
    expect((await b.json('GET', '/api/auth/me')).status).toBe(200);
    const sessions = await server.db.sql`select id from sessions where user_id = ${user.id} and revoked_at is null`;
    expect(sessions.length).toBe(1);
    // Later, the old token again: that is a stolen copy.
    await server.db.sql`update refresh_tokens set used_at = now() - interval '1 minute' where token_hash = ${new Bun.CryptoHasher('sha256').update(refresh).digest('hex')}`;
    const replay = await tab().json('POST', '/api/auth/refresh');
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('token_reused');
    expect((await a.json('GET', '/api/auth/me')).status).toBe(401);
    expect((await b.json('POST', '/api/auth/refresh')).status).toBe(401);
  });
});

describe('12. no caching of authenticated answers', () => {
  test('every authenticated API answer says Cache-Control: no-store', async () => {
    const { client } = await account();
    const thread = await newThread(client);
    const paths = ['/api/auth/me', '/api/threads', `/api/threads/${thread.id}`, `/api/threads/${thread.id}/messages`, '/api/settings', '/api/models', '/api/sync', '/api/shares', '/api/voice'];
    for (const path of paths) {
      const res = await client.get(path);
      expect([path, res.status, res.headers.get('cache-control')]).toEqual([path, 200, 'no-store']);
    }
    // Streams and file bytes too.
    const stream = await postMessage(client, thread.id, 'hi');
    expect(stream.res.headers.get('cache-control')).toContain('no-store');
    await stream.all();
    // And errors.
    expect((await client.get('/api/threads/00000000-0000-4000-8000-000000000000')).headers.get('cache-control')).toBe('no-store');
  });
});

describe('also', () => {
  test('a JWT without exp is refused, even correctly signed', async () => {
    const { client, user } = await account();
    const [, payload] = client.cookies.get('parley_access')!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const key = new Uint8Array(Buffer.from(deriveKey(server.config.auth.secret, 'jwt-access').toString('base64url')));
    const forever = await new SignJWT({ sub: user.id, sid: claims.sid, typ: 'access', iss: 'parley', iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(key);
    const c = new Client(server.url);
    c.cookies.set('parley_access', forever);
    expect((await c.json('GET', '/api/auth/me')).status).toBe(401);
    // Control: the same claims with an exp pass.
    const bounded = await new SignJWT({ sub: user.id, sid: claims.sid, typ: 'access', iss: 'parley', iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(key);
    c.cookies.set('parley_access', bounded);
    expect((await c.json('GET', '/api/auth/me')).status).toBe(200);
  });

  test('DATA_DIR is its owner\'s only: the directory 0700 (nothing inside reachable by others), the secret 0600', async () => {
    const { client } = await account();
    const form = new FormData();
    form.set('file', new File([makePng(2, 2, [1, 2, 3])], 'dot.png', { type: 'image/png' }));
    expect((await client.request('POST', '/api/files', form)).status).toBe(201);
    const dir = server.config.dataDir;
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'app-secret')).mode & 0o777).toBe(0o600);
    // An existing, too-open directory is narrowed at start-up.
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o755);
    loadConfig({ DATA_DIR: dir });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).length).toBeGreaterThan(0);
  });

  test('a malformed %-escape in a web path is a 400, not a 500', async () => {
    for (const path of ['/%E0%A4%A', '/t/%', '/%ff%fe', '/s/%C0%AF']) {
      const res = await rawRequest(server.url, { method: 'GET', path, headers: {} });
      expect([path, res.status < 500]).toEqual([path, true]);
    }
  });

  test('cookies of the raw client helper stay usable (sanity for the raw requests above)', async () => {
    const { client } = await account();
    const res = await rawRequest(server.url, { method: 'GET', path: '/api/auth/me', headers: { cookie: cookieHeader(client) } });
    expect(res.status).toBe(200);
  });
});
