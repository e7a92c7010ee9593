/**
 * The WebKit smoke test (iPhone's engine, issue 17): Debian's WebKitGTK (`webkit2gtk-driver`:
 * WebKitWebDriver and MiniBrowser) under Xvfb, driven over plain W3C WebDriver HTTP (no browser
 * download, no client library). Against a real server of its own (embedded database) and the
 * fake provider, it:
 *   1. registers through the sign-up page;
 *   2. chats: sends a message and waits for the complete reply;
 *   3. stops the server and reopens the thread: the service worker's shell and the IndexedDB
 *      mirror show it, with the "Can't reach your Parley server" or "Offline" notice;
 *   4. checks the iPhone details the page declares: viewport-fit=cover and safe-area insets in
 *      the shell's CSS (header, composer), the apple-touch-icon (180×180 PNG) and launch images.
 * Prints "N passed, N failed" and exits 1 on a failure. Run: `bun tests/webkit/smoke.ts`
 * (scripts/test.ts runs it when WebKitWebDriver and Xvfb are installed; .ci/run installs them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeProvider } from '../support/fake-provider';
import { freePort } from '../support/ports';

const root = join(import.meta.dir, '..', '..');
const MINIBROWSER = process.env.MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const results: { name: string; ok: boolean; detail?: string }[] = [];
const cleanups: (() => unknown)[] = [];
const artifacts = join(root, 'tests', 'webkit', '.artifacts');
let driver: WebDriver | null = null;

async function until<T>(what: string, check: () => Promise<T | false | null | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let pause = 50; ; pause = Math.min(pause * 2, 500)) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await Bun.sleep(pause);
  }
}

async function step(name: string, run: () => Promise<void>) {
  try {
    await run();
    results.push({ name, ok: true });
    console.log(`  ✓ ${name}`);
  } catch (error) {
    results.push({ name, ok: false, detail: String(error) });
    console.log(`  ✘ ${name}\n    ${String(error)}`);
    const shot = await driver?.screenshot().catch(() => null);
    if (shot) await Bun.write(join(artifacts, 'failure.png'), Buffer.from(shot, 'base64'));
    const page = await driver?.run<string>('return location.href + "\\n" + document.body.innerText.slice(0, 1500)').catch(() => null);
    if (page) console.log(`    page: ${page}`);
    throw error;
  }
}

// ---- processes ----

async function startXvfb(): Promise<string> {
  const proc = Bun.spawn(['Xvfb', '-displayfd', '1', '-screen', '0', '1170x1400x24', '-nolisten', 'tcp'], { stdout: 'pipe', stderr: 'ignore' });
  cleanups.push(() => proc.kill());
  const reader = proc.stdout.getReader();
  let text = '';
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error('Xvfb did not start');
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return `:${text.trim()}`;
}

function startServer(port: number, dataDir: string, providerUrl: string) {
  const proc = Bun.spawn(['bun', join(root, 'server', 'index.ts')], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      OPENAI_BASE_URL: providerUrl,
      OPENAI_API_KEY: 'test',
      DEFAULT_MODEL: 'openai:gpt-4o-mini',
      LOG_LEVEL: 'warn',
    },
    stdout: 'inherit',
    stderr: 'inherit',
  });
  return proc;
}

// ---- a W3C WebDriver client: just what the smoke needs ----

class WebDriver {
  constructor(
    private base: string,
    private session = '',
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}${this.session ? `/session/${this.session}` : ''}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as { value: T & { error?: string; message?: string } };
    if (!res.ok) throw new Error(`${method} ${path}: ${json.value?.error} ${json.value?.message ?? ''}`);
    return json.value;
  }

  async start() {
    const value = await this.call<{ sessionId: string }>('POST', '/session', {
      capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } },
    });
    this.session = value.sessionId;
  }

  end = () => this.call('DELETE', '');
  go = (url: string) => this.call('POST', '/url', { url });
  url = () => this.call<string>('GET', '/url');
  run = <T>(script: string, ...args: unknown[]) => this.call<T>('POST', '/execute/sync', { script, args });
  runAsync = <T>(script: string, ...args: unknown[]) => this.call<T>('POST', '/execute/async', { script, args });

  async find(css: string) {
    const value = await this.call<Record<string, string>>('POST', '/element', { using: 'css selector', value: css });
    return Object.values(value)[0]!;
  }
  type = async (css: string, text: string) => this.call('POST', `/element/${await this.find(css)}/value`, { text });
  click = async (css: string) => this.call('POST', `/element/${await this.find(css)}/click`, {});
  text = (css: string) => this.run<string | null>('const e = document.querySelector(arguments[0]); return e ? e.textContent : null', css);
  screenshot = () => this.call<string>('GET', '/screenshot');
}

// ---- the smoke ----

let exit = 0;
try {
  const fake = await startFakeProvider();
  fake.chat.defaults.chunkDelayMs = 20;
  cleanups.push(() => fake.stop());
  const display = await startXvfb();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-webkit-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server = startServer(port, dataDir, fake.openaiBaseUrl);
  // Stopped, and gone, before its data directory is removed.
  cleanups.push(async () => {
    server.kill();
    await server.exited;
  });
  await until('the server healthy', () => fetch(`${base}/api/health`).then((r) => r.ok), 60_000);

  const driverPort = await freePort();
  const driverProc = Bun.spawn(['WebKitWebDriver', `--port=${driverPort}`], { env: { ...process.env, DISPLAY: display }, stdout: 'ignore', stderr: 'ignore' });
  cleanups.push(() => driverProc.kill());
  const wd = new WebDriver(`http://127.0.0.1:${driverPort}`);
  await until('WebKitWebDriver listening', () => fetch(`http://127.0.0.1:${driverPort}/status`).then((r) => r.ok), 20_000);
  await wd.start();
  driver = wd;
  cleanups.push(() => wd.end().catch(() => {}));
  console.log(`WebKit smoke: ${base} in MiniBrowser on ${display}`);

  await step('registers through the sign-up page', async () => {
    await wd.go(`${base}/register`);
    await until('the sign-up form', () => wd.run<boolean>('return !!document.querySelector("#email")'));
    // The first visit's page carried the app's code (server/web.ts, inlineModules): it ran from
    // blob: modules through an import map, and no copy of the text stays in the page.
    const inline = await wd.run<{ map: boolean; left: number; files: string[] }>(
      `return { map: !!document.querySelector('script[type=importmap]'), left: document.querySelectorAll('textarea[data-module]').length,
        files: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/_app/immutable/bundle.')) }`,
    );
    if (!inline.map || inline.left || inline.files.length) throw new Error(`the app's code did not come inside the page: ${JSON.stringify(inline)}`);
    await wd.type('#name', 'Webkit Tester');
    await wd.type('#email', `webkit-${Date.now()}@example.test`);
    await wd.type('#password', 'a long webkit passphrase 42');
    await wd.click('button[type=submit]');
    await until('the app after sign-up', () => wd.run<boolean>('return !!document.querySelector("#composer")'), 30_000);
    // The account's mirror is made (an IndexedDB upgrade) as the app starts. WebKit cannot abort
    // an upgrade that is already committing when the page goes into the back/forward cache, and
    // the next page's mirror would wait behind it: leave this page only once it is open (a user
    // leaving the sign-up page within that fraction of a second is the one case not covered).
    await until('the mirror made', () =>
      wd.runAsync<boolean>(`
        const done = arguments[arguments.length - 1];
        indexedDB.databases().then((dbs) => {
          const name = dbs.map((d) => d.name || '').find((n) => n.startsWith('parley-'));
          if (!name) return done(false);
          const r = indexedDB.open(name);
          r.onsuccess = () => { const ok = r.result.objectStoreNames.contains('meta'); r.result.close(); done(ok); };
          r.onerror = () => done(false);
        }, () => done(false));`),
    );
  });

  await step('the service worker installs and controls the page', async () => {
    await wd.go(`${base}/?new=1`);
    // The app registers its worker a second after the page has loaded: wait for it to be
    // active (reloading meanwhile would cancel that), then one reload puts the page under it.
    await until(
      'an active service worker',
      () =>
        wd.runAsync<boolean>(
          'const done = arguments[arguments.length - 1]; navigator.serviceWorker.getRegistration().then((r) => done(!!(r && r.active)), () => done(false))',
        ),
      30_000,
    );
    await until(
      'a controlling service worker',
      async () => {
        const controlled = await wd.run<boolean>('return !!(navigator.serviceWorker && navigator.serviceWorker.controller)');
        if (!controlled) await wd.go(`${base}/?new=1`);
        return controlled;
      },
      30_000,
    );
  });

  let threadUrl = '';
  await step('chats: a message gets its complete reply', async () => {
    await until('the composer', () => wd.run<boolean>('return !!document.querySelector("#composer")'));
    await wd.type('#composer', 'Hello from WebKit');
    await wd.click('button[aria-label="Send"]');
    threadUrl = await until('the thread page', async () => {
      const url = await wd.url();
      return /\/t\/[0-9a-f-]{36}$/.test(url) && url;
    });
    const reply = await until(
      'a complete reply',
      () => wd.text('[data-role="assistant"][data-status="complete"]'),
      30_000,
    );
    if (!reply.includes('Hello from WebKit')) throw new Error(`unexpected reply: ${reply}`);
  });

  await step('the mirror on this device has the thread', async () => {
    // The mirror syncs a moment after start: wait until the thread's reply is in IndexedDB.
    let checks = 0;
    await until(
      'the reply in the mirror',
      async () => {
        // A start syncs the mirror too: reopen the thread now and then while waiting.
        if (++checks % 8 === 0) await wd.go(threadUrl);
        return wd.runAsync<boolean>(`
          const done = arguments[arguments.length - 1];
          indexedDB.databases().then(async (dbs) => {
            for (const info of dbs) {
              if (!info.name || !info.name.startsWith('parley')) continue;
              const db = await new Promise((ok, ko) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = ko; });
              if (!db.objectStoreNames.contains('messages')) { db.close(); continue; }
              const all = await new Promise((ok) => { const r = db.transaction('messages').objectStore('messages').getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => ok([]); });
              db.close();
              if (all.some((m) => m.role === 'assistant' && m.status === 'complete')) return done(true);
            }
            done(false);
          }).catch(() => done(false));`);
      },
      45_000,
    );
  });

  await step('with the server stopped, the thread reopens from this device', async () => {
    server.kill('SIGTERM');
    await server.exited;
    await wd.go(threadUrl);
    const reply = await until('the mirrored reply', () => wd.text('[data-role="assistant"]'), 30_000);
    if (!reply.includes('Hello from WebKit')) throw new Error(`unexpected reply: ${reply}`);
    await until('the notice', async () => {
      const banner = (await wd.run<string>('return [...document.querySelectorAll("[role=status]")].map((e) => e.textContent).join(" | ")')) ?? '';
      return /Can't reach your Parley server|Offline/.test(banner) && banner;
    });
    await Bun.write(join(artifacts, 'offline-thread.png'), Buffer.from(await wd.screenshot(), 'base64'));
    server = startServer(port, dataDir, fake.openaiBaseUrl);
    await until('the server healthy again', () => fetch(`${base}/api/health`).then((r) => r.ok), 60_000);
  });

  await step('iPhone details: viewport-fit=cover, safe-area insets, apple-touch-icon, launch images', async () => {
    const facts = await wd.run<{ viewport: string; icon: string | null; launch: string[]; css: string }>(`
      const sheets = [...document.styleSheets].flatMap((s) => { try { return [...s.cssRules].map((r) => r.cssText); } catch { return []; } });
      return {
        viewport: document.querySelector('meta[name=viewport]').content,
        icon: document.querySelector('link[rel=apple-touch-icon]')?.getAttribute('href') ?? null,
        launch: [...document.querySelectorAll('link[rel=apple-touch-startup-image]')].map((l) => l.getAttribute('href')),
        css: sheets.join('\\n'),
      };`);
    if (!facts.viewport.includes('viewport-fit=cover')) throw new Error(`viewport: ${facts.viewport}`);
    for (const inset of ['safe-area-inset-top', 'safe-area-inset-bottom', 'safe-area-inset-left', 'safe-area-inset-right']) {
      if (!facts.css.includes(inset)) throw new Error(`no ${inset} in the CSS`);
    }
    if (!facts.icon) throw new Error('no apple-touch-icon');
    const icon = new Uint8Array(await (await fetch(new URL(facts.icon, base))).arrayBuffer());
    const view = new DataView(icon.buffer);
    if (view.getUint32(16) !== 180 || view.getUint32(20) !== 180) throw new Error('apple-touch-icon is not 180×180');
    if (facts.launch.length < 3) throw new Error(`launch images: ${facts.launch.length}`);
    for (const href of facts.launch) {
      const res = await fetch(new URL(href, base));
      if (!res.ok || res.headers.get('content-type') !== 'image/png') throw new Error(`launch image ${href}: ${res.status}`);
    }
  });
} catch (error) {
  if (!results.some((r) => !r.ok)) {
    results.push({ name: 'setup', ok: false, detail: String(error) });
    console.log(`  ✘ setup\n    ${String(error)}`);
  }
  exit = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
}
const passed = results.filter((r) => r.ok).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(exit || (results.some((r) => !r.ok) ? 1 : 0));
