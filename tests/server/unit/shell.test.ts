/**
 * The app's shell as the server sends it (server/web.ts): its stylesheet written into it, its
 * inline scripts (and only they) allowed by hash, brotli when the browser takes it, rebuilt
 * when index.html changes; and, to a page the browser opens, its first-load modules inside. A build of our own in a temp dir: these tests need no `bun run build`.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { loadConfig } from '../../../server/config';
import { loadShell, webRoutes } from '../../../server/web';

const root = mkdtempSync(join(tmpdir(), 'parley-shell-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, '_app/immutable/assets'), { recursive: true });
const CSS = '.composer{color:red}'.repeat(50);
writeFileSync(join(root, '_app/immutable/assets/app.abc123.css'), CSS);
const page = (extra = '') => `<!doctype html><html><head><title>Parley</title>
<script>window.a=1</script>
<link href="/_app/immutable/assets/app.abc123.css" rel="stylesheet">
<link href="/_app/immutable/assets/missing.css" rel="stylesheet">${extra}
</head><body></body></html>`;
writeFileSync(join(root, 'index.html'), page());

const get = (path: string, encoding: string) =>
  webRoutes(loadConfig({}), root).handle(new Request(`http://localhost${path}`, { headers: { 'accept-encoding': encoding } }));

describe('the shell', () => {
  test('carries its stylesheet, keeps a link it cannot fill, and allows its scripts by hash', () => {
    const shell = loadShell(root)!;
    expect(shell.html).toContain(`<style>${CSS}</style>`);
    expect(shell.html).not.toContain('app.abc123.css');
    expect(shell.html).toContain('<link href="/_app/immutable/assets/missing.css" rel="stylesheet">');
    const hash = new Bun.CryptoHasher('sha256').update('window.a=1').digest('base64');
    expect(shell.csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(shell.csp).not.toMatch(/script-src[^;]*unsafe-inline/);
  });

  test('a deep link gets it in brotli, gzip or plain, as the browser asks, with the CSP', async () => {
    const br = await get('/t/some-thread', 'gzip, deflate, br');
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('content-security-policy')).toContain("script-src 'self' 'sha256-");
    const html = brotliDecompressSync(Buffer.from(await br.arrayBuffer())).toString();
    expect(html).toContain(`<style>${CSS}</style>`);
    const gz = await get('/index.html', 'gzip');
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(Bun.gunzipSync(new Uint8Array(await gz.arrayBuffer())).length).toBe(Buffer.byteLength(html));
    const plain = await get('/', 'identity');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(html);
  });

  test('is built once per index.html, and again when it changes', () => {
    const first = loadShell(root)!;
    expect(loadShell(root)).toBe(first);
    writeFileSync(join(root, 'index.html'), page('<meta name="x" content="2">'));
    utimesSync(join(root, 'index.html'), new Date(), new Date(Date.now() + 5_000));
    const second = loadShell(root)!;
    expect(second).not.toBe(first);
    expect(second.html).toContain('<meta name="x" content="2">');
    expect(second.html).toContain(`<style>${CSS}</style>`);
  });
});

describe('the shell with the app’s code inside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-inline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, '_app/immutable/chunks'), { recursive: true });
  const files: Record<string, string> = {
    '/_app/immutable/bundle.b1.js': 'export{a as app}from"./chunks/app.c2.js";',
    // The hint line first; a relative import, import.meta.url, a lazy import, and text that would end the block.
    '/_app/immutable/chunks/app.c2.js':
      '//# allFunctionsCalledOnLoad\nimport{x}from"./rt.d3.js";const u=new URL("./lazy.e4.js",import.meta.url);export const a=()=>import("./lazy.e4.js");const s="</textarea><script>alert(1)</script> &amp; <!--";',
    '/_app/immutable/chunks/rt.d3.js': 'export const x=1;',
  };
  const write = (extra: Record<string, string> = {}) => {
    for (const [href, code] of Object.entries({ ...files, ...extra })) writeFileSync(join(dir, href), code);
  };
  write();
  const links = Object.keys(files)
    .map((href) => `<link href="${href}" rel="modulepreload">`)
    .join('');
  const html = `<!doctype html><html><head><title>Parley</title><script>window.a=1</script>${links}</head>
<body data-sveltekit-preload-data="hover"><div style="display: contents"><script>import("/_app/immutable/bundle.b1.js")</script></div></body></html>`;
  writeFileSync(join(dir, 'index.html'), html);
  const open = (headers: Record<string, string>) =>
    webRoutes(loadConfig({}), dir).handle(new Request('http://localhost/t/some-thread', { headers }));
  const decode = (text: string) => text.replaceAll('&lt;', '<').replaceAll('&amp;', '&');
  const blocks = (page: string) =>
    Object.fromEntries([...page.matchAll(/<textarea hidden data-module="([^"]+)">([\s\S]*?)<\/textarea>/g)].map((m) => [m[1]!, decode(m[2]!)]));

  test('a page the browser opens carries each first-load module, made to run from a blob: URL, and no preload', async () => {
    const res = await open({ 'sec-fetch-dest': 'document', 'accept-encoding': 'br' });
    expect(res.headers.get('content-encoding')).toBe('br');
    const page = brotliDecompressSync(Buffer.from(await res.arrayBuffer())).toString();
    expect(page).not.toContain('rel="modulepreload"');
    expect(page.match(/<\/textarea>/g)).toHaveLength(3); // the hostile text did not end its block
    expect(page).not.toContain('<script>alert(1)');
    const inside = blocks(page);
    expect(Object.keys(inside).sort()).toEqual(Object.keys(files).sort());
    expect(inside['/_app/immutable/bundle.b1.js']).toBe('export{a as app}from"%parley.origin%/_app/immutable/chunks/app.c2.js";');
    expect(inside['/_app/immutable/chunks/rt.d3.js']).toBe(files['/_app/immutable/chunks/rt.d3.js']!);
    const app = inside['/_app/immutable/chunks/app.c2.js']!;
    // The compile hint stays the first line; import.meta is the file's own URL; imports are absolute.
    expect(app.startsWith('//# allFunctionsCalledOnLoad\nconst __parleyURL=new URL("/_app/immutable/chunks/app.c2.js",location.href).href')).toBe(true);
    expect(app).toContain('import{x}from"%parley.origin%/_app/immutable/chunks/rt.d3.js"');
    expect(app).toContain('new URL("./lazy.e4.js",__parleyURL)');
    expect(app).toContain('import("%parley.origin%/_app/immutable/chunks/lazy.e4.js")');
    expect(app).toContain('"</textarea><script>alert(1)</script> &amp; <!--"');
    expect(app).not.toContain('import.meta');
    // Links the browser does not fetch stay, for the bundler's preload helper to see.
    for (const href of Object.keys(files)) expect(page).toContain(`<link href="${href}" rel="parley-inline">`);
  });

  test('each page has a nonce of its own, in the CSP with blob:, and only the boot script carries it', async () => {
    const nonces: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await open({ 'sec-fetch-dest': 'document' });
      const csp = res.headers.get('content-security-policy')!;
      const page = await res.text();
      const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      expect(csp).toMatch(new RegExp(`script-src 'self' 'nonce-${nonce!.replace(/[+/=]/g, '\\$&')}' blob: 'sha256-`));
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(page.match(/nonce="[^"]*"/g)).toEqual([`nonce="${nonce}"`]);
      expect(page).not.toContain('%parley.nonce%');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('vary')).toBe('accept-encoding, sec-fetch-dest');
      nonces.push(nonce!);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  test('any other fetch (the service worker’s copy) gets the shell linking the files, with no nonce', async () => {
    const fetches: Record<string, string>[] = [{}, { 'sec-fetch-dest': 'empty' }];
    for (const headers of fetches) {
      const res = await open(headers);
      const page = await res.text();
      expect(page).not.toContain('<textarea');
      for (const href of Object.keys(files)) expect(page).toContain(`<link href="${href}" rel="modulepreload">`);
      expect(res.headers.get('content-security-policy')).not.toContain('nonce-');
      expect(res.headers.get('content-security-policy')).not.toMatch(/script-src[^;]*blob:/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
    }
  });

  test('a module that cannot be written in leaves the whole shell linking the files', async () => {
    const later = () => utimesSync(join(dir, 'index.html'), new Date(), new Date(Date.now() + Math.random() * 100_000 + 10_000));
    const unwritable = [
      { '/_app/immutable/chunks/rt.d3.js': 'export const env=import.meta.env;' },
      { '/_app/immutable/chunks/rt.d3.js': 'export const x="\u0000";' }, // a raw NUL, which HTML would not keep
    ];
    for (const change of unwritable) {
      write(change);
      later();
      const page = await (await open({ 'sec-fetch-dest': 'document' })).text();
      expect(page).not.toContain('<textarea');
      expect(page).toContain('rel="modulepreload"');
    }
    write();
    rmSync(join(dir, '_app/immutable/chunks/rt.d3.js'));
    later();
    expect(await (await open({ 'sec-fetch-dest': 'document' })).text()).not.toContain('<textarea');
    write();
    later();
    expect(await (await open({ 'sec-fetch-dest': 'document' })).text()).toContain('<textarea');
  });
});
