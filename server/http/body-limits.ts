/**
 * Request bodies are refused before they cost memory (security class 11):
 * - JSON bodies are read under a per-route cap (small for sign-in, 1 MiB elsewhere) on
 *   the bytes actually read, a declared Content-Length over the cap is refused unread,
 *   and nesting deeper than MAX_JSON_DEPTH is refused before JSON.parse builds anything;
 * - text and urlencoded bodies are refused with 415: no route takes them;
 * - routes that read their own body (`parse: 'none'`: the uploads) are left alone, they
 *   cap what they read; a multipart body anywhere else is refused with 415.
 * This hook replaces Elysia's own parser on every route, so nothing is parsed unbounded.
 */
import { Elysia } from 'elysia';
import { HttpError, tooLarge, unsupportedMedia } from '../errors';
import { readBodyCapped } from './body';

export const JSON_BODY_MAX = 1024 * 1024;
/** Sign-in, registration and password routes take a few short strings. */
export const AUTH_BODY_MAX = 16 * 1024;
export const MAX_JSON_DEPTH = 32;

/** The body of a route that reads the request itself, left unread. */
export const UNREAD_BODY = Object.freeze({});

export interface RouteInfo {
  method: string;
  path: string;
  hooks?: { parse?: unknown };
}

/** Routes declared with `parse: 'none'` (they read and cap their own body), as matchers. */
function rawBodyMatcher(routes: () => RouteInfo[]) {
  let compiled: { method: string; pattern: RegExp }[] | null = null;
  return (method: string, pathname: string) => {
    compiled ??= routes()
      .filter((r) => Array.isArray(r.hooks?.parse) && r.hooks.parse.some((p: { fn?: unknown }) => p?.fn === 'none'))
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(`^${r.path.replace(/\/$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}/?$`),
      }));
    return compiled.some((r) => r.method === method && r.pattern.test(pathname));
  };
}

export function jsonCapFor(pathname: string): number {
  return pathname.startsWith('/api/auth/') ? AUTH_BODY_MAX : JSON_BODY_MAX;
}

/** True when the JSON text nests arrays/objects deeper than `max` (strings are skipped). */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

const mediaType = (request: Request) => (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
const isJson = (type: string) => type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
const hasBody = (request: Request) =>
  request.body !== null && request.headers.get('content-length') !== '0';

const tooLargeBody = (max: number) => tooLarge(`The request body is larger than ${Math.round(max / 1024)} KB`);

/** `routes`: the app's routes, read once at the first request (to find the upload routes). */
export function bodyLimits(routes: () => RouteInfo[]) {
  const readsOwnBody = rawBodyMatcher(routes);
  return new Elysia({ name: 'body-limits' })
    .onRequest(({ request }) => {
      if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
      if (!hasBody(request)) return;
      const pathname = new URL(request.url).pathname;
      if (!pathname.startsWith('/api/') || readsOwnBody(request.method, pathname)) return; // uploads cap their own
      const type = mediaType(request);
      // Refused before a byte is read: not JSON, or a declared size over the cap.
      if (!isJson(type)) throw unsupportedMedia('Send JSON (Content-Type: application/json)');
      const declared = Number(request.headers.get('content-length') ?? 'NaN');
      const max = jsonCapFor(pathname);
      if (declared > max) throw tooLargeBody(max);
    })
    .onParse(async ({ request }) => {
      if (readsOwnBody(request.method, new URL(request.url).pathname)) return UNREAD_BODY;
      const type = mediaType(request);
      if (!hasBody(request)) return undefined; // nothing to read: Elysia's empty body
      if (!isJson(type)) throw unsupportedMedia('Send JSON (Content-Type: application/json)');
      const max = jsonCapFor(new URL(request.url).pathname);
      const bytes = await readBodyCapped(request, max, () => tooLargeBody(max));
      if (bytes.byteLength === 0) return {};
      const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
      if (jsonTooDeep(text)) throw new HttpError(400, 'invalid_body', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`, { body: 'is nested too deeply' });
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new HttpError(400, 'invalid_body', 'The request body could not be parsed', { body: 'is not valid JSON' });
      }
    })
    .as('global');
}
