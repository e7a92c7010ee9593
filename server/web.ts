/**
 * Serves the built SPA (web/build) on the same origin as the API.
 * - hashed assets under /_app/immutable/: cached for a year;
 * - index.html, the service worker and the manifest: never cached, so a deploy is seen at once;
 * - any other non-API GET (a deep link like /t/123): the app's index.html.
 * index.html's inline bootstrap script is allowed by its SHA-256 in the CSP,
 * so no page ever needs 'unsafe-inline' for scripts.
 */
import { Elysia } from 'elysia';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, normalize, resolve, sep } from 'node:path';
import type { Config } from './config';
import { CSP } from './http/security';

export const WEB_BUILD = resolve(import.meta.dir, '..', 'web', 'build');

const NO_CACHE = new Set(['/index.html', '/sw.js', '/manifest.webmanifest', '/registerSW.js']);

function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)) {
    const body = match[1] ?? '';
    if (!body.trim()) continue;
    hashes.push(`'sha256-${new Bun.CryptoHasher('sha256').update(body).digest('base64')}'`);
  }
  return hashes;
}

export function loadShell(root = WEB_BUILD) {
  const file = join(root, 'index.html');
  if (!existsSync(file)) return null;
  const html = readFileSync(file, 'utf8');
  const hashes = inlineScriptHashes(html);
  const csp = CSP.replace("script-src 'self'", `script-src 'self' ${hashes.join(' ')}`.trim());
  return { html, csp };
}

export function htmlResponse(html: string, csp: string, status = 200) {
  return new Response(html, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'content-security-policy': csp,
    },
  });
}

export function webRoutes(config: Config, root = WEB_BUILD) {
  void config;
  let shell = loadShell(root);
  const placeholder = `<!doctype html><meta charset="utf-8"><title>Parley</title>
<p>Parley's server is running. The web app is not built yet: run <code>bun run build</code>.</p>`;

  return new Elysia({ name: 'web' }).get('/*', ({ request, set }) => {
    const url = new URL(request.url);
    const path = decodeURIComponent(url.pathname);
    if (path.startsWith('/api/') || path === '/api') {
      set.status = 404;
      return { error: { code: 'not_found', message: 'Not found' } };
    }
    // Rebuilt while running (dev): pick up the new shell.
    if (!shell || process.env.NODE_ENV !== 'production') shell = loadShell(root) ?? shell;
    const target = normalize(join(root, path));
    if (target.startsWith(root + sep) && path !== '/' && existsSync(target) && statSync(target).isFile()) {
      if (target.endsWith('index.html') && shell) return htmlResponse(shell.html, shell.csp);
      const headers: Record<string, string> = {};
      if (path.startsWith('/_app/immutable/')) headers['cache-control'] = 'public, max-age=31536000, immutable';
      else if (NO_CACHE.has(path)) headers['cache-control'] = 'no-cache';
      else headers['cache-control'] = 'public, max-age=3600';
      if (path === '/sw.js') headers['service-worker-allowed'] = '/';
      return new Response(Bun.file(target), { headers });
    }
    if (!shell) return htmlResponse(placeholder, CSP);
    return htmlResponse(shell.html, shell.csp);
  });
}
