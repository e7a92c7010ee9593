/**
 * Serves the built SPA (web/build) on the same origin as the API.
 * - hashed assets under /_app/immutable/: cached for a year;
 * - index.html, the service worker and the manifest: never cached, so a deploy is seen at once;
 * - any other non-API GET (a deep link like /t/123): the app's index.html.
 * index.html's inline bootstrap script is allowed by its SHA-256 in the CSP,
 * so no page ever needs 'unsafe-inline' for scripts; its stylesheet is written into it (loadShell).
 * Text assets are compressed once per file version and kept in memory (gzip at once;
 * brotli at its best level in the background, served once ready): on a slow phone
 * network the app's first load is mostly transfer time.
 */
import { Elysia } from 'elysia';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { brotliCompress, brotliCompressSync, constants as zlib } from 'node:zlib';
import { join, normalize, resolve, sep } from 'node:path';
import type { Config } from './config';
import { acceptsBrotli, acceptsGzip } from './http/compress';
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

/**
 * The app's stylesheets, written into the shell instead of linked from it. On a phone network the
 * shell arrives a whole round trip before anything it links, and the line is idle meanwhile:
 * CSS in the shell rides in that idle time instead of sharing the line with the app's code
 * (bench/web.ts). Only the build's own hashed files are inlined; the files stay for the worker.
 */
function inlineStylesheets(html: string, root: string): string {
  return html.replace(/<link href="(\/_app\/immutable\/assets\/[\w.-]+\.css)" rel="stylesheet">/g, (tag, href: string) => {
    const file = join(root, href);
    if (!existsSync(file)) return tag;
    const css = readFileSync(file, 'utf8');
    return css.includes('</') ? tag : `<style>${css}</style>`;
  });
}

/** Brotli at its best level: for files compressed once and kept (the shell, the built assets). */
const BROTLI_BEST = { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } };

type Shell = { html: string; csp: string; mtime: number; gzip: Uint8Array<ArrayBuffer>; br: Uint8Array<ArrayBuffer> };
const shells = new Map<string, Shell>();

/** index.html as served (stylesheets inlined, CSP with its scripts' hashes, compressed), once per build. */
export function loadShell(root = WEB_BUILD): Shell | null {
  const file = join(root, 'index.html');
  if (!existsSync(file)) return null;
  const mtime = statSync(file).mtimeMs;
  const hit = shells.get(root);
  if (hit && hit.mtime === mtime) return hit;
  const html = inlineStylesheets(readFileSync(file, 'utf8'), root);
  const hashes = inlineScriptHashes(html);
  const csp = CSP.replace("script-src 'self'", `script-src 'self' ${hashes.join(' ')}`.trim());
  const shell: Shell = {
    html,
    csp,
    mtime,
    gzip: Bun.gzipSync(html) as Uint8Array<ArrayBuffer>,
    br: new Uint8Array(brotliCompressSync(html, BROTLI_BEST)) as Uint8Array<ArrayBuffer>,
  };
  shells.set(root, shell);
  return shell;
}

const COMPRESSIBLE = /\.(js|mjs|css|html|json|svg|webmanifest|txt|map)$/;
const TYPES: Record<string, string> = {
  '.webmanifest': 'application/manifest+json',
};

/** gzip of a file, computed once per (path, mtime). */
const gzipCache = new Map<string, { mtime: number; body: Uint8Array<ArrayBuffer> }>();
function gzipped(path: string, mtime: number): Uint8Array<ArrayBuffer> {
  const hit = gzipCache.get(path);
  if (hit && hit.mtime === mtime) return hit.body;
  const body = Bun.gzipSync(readFileSync(path), { level: 9 }) as Uint8Array<ArrayBuffer>;
  gzipCache.set(path, { mtime, body });
  return body;
}

/** Brotli of a file once it is ready (computed off the request path), else null. */
const brotliCache = new Map<string, { mtime: number; body: Uint8Array<ArrayBuffer> | null }>();
function brotli(path: string, mtime: number): Uint8Array<ArrayBuffer> | null {
  const hit = brotliCache.get(path);
  if (hit && hit.mtime === mtime) return hit.body;
  brotliCache.set(path, { mtime, body: null });
  brotliCompress(readFileSync(path), BROTLI_BEST, (error, out) => {
    const entry = brotliCache.get(path);
    if (entry && entry.mtime === mtime) entry.body = error ? null : (new Uint8Array(out) as Uint8Array<ArrayBuffer>);
  });
  return null;
}

/** An HTML answer; `encoded` is the body already compressed, with its encoding. */
export function htmlResponse(html: string, csp: string, status = 200, encoded?: { body: Uint8Array<ArrayBuffer>; encoding: 'br' | 'gzip' }) {
  return new Response(encoded?.body ?? html, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'content-security-policy': csp,
      vary: 'accept-encoding',
      ...(encoded ? { 'content-encoding': encoded.encoding } : {}),
    },
  });
}

/** The shell in the best encoding the request accepts. */
function shellResponse(shell: Shell, request: Request) {
  const encoded = acceptsBrotli(request) ? { body: shell.br, encoding: 'br' as const } : acceptsGzip(request) ? { body: shell.gzip, encoding: 'gzip' as const } : undefined;
  return htmlResponse(shell.html, shell.csp, 200, encoded);
}

export function webRoutes(config: Config, root = WEB_BUILD) {
  void config;
  let shell = loadShell(root);
  const placeholder = `<!doctype html><meta charset="utf-8"><title>Parley</title>
<p>Parley's server is running. The web app is not built yet: run <code>bun run build</code>.</p>`;

  return new Elysia({ name: 'web' }).get('/*', ({ request, set }) => {
    const url = new URL(request.url);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      // A malformed %-escape is the client's mistake, not ours: 400, never a 500.
      set.status = 400;
      return { error: { code: 'invalid_path', message: 'The path is not valid' } };
    }
    if (path.startsWith('/api/') || path === '/api') {
      set.status = 404;
      return { error: { code: 'not_found', message: 'Not found' } };
    }
    // Rebuilt while running (a deploy in place, or dev): loadShell builds the new shell once; while
    // index.html is missing mid-deploy, the last one stays.
    shell = loadShell(root) ?? shell;
    const gzip = acceptsGzip(request);
    const target = normalize(join(root, path));
    const stat = target.startsWith(root + sep) && path !== '/' && existsSync(target) ? statSync(target) : null;
    if (stat?.isFile()) {
      if (target.endsWith('index.html') && shell) return shellResponse(shell, request);
      const headers: Record<string, string> = {};
      if (path.startsWith('/_app/immutable/')) headers['cache-control'] = 'public, max-age=31536000, immutable';
      else if (NO_CACHE.has(path)) headers['cache-control'] = 'no-cache';
      else headers['cache-control'] = 'public, max-age=3600';
      if (path === '/sw.js') headers['service-worker-allowed'] = '/';
      const file = Bun.file(target);
      const ext = path.slice(path.lastIndexOf('.'));
      headers['content-type'] = TYPES[ext] ?? file.type;
      if (COMPRESSIBLE.test(path) && stat.size > 512) {
        const br = acceptsBrotli(request) ? brotli(target, stat.mtimeMs) : null;
        if (br || gzip) {
          headers['content-encoding'] = br ? 'br' : 'gzip';
          headers.vary = 'accept-encoding';
          return new Response(br ?? gzipped(target, stat.mtimeMs), { headers });
        }
      }
      return new Response(file, { headers });
    }
    if (!shell) return htmlResponse(placeholder, CSP);
    return shellResponse(shell, request);
  });
}
