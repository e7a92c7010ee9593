/**
 * Issue 11, defect 10 (security class 11): property-based fuzzing of every API route's
 * params, query and body with fast-check, signed in and out. Whatever arrives, the answer
 * is never a 5xx of ours (502/504 would be the fake provider's doing) and the process
 * stays up. Regressions it found: page cursors larger than a bigint (every paged route)
 * and a malformed %-escape in a web path.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import fc from 'fast-check';
import { Client } from '../support/client';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { startServer, type TestServer } from '../support/server';
import { newThread } from '../support/threads';

let server: TestServer;
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
  server = await startServer({
    TRUST_PROXY: '1',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'k',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    STT_PROVIDER: 'openai',
    TTS_PROVIDER: 'openai',
    IMAGE_PROVIDER: 'openai',
  });
}, 60_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
}, 30_000);

const uuid = fc.uuid();
/** Strings that broke servers before: escapes, NULs, huge numbers, traversal, lone surrogates. */
const nasty = fc.constantFrom(
  '', '%', '%ff', '%E0%A4%A', '%00', '..', '..%2F..%2Fetc%2Fpasswd', "1' or '1'='1", '-1', '0', '1e309', 'NaN',
  '9'.repeat(40), `${'9'.repeat(30)}_00000000-0000-4000-8000-000000000000`, `99999999999999999_00000000-0000-4000-8000-000000000000`,
  '\uD800', 'null', 'true', '[]', '{}', 'x'.repeat(5000),
);
const segment = fc.oneof(nasty, uuid, fc.string({ maxLength: 40 }).map(encodeURIComponent));
const queryValue = fc.oneof(nasty, fc.string({ maxLength: 60 }), fc.bigInt().map(String), fc.integer().map(String));
const query = fc.dictionary(fc.constantFrom('limit', 'before', 'since', 'q', 'download', 'format', 'threadId', 'x'), queryValue, { maxKeys: 4 });

/** JSON with the fields our routes read, of every wrong type, plus deep and huge values. */
const field = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  nasty,
  fc.string({ maxLength: 300 }),
  fc.constant('x'.repeat(300_000)),
  fc.integer({ min: 1, max: 60 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown),
);
const knownKeys = ['email', 'password', 'name', 'title', 'content', 'id', 'model', 'systemPrompt', 'pinned', 'currentPassword', 'newPassword', 'text', 'voice', 'prompt', 'threadId', 'attachments', 'apiKeys', 'parentId', 'editOf'];
const jsonBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...knownKeys), field, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.integer({ min: 30, max: 100_000 }).map((n) => '{"a":' + '['.repeat(n) + ']'.repeat(n) + '}'),
  fc.string({ maxLength: 200 }),
);
type Body = { bytes: BodyInit | undefined; type: string | null };
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 6, arbitrary: jsonBody.map((text) => ({ bytes: text, type: 'application/json' })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ bytes: b as Uint8Array<ArrayBuffer>, type: 'application/json' })) },
  { weight: 1, arbitrary: fc.constantFrom<Body>(
    { bytes: undefined, type: null },
    { bytes: '', type: 'application/json' },
    { bytes: 'a=1&b=2', type: 'application/x-www-form-urlencoded' },
    { bytes: 'hello', type: 'text/plain' },
    { bytes: '--z\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nxx\r\n--z--\r\n', type: 'multipart/form-data; boundary=z' },
    { bytes: '<x/>', type: 'application/xml' },
  ) },
);

function isOurs5xx(status: number) {
  return status >= 500 && status !== 502 && status !== 504;
}

test('every route, fuzzed params, query and body, signed in and out: never a 5xx of ours, the server stays up', async () => {
  const routes = server.app.routes.filter((r) => r.path.startsWith('/api/'));
  expect(routes.length).toBeGreaterThan(20);
  const email = `fuzz-${crypto.randomUUID()}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  const user = new Client(server.url, { 'x-forwarded-for': '10.3.0.1' });
  expect((await user.json('POST', '/api/auth/register', { email, password })).status).toBe(201);
  const thread = await newThread(user);
  const anon = new Client(server.url, { 'x-forwarded-for': '10.3.0.2' });
  const failures: string[] = [];

  for (const route of routes) {
    // These end the session (or the account) the other routes need: fuzzed without one.
    const destroys = route.path === '/api/auth/logout' || (route.method === 'DELETE' && route.path === '/api/auth/me') || route.path === '/api/auth/password';
    const params = fc.oneof({ weight: 3, arbitrary: segment }, { weight: 1, arbitrary: fc.constant(thread.id) });
    await fc.assert(
      fc.asyncProperty(params, query, body, fc.boolean(), async (param, q, b, signedIn) => {
        const path = route.path.replace(/:[a-zA-Z]+/g, () => param);
        const qs = new URLSearchParams(q).toString();
        const who = signedIn && !destroys ? user : anon;
        const headers: Record<string, string> = b.type ? { 'content-type': b.type } : {};
        const hasBody = route.method !== 'GET' && route.method !== 'HEAD';
        let res: Response;
        try {
          res = await who.request(route.method, path + (qs ? `?${qs}` : ''), hasBody ? b.bytes : undefined, { headers });
        } catch (error) {
          // The URL itself could not be sent (fetch refuses it): not a server answer.
          if (error instanceof TypeError) return;
          throw error;
        }
        const text = await res.text();
        if (isOurs5xx(res.status)) failures.push(`${route.method} ${path.slice(0, 80)}?${qs.slice(0, 80)} [${b.type}] → ${res.status} ${text.slice(0, 160)}`);
        return !isOurs5xx(res.status);
      }),
      { numRuns: 40, seed: 11, endOnFailure: true },
    ).catch(() => {});
  }
  expect(failures).toEqual([]);
  expect((await fetch(server.url + '/api/health')).status).toBe(200);
  expect((await user.json('GET', '/api/auth/me')).status).toBe(200);
}, 300_000);

test('page cursors larger than a bigint are a 400 on every paged route, never a 500', async () => {
  const user = new Client(server.url, { 'x-forwarded-for': '10.3.0.3' });
  expect((await user.json('POST', '/api/auth/register', { email: `c-${crypto.randomUUID()}@example.test`, password: `pw-${crypto.randomUUID()}` })).status).toBe(201);
  const thread = await newThread(user);
  const huge = `${'9'.repeat(25)}_00000000-0000-4000-8000-000000000000`;
  for (const path of ['/api/threads', `/api/threads/${thread.id}/messages`, '/api/shares']) {
    const res = await user.get(`${path}?before=${huge}`);
    expect([path, res.status]).toEqual([path, 400]);
  }
  expect((await user.get(`/api/sync?since=${'9'.repeat(30)}`)).status).toBe(400);
});

test('malformed %-escapes in web paths: a 4xx, never a 500', async () => {
  await fc.assert(
    fc.asyncProperty(fc.stringMatching(/^(\/[a-z%0-9]{0,8}){1,3}$/), async (path) => {
      const res = await fetch(server.url + path).catch(() => null);
      if (!res) return true;
      await res.arrayBuffer();
      return res.status < 500;
    }),
    { numRuns: 200, seed: 11 },
  );
});
