/**
 * The generated contract: GET /api/openapi.json is the OpenAPI 3.1 document that
 * @elysiajs/openapi builds from every route's schemas, and GET /api/docs renders the
 * same document as a plain HTML page (no script, no CDN: it works offline and under
 * the app's CSP). Also the `detail` helpers for what the generator cannot see by
 * itself: multipart bodies read by hand, event streams and raw bytes.
 */
import { Elysia, t, type TSchema } from 'elysia';
import { restoreElysiaFormats } from './http/formats'; // before the plugin: see there
import { toOpenAPISchema } from '@elysiajs/openapi';
import { ErrorBody } from './http/model';
import { renderDocs, type OpenApiDocument } from './openapi-page';

restoreElysiaFormats();

/** A multipart/form-data request body, for routes that read their body themselves (parse: 'none'). */
export function multipartBody(schema: TSchema) {
  return { required: true, content: { 'multipart/form-data': { schema: plain(schema) } } };
}

/** A text/event-stream answer whose events are `schema` (a union of {event, data}). */
export function eventStreamResponse(schema: TSchema) {
  return {
    responses: {
      200: {
        description:
          'text/event-stream: each event is `event: <event>` and one `data:` line of JSON (the `data` below); `: ping` comments keep it open',
        content: { 'text/event-stream': { schema: plain(schema) } },
      },
      ...errorAnswers([400, 401, 404, 409, 429, 500, 503]),
    },
  };
}

/** Raw bytes with the file's own content type. */
export function bytesResponse(description: string) {
  return {
    responses: {
      200: { description, content: { 'application/octet-stream': { schema: { type: 'string' as const, format: 'binary' } } } },
      ...errorAnswers([400, 401, 404, 500, 503]),
    },
  };
}

/** An HTML page (for people and link previews, not for programs). */
export function htmlPage(description: string) {
  return { responses: { 200: { description, content: { 'text/html': { schema: { type: 'string' as const } } } } } };
}

/** Speech: audio bytes as they stream from the engine. */
export function audioResponse() {
  return {
    responses: {
      200: {
        description: 'The spoken text as audio bytes (audio/mpeg, audio/wav, … as the engine makes it), streamed; Cache-Control: no-store',
        content: { 'audio/*': { schema: { type: 'string' as const, format: 'binary' } } },
      },
      ...errorAnswers([400, 401, 429, 500, 501, 502, 503, 504]),
    },
  };
}

/** A route's path as the document spells it: `{id}` parameters, no trailing slash. */
export const apiPath = (path: string) => path.replace(/:([^/]+)/g, '{$1}').replace(/(.)\/$/, '$1');

/** Before a stream or bytes start, a refusal is an ordinary JSON error body. */
function errorAnswers(statuses: number[]) {
  const body = { description: 'ErrorBody', content: { 'application/json': { schema: plain(ErrorBody) } } };
  return Object.fromEntries(statuses.map((status) => [status, body]));
}

/** A TypeBox schema as plain JSON Schema (its symbol keys dropped). */
const plain = (schema: TSchema) => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

const INFO = {
  title: 'Parley API',
  version: '1',
  description:
    'JSON in and out (camelCase, UUID ids, ISO 8601 times). Errors are `{"error": {code, message, fields?, errorId?}}`. ' +
    'Signed-in routes use the httpOnly session cookies set by /api/auth/register, /login and /refresh. ' +
    'The human-readable contract, with configuration and cookies, is docs/api.md in the repository.',
};

/**
 * The generator's output, tidied: a 204 has no content, and the document says what it is.
 * Built once per set of routes (they do not change after start-up).
 */
function buildDocument(app: Elysia): OpenApiDocument {
  const { paths, components } = toOpenAPISchema(app as never) as unknown as Pick<OpenApiDocument, 'paths' | 'components'>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const noContent = operation.responses?.['204'];
      if (noContent) operation.responses!['204'] = { description: 'No content' };
    }
  }
  // The SPA fallback serves the web app's files, not the API.
  delete paths['/*'];
  // A prefixed plugin's '/' route is registered as '/api/threads/'; clients call '/api/threads'.
  const tidy: OpenApiDocument['paths'] = {};
  for (const [path, operations] of Object.entries(paths)) tidy[apiPath(path)] = { ...tidy[apiPath(path)], ...operations };
  return { openapi: '3.1.0', info: INFO, paths: tidy, components };
}

export function openapiRoutes() {
  let cached: { routes: number; document: OpenApiDocument } | null = null;
  const document = () => {
    // The routes of the whole app (this plugin is mounted last but one), as the generator sees them.
    const routes = (plugin as unknown as { getGlobalRoutes(): unknown[] }).getGlobalRoutes().length;
    if (!cached || cached.routes !== routes) cached = { routes, document: buildDocument(plugin) };
    return cached.document;
  };
  const plugin: Elysia = new Elysia({ name: 'openapi' })
    .get('/api/openapi.json', () => document() as unknown as Record<string, unknown>, {
      response: { 200: t.Record(t.String(), t.Unknown()) },
      detail: { hide: true },
    })
    .get(
      '/api/docs',
      () =>
        new Response(renderDocs(document()), {
          headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' },
        }),
      { detail: { hide: true } },
    ) as unknown as Elysia;
  return plugin;
}
