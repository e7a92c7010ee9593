/**
 * `bun run bench:web`: what a first visit to a thread costs on a mid-range phone.
 *
 * Starts the e2e stack (real server, PostgreSQL, fake provider) on BENCH_PORT (4400),
 * seeds a user with a thread of plain replies and a thread with a code block, then in
 * Debian's Chromium, in a fresh context (empty cache, no service worker yet), with
 * CDP CPU throttling 4× and DevTools' "Fast 3G" network (562.5 ms RTT, 1.44 Mbit/s down):
 *   - JS and CSS downloaded until the thread is usable, gzipped (each body gzipped here,
 *     level 6, whatever the server sent) and as transferred; the CSS and the modules inside
 *     the document (a first visit's page carries the first-load code: server/web.ts);
 *   - time from navigation start to a usable thread view: the last reply rendered and
 *     the composer ready for input (median of RUNS, default 3);
 *   - that highlighting code is not downloaded for a thread without code, and is once
 *     a code block appears.
 * Budgets: ≤ 90 KB gzipped JS (scripts/bundle-budget.ts), ≤ 2.0 s to usable (issue 17; 150 KB and 2.5 s before). Exits 1 when one is missed.
 * Writes bench/.out/web.json. PROFILE=1: a CPU profile of the throttled visits (see summarizeProfile).
 */
import { chromium, type Page } from '@playwright/test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JS_BUDGET_BYTES } from '../scripts/bundle-budget';

const root = join(import.meta.dir, '..');
const port = Number(process.env.BENCH_PORT ?? 4400);
const base = `http://127.0.0.1:${port}`;
const runs = Number(process.env.RUNS ?? 3);
const JS_BUDGET = JS_BUDGET_BYTES; // the same budget every build checks statically
const USABLE_BUDGET_MS = 2000;
const FAST_3G = {
  offline: false,
  latency: 562.5,
  downloadThroughput: ((1.6 * 1000 * 1000) / 8) * 0.9,
  uploadThroughput: ((750 * 1000) / 8) * 0.9,
};

if (process.env.BENCH_NO_BUILD !== '1' || !existsSync(join(root, 'web', 'build', 'index.html'))) {
  const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: root, stdout: 'ignore', stderr: 'inherit' });
  if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
}

const stack = Bun.spawn(['bun', join(root, 'tests', 'e2e', 'stack.ts')], {
  cwd: root,
  env: { ...process.env, E2E_PORT: String(port), LOG_LEVEL: 'error' },
  stdout: 'ignore',
  stderr: 'inherit',
});
const stopStack = () => stack.kill('SIGTERM');
process.on('SIGINT', () => {
  stopStack();
  process.exit(130);
});

async function waitForHealth() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await Bun.sleep(100);
  }
  throw new Error('the stack did not start');
}

/** A user with two threads: plain replies, and one with a code block. */
async function seed() {
  const cookies = new Map<string, string>();
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        'content-type': 'application/json',
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  await call('POST', '/api/auth/register', {
    email: `bench-${Date.now()}@example.test`,
    password: 'a long bench passphrase 42',
    name: 'Bench',
  });
  const thread = async (messages: string[]) => {
    const { thread } = (await (await call('POST', '/api/threads', {})).json()) as { thread: { id: string } };
    for (const content of messages) {
      const res = await call('POST', `/api/threads/${thread.id}/messages`, { id: crypto.randomUUID(), content });
      await res.text(); // the whole event stream: the reply is complete
    }
    return thread.id;
  };
  const plain = await thread([
    'What are three good habits for writing clear emails to a busy team at work?',
    'And how long should such an email be, roughly, before people stop reading it carefully?',
    'Could you turn that into a short checklist I can keep next to my keyboard every day?',
  ]);
  const code = await thread(['Show me a greeting function #code']);
  return { cookies, plain, code };
}

interface Resource {
  url: string;
  type: 'script' | 'stylesheet';
  /** The body (a blob: module's too: the shell's modules run from blob: URLs, which only the page can fetch). */
  text: string;
  bytes: number;
  gzip: number;
  transferred: number;
}

/**
 * PROFILE=1: the page's CPU profile up to a usable thread (throttled runs; the last one is kept
 * in bench/.out/web.cpuprofile, which Chromium's DevTools open), and its top self times.
 */
function summarizeProfile(profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples?: number[]; timeDeltas?: number[] }) {
  mkdirSync(join(root, 'bench', '.out'), { recursive: true });
  writeFileSync(join(root, 'bench', '.out', 'web.cpuprofile'), JSON.stringify(profile));
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  (profile.samples ?? []).forEach((id, i) => {
    const f = frames.get(id)!;
    const ms = (profile.timeDeltas?.[i] ?? 0) / 1000;
    const file = f.url ? new URL(f.url, base).pathname : `(${f.functionName || 'native'})`;
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + ms);
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
  });
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `  ${v.toFixed(1).padStart(7)} ms  ${k}`).join('\n');
  console.error(`CPU up to usable, by file:\n${top(byFile, 12)}\nby function (self):\n${top(self, 25)}`);
}

async function visit(seeded: Awaited<ReturnType<typeof seed>>, throttle: boolean) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, serviceWorkers: 'block', deviceScaleFactor: 2 });
    await context.addCookies([...seeded.cookies].map(([name, value]) => ({ name, value, url: base })));
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    if (throttle) {
      await cdp.send('Network.emulateNetworkConditions', FAST_3G);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    }
    const transferred = new Map<string, number>();
    const urls = new Map<string, string>();
    cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
    cdp.on('Network.loadingFinished', (e) => {
      const url = urls.get(e.requestId);
      if (url) transferred.set(url, e.encodedDataLength);
    });
    const resources: Resource[] = [];
    const pending: Promise<void>[] = [];
    page.on('response', (res) => {
      const type = res.request().resourceType();
      if (type !== 'script' && type !== 'stylesheet') return;
      pending.push(
        // A body is gone once its page navigated away (the second visit): fetched again then.
        res
          .body()
          .catch(async () => (res.url().startsWith('blob:') ? Buffer.alloc(0) : Buffer.from(await (await fetch(res.url())).arrayBuffer())))
          .then((body) => {
          resources.push({ url: res.url(), type, text: body.toString('utf8'), bytes: body.length, gzip: Bun.gzipSync(new Uint8Array(body)).length, transferred: 0 });
        }),
      );
    });
    await page.addInitScript(() => {
      // Usable: the last reply is on screen and the composer takes input. Awaited through CDP
      // (below), not page.waitForFunction: that loads Playwright's own script into the page, a
      // 40–60 ms parse at 4× slowdown that landed on the page's main thread mid-start.
      let done: (at: number) => void = () => {};
      (window as unknown as { __usable: Promise<number> }).__usable = new Promise<number>((resolve) => (done = resolve));
      const check = () => {
        const replies = document.querySelectorAll('[data-role="assistant"][data-status="complete"]');
        const composer = document.getElementById('composer') as HTMLTextAreaElement | null;
        const last = replies[replies.length - 1];
        if (replies.length >= 3 && composer && !composer.disabled && last && last.getBoundingClientRect().height > 0) {
          done(performance.now());
          return;
        }
        requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    });
    const profiling = throttle && process.env.PROFILE === '1';
    if (profiling) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    await page.goto(`${base}/t/${seeded.plain}`);
    const usable = cdp.send('Runtime.evaluate', { expression: 'window.__usable', awaitPromise: true, returnByValue: true });
    const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the thread was not usable within 60 s')), 60_000));
    const usableMs = Number((await Promise.race([usable, late])).result.value);
    if (profiling) summarizeProfile((await cdp.send('Profiler.stop')).profile);
    // Where the time went: each request's start and end, and the document's own timings.
    const timeline = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const rows = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => ({
        name: new URL(e.name).pathname + new URL(e.name).search,
        start: Math.round(e.startTime),
        end: Math.round(e.responseEnd),
      }));
      return [
        { name: 'document', start: 0, end: Math.round(nav.responseEnd) },
        { name: 'DOMContentLoaded', start: 0, end: Math.round(nav.domContentLoadedEventEnd) },
        ...rows,
      ];
    });
    await Promise.all(pending);
    // The app's stylesheet rides inside the document (server/web.ts): its size, and the document's on the wire.
    const inlineCss = await page.evaluate(() => [...document.querySelectorAll('style')].reduce((n, s) => n + (s.textContent?.length ?? 0), 0));
    const documentTransferred = transferred.get(`${base}/t/${seeded.plain}`) ?? 0;
    const firstLoad = resources.map((r) => ({ ...r, transferred: transferred.get(r.url) ?? 0 }));
    const hasHighlighter = async (list: Resource[]) => {
      for (const r of list.filter((x) => x.type === 'script')) {
        if (r.text.includes('registerLanguage')) return true;
      }
      return false;
    };
    const highlightOnFirstLoad = await hasHighlighter(firstLoad);

    // Now a thread with code: the highlighter arrives with it.
    const before = resources.length;
    await page.goto(`${base}/t/${seeded.code}`);
    await page.locator('pre code .hljs-keyword').first().waitFor({ timeout: 60_000 });
    await Promise.all(pending);
    const highlightWithCode = await hasHighlighter(resources.slice(before)) || (await page.locator('pre code .hljs-keyword').count()) > 0;
    return { usableMs, firstLoad, inlineCss, documentTransferred, highlightOnFirstLoad, highlightWithCode, timeline };
  } finally {
    await browser.close();
  }
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
let exit = 0;
try {
  await waitForHealth();
  const seeded = await seed();
  const unthrottled = await visit(seeded, false);
  const times: number[] = [];
  let last: Awaited<ReturnType<typeof visit>> | null = null;
  for (let i = 0; i < runs; i++) {
    last = await visit(seeded, true);
    times.push(last.usableMs);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const r = last!;
  const js = r.firstLoad.filter((x) => x.type === 'script');
  const css = r.firstLoad.filter((x) => x.type === 'stylesheet');
  const sum = (list: Resource[], key: keyof Resource) => list.reduce((n, x) => n + (x[key] as number), 0);
  const result = {
    jsGzipBytes: sum(js, 'gzip'),
    jsBytes: sum(js, 'bytes'),
    jsTransferredBytes: sum(js, 'transferred'),
    jsFiles: js.length,
    /** Of those, the modules that came inside the document (blob: URLs: server/web.ts, inlineModules). */
    jsInDocument: js.filter((x) => x.url.startsWith('blob:')).length,
    cssGzipBytes: sum(css, 'gzip'),
    cssBytes: sum(css, 'bytes'),
    cssFiles: css.length,
    cssInlineBytes: r.inlineCss,
    documentTransferredBytes: r.documentTransferred,
    usableMsThrottled: Math.round(median),
    usableMsRuns: times.map(Math.round),
    usableMsUnthrottled: Math.round(unthrottled.usableMs),
    highlightOnFirstLoad: r.highlightOnFirstLoad,
    highlightWithCode: r.highlightWithCode,
    profile: { cpuSlowdown: 4, network: FAST_3G },
    timeline: r.timeline,
    files: r.firstLoad.map((x) => ({ url: x.url.replace(base, ''), type: x.type, bytes: x.bytes, gzip: x.gzip })),
  };
  mkdirSync(join(root, 'bench', '.out'), { recursive: true });
  writeFileSync(join(root, 'bench', '.out', 'web.json'), JSON.stringify(result, null, 2));

  const checks = [
    [`JS on first load of a thread: ${kb(result.jsGzipBytes)} gzipped (${result.jsFiles} modules, ${result.jsInDocument} of them inside the document; ${kb(result.jsBytes)} raw)`, result.jsGzipBytes <= JS_BUDGET, `≤ ${JS_BUDGET / 1024} KB`],
    [`CSS on first load: ${kb(result.cssGzipBytes)} gzipped in ${result.cssFiles} files, ${kb(result.cssInlineBytes)} raw inside the document`, true, 'reported'],
    [`The document on the wire (its CSS, and the JS inside it): ${kb(result.documentTransferredBytes)}`, true, 'reported'],
    [`Usable thread view, 4× CPU + Fast 3G: ${result.usableMsThrottled} ms (runs ${result.usableMsRuns.join(', ')}; unthrottled ${result.usableMsUnthrottled} ms)`, result.usableMsThrottled <= USABLE_BUDGET_MS, `≤ ${USABLE_BUDGET_MS} ms`],
    ['Highlighting not downloaded for a thread without code', !result.highlightOnFirstLoad, 'lazy'],
    ['Highlighting loaded once a code block appears', result.highlightWithCode, 'lazy'],
  ] as const;
  for (const [label, ok, budget] of checks) {
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${label}  [${budget}]`);
    if (!ok) exit = 1;
  }
  console.log('Details: bench/.out/web.json');
} catch (error) {
  console.error(error);
  exit = 1;
} finally {
  stopStack();
  await stack.exited;
}
process.exit(exit);
