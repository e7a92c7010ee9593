/**
 * The app's shell names its first load in a `Link` header (server/web.ts), so a phone starts
 * fetching the scripts and the style sheet as the headers arrive. Built here from a small
 * build directory whose entry imports a chunk statically and another lazily.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../server/config';
import { firstLoadFiles, webRoutes } from '../../../server/web';

const root = mkdtempSync(join(tmpdir(), 'parley-shell-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, '_app/immutable/chunks'), { recursive: true });
mkdirSync(join(root, '_app/immutable/assets'), { recursive: true });
const html = `<!doctype html><html><head><link href="/_app/immutable/assets/app.css" rel="stylesheet"></head>
<body><script>import("/_app/immutable/entry.js")</script></body></html>`;
writeFileSync(join(root, 'index.html'), html);
writeFileSync(join(root, '_app/immutable/entry.js'), 'export { start } from "./chunks/app.js";');
writeFileSync(join(root, '_app/immutable/chunks/app.js'), 'import "./shared.js"; export const start = () => import("./lazy.js");');
writeFileSync(join(root, '_app/immutable/chunks/shared.js'), 'export const x = 1;');
writeFileSync(join(root, '_app/immutable/chunks/lazy.js'), 'export const y = 2;');
writeFileSync(join(root, '_app/immutable/assets/app.css'), 'body{}');

describe('the shell names its first load', () => {
  test('static imports are followed, lazy ones are not', () => {
    expect(firstLoadFiles(root, html)).toEqual({
      scripts: ['/_app/immutable/entry.js', '/_app/immutable/chunks/app.js', '/_app/immutable/chunks/shared.js'],
      styles: ['/_app/immutable/assets/app.css'],
    });
  });

  test('a deep link and / answer the shell with a Link header of modulepreloads and the style sheet', async () => {
    const app = webRoutes(loadConfig({ ...process.env, DATA_DIR: root }), root);
    for (const path of ['/', '/t/0b7e2e2c-9a57-4a2b-8d1c-1c6f3f0c8c11', '/index.html']) {
      const res = await app.handle(new Request(`http://localhost${path}`, { headers: { 'accept-encoding': 'gzip' } }));
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(res.headers.get('link')).toBe(
        '</_app/immutable/entry.js>; rel=modulepreload, </_app/immutable/chunks/app.js>; rel=modulepreload, ' +
          '</_app/immutable/chunks/shared.js>; rel=modulepreload, </_app/immutable/assets/app.css>; rel=preload; as=style',
      );
    }
    // Assets themselves carry none.
    const asset = await app.handle(new Request('http://localhost/_app/immutable/entry.js'));
    await asset.arrayBuffer();
    expect(asset.headers.get('link')).toBeNull();
  });
});
