/**
 * The app's shell as the server sends it (server/web.ts): its stylesheet written into it, its
 * inline scripts (and only they) allowed by hash, brotli when the browser takes it, rebuilt
 * when index.html changes. A build of our own in a temp dir: these tests need no `bun run build`.
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
