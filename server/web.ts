/**
 * Serves the built SPA (web/build) on the same origin as the API.
 * - hashed assets under /_app/immutable/: cached for a year;
 * - index.html, the service worker and the manifest: never cached, so a deploy is seen at once;
 * - any other non-API GET (a deep link like /t/123): the app's index.html.
 * index.html's inline bootstrap script is allowed by its SHA-256 in the CSP,
 * so no page ever needs 'unsafe-inline' for scripts; its stylesheet is written into it (loadShell),
 * and a page the browser opens carries the first-load code too (inlineModules).
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
/** The shell with the app's code in it is made per response (its nonce): brotli at a quick level (about 8 ms for 300 KB). */
const BROTLI_QUICK = { params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } };

/** Where a response's nonce goes in the shell with the app's code in it. */
const NONCE = '%parley.nonce%';
/** Where the page's origin goes in the modules' absolute URLs (a blob: URL is no base even for "/x"). */
const ORIGIN = '%parley.origin%';

/**
 * The first-load modules (the ones index.html preloads: the entry, the app chunk, the bundler's
 * runtime), written into the shell. On a phone network the shell arrives a whole round trip
 * before anything it links: with the code inside, the app starts one round trip sooner (about
 * 560 ms on bench:web's profile). Each module's text rides in a hidden <textarea> (its content is
 * text to the HTML parser: nothing in it can end it early or run); a small script turns each
 * into a blob: URL and adds an import map from the module's own URL to it, so every import of
 * that URL (the entry's, and the lazy chunks' own static imports) gets this one instance. The
 * import map is an inline script made at run time, allowed by the response's nonce, and the
 * blob: modules by `blob:` in script-src; neither markup nor another origin can make a blob: URL.
 * A blob: URL has no directory, so the modules' relative imports and `import.meta.url` are
 * written as the file's own absolute URL here. The files stay for the service worker (whose
 * shell links them), for browsers without import maps (the script then leaves the page as it
 * was: the entry's import fetches the files), and a module that cannot be written in (a missing
 * file, a use of import.meta this does not know) leaves the shell linking them all.
 */
const INLINE_BOOT =
  "(function(){var s=document.currentScript,t=document.querySelectorAll('textarea[data-module]'),m={},i,ok=0;" +
  "try{if(s.nonce&&window.HTMLScriptElement&&HTMLScriptElement.supports&&HTMLScriptElement.supports('importmap')){" +
  "for(i=0;i<t.length;i++)m[t[i].getAttribute('data-module')]=URL.createObjectURL(new Blob([t[i].textContent.split('" + ORIGIN + "').join(location.origin)],{type:'text/javascript'}));" +
  "var e=document.createElement('script');e.type='importmap';e.nonce=s.nonce;e.textContent=JSON.stringify({imports:m});s.after(e);ok=1}}catch(x){}" +
  "for(i=0;i<t.length;i++)t[i].remove();" +
  // No import maps here: the files, preloaded as the plain shell would.
  "if(!ok)for(t=document.querySelectorAll('link[rel=parley-inline]'),i=0;i<t.length;i++)t[i].rel='modulepreload'})()";

/** A module's code as it runs from a blob: URL: relative imports and import.meta made absolute; null when it cannot be. */
function absoluteModule(code: string, href: string): string | null {
  const base = `http://x${href}`;
  const absolute = (spec: string) => ORIGIN + new URL(spec, base).pathname;
  const specifiers = code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)(["'`])(\.{1,2}\/[^"'`]*)\2/g,
    (_, lead: string, q: string, spec: string) => `${lead}${q}${absolute(spec)}${q}`,
  );
  let out = specifiers.replaceAll('import.meta.resolve', '__parleyResolve').replaceAll('import.meta.url', '__parleyURL');
  // An unknown use of import.meta, or a NUL (the HTML parser would make it U+FFFD): left as a file.
  if (out.includes('import.meta') || out.includes('\u0000')) return null;
  if (out !== specifiers) {
    const prelude = `const __parleyURL=new URL(${JSON.stringify(href)},location.href).href,__parleyResolve=(s)=>new URL(s,__parleyURL).href;`;
    // After a first-line comment (the compile hint must stay the file's first line).
    const nl = out.startsWith('//') ? out.indexOf('\n') + 1 : 0;
    out = out.slice(0, nl) + prelude + out.slice(nl);
  }
  return out;
}

/**
 * Text inside a <textarea>: only `&` and `<` can change what the parser reads there. Not
 * shares/page.ts's escapeHtml (it imports this file, and escaping the quotes that fill minified
 * code would add bytes for nothing).
 */
const escapeText = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');

/** The shell with its first-load modules inside (see INLINE_BOOT), or null to link them as they are. */
function inlineModules(html: string, root: string): string | null {
  const tags = [...html.matchAll(/<link href="(\/_app\/immutable\/[\w./-]+\.js)" rel="modulepreload">/g)];
  if (!tags.length || !/<body[^>]*>/.test(html)) return null;
  const modules: { href: string; code: string }[] = [];
  for (const [, href] of tags) {
    const file = join(root, href!);
    if (!existsSync(file)) return null;
    const code = absoluteModule(readFileSync(file, 'utf8'), href!);
    if (code === null) return null;
    modules.push({ href: href!, code });
  }
  // The tags stay as links the browser does not fetch: the bundler's preload helper reads the
  // page's links to know what is already loaded, and would fetch these files again.
  let out = html;
  for (const [tag, href] of tags) out = out.replace(tag, `<link href="${href}" rel="parley-inline">`);
  const blocks = modules.map((m) => `<textarea hidden data-module="${m.href}">${escapeText(m.code)}</textarea>`).join('');
  return out.replace(/<body[^>]*>/, (body) => `${body}${blocks}<script nonce="${NONCE}">${INLINE_BOOT}</script>`);
}

type Shell = {
  html: string;
  csp: string;
  mtime: number;
  gzip: Uint8Array<ArrayBuffer>;
  br: Uint8Array<ArrayBuffer>;
  /** The shell with the app's code inside (NONCE where each response's goes), when it could be made. */
  inline: string | null;
};
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
    inline: inlineModules(html, root),
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
export function htmlResponse(
  html: string,
  csp: string,
  status = 200,
  encoded?: { body: Uint8Array<ArrayBuffer>; encoding: 'br' | 'gzip' },
  /** A page made for this response alone (its nonce): no cache keeps it. */
  once = false,
) {
  return new Response(encoded?.body ?? html, {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': once ? 'no-store' : 'no-cache',
      'content-security-policy': csp,
      // The shell differs for a page the browser opens (the code inside) and any other fetch.
      vary: 'accept-encoding, sec-fetch-dest',
      ...(encoded ? { 'content-encoding': encoded.encoding } : {}),
    },
  });
}

/** The shell in the best encoding the request accepts. */
function shellResponse(shell: Shell, request: Request) {
  // Only a page the browser opens gets the code inside: the service worker's copy of the shell
  // (and anything else that fetches it) links the files, which the worker keeps, and carries no
  // nonce that would be reused each time it is served.
  if (shell.inline && request.headers.get('sec-fetch-dest') === 'document') {
    const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64');
    const html = shell.inline.replace(NONCE, nonce);
    const csp = shell.csp.replace("script-src 'self'", `script-src 'self' 'nonce-${nonce}' blob:`);
    const encoded = acceptsBrotli(request)
      ? { body: new Uint8Array(brotliCompressSync(html, BROTLI_QUICK)) as Uint8Array<ArrayBuffer>, encoding: 'br' as const }
      : acceptsGzip(request)
        ? { body: Bun.gzipSync(html) as Uint8Array<ArrayBuffer>, encoding: 'gzip' as const }
        : undefined;
    return htmlResponse(html, csp, 200, encoded, true);
  }
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
