/**
 * The contract is the schemas: every JSON route declares what it answers, and the
 * generated OpenAPI document (/api/openapi.json, rendered at /api/docs) lists every
 * route with its request and response schemas.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { signUp } from '../support/client';
import { startServer, type TestServer } from '../support/server';
import { apiPath } from '../../server/openapi';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
}, 60_000);
afterAll(() => server.stop(), 30_000);

/** Routes that answer no JSON document, each with why; every other route must declare `response`. */
const NOT_JSON: Record<string, string> = {
  'POST /api/threads/:id/messages': 'a reply as server-sent events (ReplyEvent, documented in its detail)',
  'GET /api/messages/:id/stream': 'a reply as server-sent events (ReplyEvent, documented in its detail)',
  'POST /api/messages/:id/regenerate': 'a reply as server-sent events (ReplyEvent, documented in its detail)',
  'GET /api/rooms/:id/events': "a room's events as server-sent events (RoomEvent, documented in its detail)",
  'GET /api/files/:id': "a file's bytes",
  'GET /api/shares/:code/files/:id': "a shared file's bytes",
  'POST /api/voice/speech': 'audio bytes, streamed',
  'GET /s/:code': 'the HTML share page with Open Graph tags',
  'GET /api/docs': 'the HTML rendering of the OpenAPI document',
  'GET /*': "the web app's files and its index.html fallback",
  'GET /api/auth/oidc/:id/start': 'a 302 redirect to the identity provider',
  'GET /api/auth/oidc/:id/callback': 'a 302 redirect to returnTo (or /login?error=) with the session cookies',
};

/** Routes the document leaves out: the document itself and the web app's files. */
const UNDOCUMENTED = new Set(['GET /api/openapi.json', 'GET /api/docs', 'GET /*']);

type Hooks = { response?: unknown; body?: unknown; detail?: { requestBody?: unknown; responses?: unknown } };
const routes = () =>
  server.app.routes.map((r) => ({ key: `${r.method} ${r.path}`, method: r.method, path: r.path, hooks: (r.hooks ?? {}) as Hooks }));

/** The success schemas a route declares (status-keyed or a single schema). */
function successSchemas(response: unknown): unknown[] {
  if (!response || typeof response !== 'object') return [];
  const keys = Object.keys(response);
  const statusKeyed = keys.length > 0 && keys.every((k) => /^\d{3}$/.test(k));
  if (!statusKeyed) return [response];
  return Object.entries(response as Record<string, unknown>)
    .filter(([status]) => status.startsWith('2'))
    .map(([, schema]) => schema);
}

describe('contract', () => {
  test('every JSON route declares its response schema', () => {
    const missing = routes()
      .filter((r) => !(r.key in NOT_JSON))
      .filter((r) => successSchemas(r.hooks.response).length === 0)
      .map((r) => r.key);
    expect(missing).toEqual([]);
  });

  test('the allow-list names only routes that exist and declare no JSON response', () => {
    const byKey = new Map(routes().map((r) => [r.key, r]));
    for (const key of Object.keys(NOT_JSON)) {
      expect(byKey.has(key)).toBe(true);
      expect(successSchemas(byKey.get(key)!.hooks.response)).toEqual([]);
    }
  });

  test('/api/openapi.json lists every route with its request and response schemas', async () => {
    const res = await fetch(`${server.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content?: object }; responses?: Record<string, { content?: object }>; parameters?: { name: string; in: string }[] }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const problems: string[] = [];
    for (const route of routes()) {
      if (UNDOCUMENTED.has(route.key)) continue;
      const path = apiPath(route.path);
      const op = doc.paths[path]?.[route.method.toLowerCase()];
      if (!op) {
        problems.push(`${route.key}: not in the document`);
        continue;
      }
      // A redirect (the identity-provider sign-in routes) succeeds with a 3xx and no body.
      const ok = Object.entries(op.responses ?? {}).filter(([status]) => status.startsWith('2') || status.startsWith('3'));
      if (!ok.length) problems.push(`${route.key}: no success response`);
      for (const [status, response] of ok) {
        if (status !== '204' && !status.startsWith('3') && !response.content) problems.push(`${route.key}: ${status} has no schema`);
      }
      const takesBody = route.hooks.body !== undefined || route.hooks.detail?.requestBody !== undefined;
      if (takesBody && !op.requestBody?.content) problems.push(`${route.key}: no request body schema`);
      for (const [, name] of route.path.matchAll(/:([^/]+)/g)) {
        if (!op.parameters?.some((p) => p.in === 'path' && p.name === name)) problems.push(`${route.key}: no parameter ${name}`);
      }
    }
    expect(problems).toEqual([]);
    // A JSON answer's schema is the model's: a thread's times are ISO strings.
    const thread = doc.paths['/api/threads/{id}']!.get!.responses!['200']!.content as Record<string, { schema: unknown }>;
    expect(JSON.stringify(thread['application/json']!.schema)).toContain('"format":"date-time"');
    // Errors share one body.
    expect(doc.paths['/api/threads']!.post!.responses!['400']).toBeDefined();
  });

  test('/api/docs is a readable page with no script, under the CSP', async () => {
    const res = await fetch(`${server.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).not.toContain('<script');
    expect(html).not.toMatch(/https?:\/\/(?!localhost)/);
    for (const path of ['/api/threads/{id}/messages', '/api/sync', '/api/voice/transcriptions', '/api/shares/{code}']) {
      expect(html).toContain(path);
    }
    // The reply stream's events are spelled out, the new `title` event included.
    for (const event of ['user', 'start', 'delta', 'title', 'done', 'error']) expect(html).toContain(`event: &quot;${event}&quot;`);
  });

  test('answers follow their schemas: times are ISO strings, one attachment shape', async () => {
    const { client } = await signUp(server.url);
    const created = await client.json('POST', '/api/threads', { title: 'Contract' });
    expect(created.status).toBe(201);
    const { thread } = created.body;
    expect(typeof thread.createdAt).toBe('string');
    expect(new Date(thread.createdAt).toISOString()).toBe(thread.createdAt);
    const sync = await client.json('GET', '/api/sync');
    expect(sync.body.threads.find((t: { id: string }) => t.id === thread.id)).toEqual(thread);
  });

  test('the web imports the server only as types, so nothing of it (or elysia) ships to the browser', () => {
    const root = join(import.meta.dir, '..', '..', 'web', 'src');
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => /\.(ts|js|svelte)$/.test(f));
    const importsServer = /import\s+([^;]*?)\s+from\s+['"](\$server\/[^'"]+|(?:\.\.\/)+server\/[^'"]+)['"]/g;
    const valueImports: string[] = [];
    let typeImports = 0;
    for (const file of files) {
      for (const [statement, clause] of readFileSync(join(root, file), 'utf8').matchAll(importsServer)) {
        // `import { type X }` would still load the module for its side effects: only `import type` is erased.
        // The one exception is server/common: pure code both sides run (held to no imports below).
        if (clause!.startsWith('type ')) typeImports++;
        else if (!/['"]\$server\/common\//.test(statement)) valueImports.push(`${relative(root, join(root, file))}: ${statement}`);
      }
    }
    expect(valueImports).toEqual([]);
    expect(typeImports).toBeGreaterThan(10);
    // What the web may import as values imports nothing itself, so no server code rides along.
    const common = join(import.meta.dir, '..', '..', 'server', 'common');
    for (const file of readdirSync(common)) expect(readFileSync(join(common, file), 'utf8'), file).not.toMatch(/^\s*(import|export .* from)\s/m);
  });
});
