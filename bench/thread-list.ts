/**
 * bun run bench:thread-list — the thread list with thousands of threads, on a phone-speed CPU.
 *
 * A real PostgreSQL (started here), the server as its own process serving the built app, and
 * Debian's Chromium with the CPU slowed 4× (CDP Emulation.setCPUThrottlingRate), at 390×844 with
 * the thread drawer opened, and at 1280×800 where the list is always shown. For each size of
 * account (THREADS, default "2000,20000"; plus a 10-thread account as the baseline, in the same
 * run, so the list's own cost is the difference), threads are seeded in SQL, the app's first sync
 * fills its offline mirror, and then, median of RUNS (default 5):
 *
 *   open    desktop: navigation start → the first thread link on screen (the whole app boot
 *           included; "list cost" subtracts the 10-thread account's time); phone: the
 *           "Open threads" press → the first link on screen;
 *   filter  a query typed into "Filter threads" → the list showing only matches (next frame);
 *   clear   the query removed → the full list back.
 *
 * Target (issue 18, defect 5): list cost, filter and clear under 200 ms at 2,000 and 20,000.
 * Prints a Markdown table; writes bench/.out/thread-list.json; exits 1 when a target is missed.
 * Options (env): THREADS, RUNS, CPU (slowdown, 4), BENCH_NO_BUILD=1.
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { ensureWebBuild, median, root, startBenchStack } from './support';
import { chromiumArgs } from '../tests/e2e/playwright.config';

const SIZES = (process.env.THREADS ?? '2000,20000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 5);
const CPU = Number(process.env.CPU ?? 4);
const TARGET_MS = 200;
const QUERY = 'sourdough';

ensureWebBuild();
console.error('starting PostgreSQL and the server…');
const stack = await startBenchStack();
const { base, cluster } = stack;
const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
const profiles: string[] = [];
const cleanup = async () => {
  await sql.end();
  await stack.stop();
  for (const p of profiles) rmSync(p, { recursive: true, force: true });
};

/** An account with `n` threads (titles of five kinds, one in five matching QUERY), activity spread over a year. */
async function seedAccount(n: number) {
  const email = `list-${n}-${crypto.randomUUID().slice(0, 8)}@example.test`;
  const password = `pw-${crypto.randomUUID()}`;
  const res = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, name: 'Bench' }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  const { user } = (await res.json()) as { user: { id: string } };
  await sql`
    insert into threads (id, user_id, title, model, created_at, updated_at, seq)
    select gen_random_uuid(), ${user.id},
      (array['Trip to Lisbon and the coast', 'Sourdough starter questions', 'Quarterly budget review', 'Code review notes for the API', 'Reading list for the winter'])[1 + g % 5] || ' ' || g,
      'openai:gpt-4o-mini',
      now() - ${n} * interval '10 minutes' + g * interval '10 minutes',
      now() - ${n} * interval '10 minutes' + g * interval '10 minutes',
      g
    from generate_series(1, ${n}) g`;
  await sql`update users set sync_seq = ${n} where id = ${user.id}`;
  return { email, password, id: user.id };
}

const links = (page: Page) => page.locator('nav[aria-label="Threads"] a[data-thread-id]');

/** Waits, frame by frame, until `test` holds in the page; returns ms since `t0` (page clock). */
const untilFrame = (page: Page, fn: string) =>
  page.evaluate(
    (src) =>
      new Promise<number>((resolve, reject) => {
        const test = new Function(`return (${src})`) as () => boolean;
        const t0 = (window as unknown as { __t0: number }).__t0;
        const deadline = performance.now() + 60_000;
        const tick = () => {
          if (test()) resolve(performance.now() - t0);
          else if (performance.now() > deadline) reject(new Error(`timed out: ${src}`));
          else requestAnimationFrame(tick);
        };
        tick();
      }),
    fn,
  );

async function mirrorComplete(page: Page, id: string, n: number) {
  for (let i = 0; i < 2400; i++) {
    const done = await page.evaluate(async ([name, want]) => {
      if (!(await indexedDB.databases()).some((d) => d.name === name)) return false;
      const db = await new Promise<IDBDatabase>((ok, ko) => {
        const r = indexedDB.open(name as string);
        r.onsuccess = () => ok(r.result);
        r.onerror = () => ko(r.error);
      });
      try {
        if (!db.objectStoreNames.contains('meta')) return false;
        const get = (store: string, key?: string) =>
          new Promise<unknown>((ok) => {
            const s = db.transaction(store).objectStore(store);
            const r = key === undefined ? s.count() : s.get(key);
            r.onsuccess = () => ok(r.result);
          });
        return (await get('meta', 'complete')) === true && ((await get('threads')) as number) >= (want as number);
      } finally {
        db.close();
      }
    }, [`parley-${id}`, n] as const);
    if (done) return;
    await Bun.sleep(50);
  }
  throw new Error('the first sync did not complete');
}

interface Result {
  threads: number;
  desktopOpen: number[];
  phoneOpen: number[];
  filter: number[];
  clear: number[];
  rendered: number;
}

async function measure(n: number): Promise<Result> {
  const account = await seedAccount(n);
  const profile = mkdtempSync(join(tmpdir(), 'parley-bench-list-'));
  profiles.push(profile);
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: chromiumArgs,
    baseURL: base,
    viewport: { width: 1280, height: 800 },
    serviceWorkers: 'block',
  });
  const login = await context.request.post('/api/auth/login', { data: { email: account.email, password: account.password } });
  if (login.status() !== 200) throw new Error(`login: ${login.status()}`);
  const page = await context.newPage();
  await page.goto('/');
  await mirrorComplete(page, account.id, n);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU });

  const out: Result = { threads: n, desktopOpen: [], phoneOpen: [], filter: [], clear: [], rendered: 0 };
  for (let run = 0; run < RUNS; run++) {
    // Desktop: a cold open of the app, the list read from the mirror.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto('/', { waitUntil: 'commit' });
    await page.evaluate(() => ((window as unknown as { __t0: number }).__t0 = 0));
    out.desktopOpen.push(await untilFrame(page, `document.querySelector('nav[aria-label="Threads"] a[data-thread-id]') !== null`));
    await page.waitForLoadState('networkidle');
    out.rendered = await links(page).count();

    // Filter and clear.
    const filter = page.getByRole('searchbox', { name: 'Filter threads' });
    await filter.focus();
    await page.evaluate((q) => {
      (window as unknown as { __t0: number }).__t0 = performance.now();
      const input = document.querySelector<HTMLInputElement>('input[aria-label="Filter threads"]')!;
      input.value = q;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }, QUERY);
    out.filter.push(
      await untilFrame(
        page,
        `(() => { const a = [...document.querySelectorAll('nav[aria-label="Threads"] a[data-thread-id]')]; return a.length > 0 && a.every((x) => /sourdough/i.test(x.textContent)); })()`,
      ),
    );
    await page.evaluate(() => {
      (window as unknown as { __t0: number }).__t0 = performance.now();
      const input = document.querySelector<HTMLInputElement>('input[aria-label="Filter threads"]')!;
      input.value = '';
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    out.clear.push(
      await untilFrame(page, `[...document.querySelectorAll('nav[aria-label="Threads"] a[data-thread-id]')].some((x) => !/sourdough/i.test(x.textContent))`),
    );

    // Phone: the drawer opened with the app already running.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto('/');
    await page.getByRole('button', { name: 'Open threads' }).waitFor();
    await page.waitForLoadState('networkidle');
    await page.evaluate(() => {
      (window as unknown as { __t0: number }).__t0 = performance.now();
      document.querySelector<HTMLButtonElement>('button[aria-label="Open threads"]')!.click();
    });
    out.phoneOpen.push(
      await untilFrame(page, `(() => { const a = document.querySelector('nav[aria-label="Threads"] a[data-thread-id]'); return !!a && a.getBoundingClientRect().width > 0; })()`),
    );
  }
  await context.close();
  return out;
}

const results: Result[] = [];
try {
  for (const n of [10, ...SIZES]) {
    console.error(`${n} threads…`);
    const r = await measure(n);
    results.push(r);
    console.error(`  desktop open ${median(r.desktopOpen).toFixed(0)} ms, drawer ${median(r.phoneOpen).toFixed(0)} ms, filter ${median(r.filter).toFixed(0)} ms, clear ${median(r.clear).toFixed(0)} ms, ${r.rendered} rows`);
  }
} finally {
  await cleanup();
}

const base10 = results[0]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
console.log(`\n### bench:thread-list (${new Date().toISOString()}, CPU slowed ${CPU}×, median of ${RUNS})\n`);
console.log('| threads | rows in the DOM | desktop open (list cost) | phone: drawer open | filter | clear |');
console.log('|---|---|---|---|---|---|');
const failures: string[] = [];
for (const r of results) {
  const open = median(r.desktopOpen);
  const cost = open - median(base10.desktopOpen);
  const row = [r.threads, r.rendered, `${ms(open)} (${r === base10 ? 'baseline' : ms(cost)})`, ms(median(r.phoneOpen)), ms(median(r.filter)), ms(median(r.clear))];
  console.log(`| ${row.join(' | ')} |`);
  if (r === base10) continue;
  for (const [what, value] of [
    ['list cost at open', cost],
    ['drawer open', median(r.phoneOpen)],
    ['filter', median(r.filter)],
    ['clear', median(r.clear)],
  ] as const) {
    if (value > TARGET_MS) failures.push(`${r.threads} threads: ${what} ${ms(value)} > ${TARGET_MS} ms`);
  }
}
mkdirSync(join(root, 'bench', '.out'), { recursive: true });
writeFileSync(join(root, 'bench', '.out', 'thread-list.json'), JSON.stringify({ cpu: CPU, runs: RUNS, results, failures }, null, 2));
if (failures.length) {
  console.log(`\nMissed: ${failures.join('; ')}`);
  process.exit(1);
}
