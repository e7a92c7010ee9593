/**
 * Content codings. The API's JSON answers go gzipped when worth it: a thread of 200 messages is
 * about 200 KB of JSON, over a phone network that moves about 180 KB/s. Responses a route builds
 * itself (reply streams, files, images, audio, the HTML shell) are left as they are: each manages
 * its own encoding (GET /api/sync gzips its pages itself, under mayGzip's rules).
 */
import { Elysia } from 'elysia';

/** Whether the client takes this coding (`Accept-Encoding`; `*` counts, a q of 0 refuses it). */
function accepts(request: Request, coding: string): boolean {
  const header = request.headers.get('accept-encoding') ?? '';
  return header.split(',').some((part) => {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (name !== coding && name !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  });
}

export const acceptsGzip = (request: Request) => accepts(request, 'gzip');
export const acceptsBrotli = (request: Request) => accepts(request, 'br');

/**
 * Below this a JSON answer goes as is: gzip saves at most a few hundred bytes there (a
 * 150-byte answer comes out about as large, header and trailer included), which is less than the
 * answer's own headers and nothing a phone notices, for a compression call on every request.
 */
export const GZIP_MIN_BYTES = 1024;

/**
 * Level 3: about 1.6 ms for a thread's 200 KB of JSON, 3.2 times smaller; the default (6) takes
 * about 2.6 ms for 3% fewer bytes, and the call holds up every other request meanwhile.
 */
const GZIP_LEVEL = 3;

/**
 * BREACH: the size of a compressed answer tells how well its secrets compress against text an
 * attacker put beside them (a shared room's message, a title). A request another site started
 * (a top-level navigation carries the Lax session cookie) gets no compression, so its size leaks
 * nothing. The app's own requests say same-origin; clients that are not browsers send no
 * Sec-Fetch-Site.
 */
function sameOrigin(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  return site === null || site === 'same-origin';
}

/** Whether an answer holding an account's data may go gzipped to this request. */
export const mayGzip = (request: Request) => request.method !== 'HEAD' && acceptsGzip(request) && sameOrigin(request);

/** What Elysia would send as JSON: a plain object or an array (not a Response, file, stream or generator). */
function isJsonValue(value: unknown): value is object {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Every route's JSON answer of 1 KB or more, gzipped when the request takes it and is not
 * cross-site. The status and the headers already set (security headers, cache-control,
 * set-cookie) stay: Elysia merges `set` into the Response returned here.
 */
export const compressJson = new Elysia({ name: 'compress-json' }).mapResponse(
  { as: 'global' },
  ({ request, responseValue, set }) => {
    if (!isJsonValue(responseValue) || set.status === 204 || set.status === 304) return;
    const json = JSON.stringify(responseValue);
    if (json.length < GZIP_MIN_BYTES) return;
    // Plain or not, the answer depended on Accept-Encoding; and the JSON is made: it goes from here.
    set.headers.vary = set.headers.vary ? `${set.headers.vary}, accept-encoding` : 'accept-encoding';
    const gzip = mayGzip(request);
    if (gzip) set.headers['content-encoding'] = 'gzip';
    return new Response(gzip ? Bun.gzipSync(json, { level: GZIP_LEVEL }) : json, {
      headers: { 'content-type': 'application/json;charset=utf-8' },
    });
  },
);
