/**
 * bun run bench:offline — what the offline mirror costs and gives.
 *
 * A real PostgreSQL (started here), the fake provider, and the server as its own process
 * (`bun server/index.ts`) serving the built app. One user with 500 threads × 20 messages
 * (seeded in SQL: a chain per thread, user messages ~60–180 characters, replies ~300–1,200,
 * seq values as the server would have issued them), then:
 *
 *   1. first sync with a bun client, page by page as the app asks (limit 2000): time and
 *      bytes on the wire (status line, headers and body; request lines and headers too),
 *      with gzip (what browsers ask for) and without;
 *   2. one new message exchange, then the incremental sync: bytes (target < 5 KB);
 *   3. in Debian's Chromium (persistent profile, service worker allowed, 1280×800): the
 *      app's own first sync, from its first /api/sync request until the mirror is complete
 *      in IndexedDB (bytes from CDP's encodedDataLength, headers included); the app's
 *      incremental sync after one more exchange; then offline: every page closed, a new
 *      page at / — time from navigation start to the thread list on screen (median of
 *      RUNS, default 5; target ≤ 1 s).
 *
 * Prints a Markdown table; writes bench/.out/offline.json. Exits 1 when a target is missed.
 * Options (env): THREADS (500), PER_THREAD (20), RUNS (5), BENCH_NO_BUILD=1.
 */
import { chromium, type Page } from '@playwright/test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { ensureWebBuild, median, root, startBenchStack } from './support';
import { chromiumArgs } from '../tests/e2e/playwright.config';

const THREADS = Number(process.env.THREADS ?? 500);
const PER_THREAD = Number(process.env.PER_THREAD ?? 20);
const RUNS = Number(process.env.RUNS ?? 5);
const PAGE_LIMIT = 2000; // web/src/lib/offline/sync.ts
const INCREMENTAL_TARGET = 5 * 1024;
const COLD_START_TARGET_MS = 1000;


ensureWebBuild();

console.error('starting PostgreSQL, the fake provider and the server…');
const stack = await startBenchStack({}, (fake) => {
  fake.chat.defaults.firstTokenDelayMs = 20;
  fake.chat.defaults.chunkDelayMs = 5;
});
const { base, cluster } = stack;
const profile = mkdtempSync(join(tmpdir(), 'parley-bench-profile-'));
const cleanup = async () => {
  await stack.stop();
  rmSync(profile, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

// ---- a user with THREADS × PER_THREAD messages ----

const email = 'offline-bench@example.test';
const password = `pw-${crypto.randomUUID()}`;
const cookies = new Map<string, string>();
const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
function keep(res: Response) {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
  }
}
const registered = await fetch(`${base}/api/auth/register`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email, password, name: 'Bench' }),
});
if (registered.status !== 201) throw new Error(`register: ${registered.status}`);
keep(registered);
const { user } = (await registered.json()) as { user: { id: string } };

const USER_TEXT =
  'Could you help me think this through? I want to plan the next steps carefully, with the costs, the risks and what to do first. ' +
  'Also, what would you do differently if you had twice the time?';
const REPLY_TEXT = [
  'Here is a way to look at it, step by step.',
  '',
  '1. **Start with the goal.** Write down what done looks like, in one sentence, and who it is for.',
  '2. **List the constraints.** Time, money and the people involved; note which ones can move.',
  '3. **Pick the first step** that teaches you the most for the least effort, and do it this week.',
  '',
  'A few risks to keep an eye on: scope creeping while you are not looking, dependencies on other people, and tiredness. ',
  'With twice the time I would spend it on the first two steps rather than the execution: most trouble starts there. ',
  'If you tell me more about the budget and the deadline, I can make this concrete, with a table of options and their trade-offs.',
].join('\n');

console.error(`seeding ${THREADS} threads × ${PER_THREAD} messages…`);
const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
const seeded = performance.now();
await sql`
  insert into threads (id, user_id, title, model, created_at, updated_at, seq)
  select md5('t' || g)::uuid, ${user.id},
    (array['Trip to Lisbon', 'Sourdough starter', 'Quarterly budget', 'Code review notes', 'Reading list'])[1 + g % 5] || ' ' || g,
    'openai:gpt-4o-mini',
    now() - interval '60 days' + g * interval '1 hour',
    now() - interval '60 days' + g * interval '1 hour' + ${PER_THREAD} * interval '1 minute',
    g
  from generate_series(1, ${THREADS}) g`;
await sql`
  insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, created_at, updated_at, seq)
  select md5('m' || t || '-' || i)::uuid, md5('t' || t)::uuid, ${user.id},
    case when i = 1 then null else md5('m' || t || '-' || (i - 1))::uuid end,
    case when i % 2 = 1 then 'user' else 'assistant' end,
    case when i % 2 = 1 then left(${USER_TEXT}, 60 + (t * 7 + i * 13) % 120)
         else left(${REPLY_TEXT}, 300 + (t * 11 + i * 17) % 900) end,
    'complete',
    case when i % 2 = 0 then 'openai:gpt-4o-mini' end,
    now() - interval '60 days' + t * interval '1 hour' + i * interval '1 minute',
    now() - interval '60 days' + t * interval '1 hour' + i * interval '1 minute',
    ${THREADS} + (t - 1) * ${PER_THREAD} + i
  from generate_series(1, ${THREADS}) t, generate_series(1, ${PER_THREAD}) i`;
await sql`update users set sync_seq = ${THREADS + THREADS * PER_THREAD} where id = ${user.id}`;
await sql`analyze threads`;
await sql`analyze messages`;
await sql.end();
const seedMs = performance.now() - seeded;

// ---- bun client: the wire ----

interface Wire {
  pages: number;
  ms: number;
  bytes: number;
  bodyBytes: number;
  jsonBytes: number;
  threads: number;
  messages: number;
  deleted: number;
  cursor: string;
  encoding: string;
}

/** The bytes of an HTTP/1.1 head as sent: a start line, one line per header, a blank line. */
function headBytes(startLine: string, headers: Iterable<[string, string]>) {
  let n = startLine.length + 2;
  for (const [k, v] of headers) n += k.length + 2 + v.length + 2;
  return n + 2;
}

async function syncOverWire(since: string, encoding: 'gzip' | 'identity'): Promise<Wire> {
  const out: Wire = { pages: 0, ms: 0, bytes: 0, bodyBytes: 0, jsonBytes: 0, threads: 0, messages: 0, deleted: 0, cursor: since, encoding: '' };
  const started = performance.now();
  for (;;) {
    const path = `/api/sync?since=${encodeURIComponent(out.cursor)}&limit=${PAGE_LIMIT}`;
    const headers = { host: new URL(base).host, accept: '*/*', 'accept-encoding': encoding, cookie: cookieHeader() };
    const res = await fetch(base + path, { headers, decompress: false } as RequestInit);
    if (res.status !== 200) throw new Error(`sync: ${res.status} ${await res.text()}`);
    const body = new Uint8Array(await res.arrayBuffer());
    const gz = res.headers.get('content-encoding') === 'gzip';
    const json = gz ? Bun.gunzipSync(body) : body;
    const page = JSON.parse(new TextDecoder().decode(json)) as {
      threads: unknown[];
      messages: unknown[];
      deletedThreadIds: unknown[];
      cursor: string;
      more: boolean;
    };
    out.pages++;
    out.bytes += headBytes(`GET ${path} HTTP/1.1`, Object.entries(headers)) + headBytes('HTTP/1.1 200 OK', res.headers.entries()) + body.length;
    out.bodyBytes += body.length;
    out.jsonBytes += json.length;
    out.threads += page.threads.length;
    out.messages += page.messages.length;
    out.deleted += page.deletedThreadIds.length;
    out.encoding = gz ? 'gzip' : 'none';
    out.cursor = page.cursor;
    if (!page.more) break;
  }
  out.ms = performance.now() - started;
  return out;
}

/** One exchange, as the app posts it, read to the end of its reply. */
async function exchange(threadId: string, content: string) {
  const res = await fetch(`${base}/api/threads/${threadId}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: cookieHeader(), accept: 'text/event-stream' },
    body: JSON.stringify({ id: crypto.randomUUID(), content }),
  });
  if (res.status !== 200) throw new Error(`post: ${res.status}`);
  const text = await res.text();
  if (!text.includes('event: done')) throw new Error('the reply did not finish');
}

console.error('first sync (bun client)…');
// Warm the server and the database (plans, caches) once, as a running install would be.
await syncOverWire('0', 'identity');
const firstRaw = await syncOverWire('0', 'identity');
const firstGzip = await syncOverWire('0', 'gzip');
const threadId = (await firstThreadId())!;
await exchange(threadId, 'One more question about the budget, please.');
const incremental = await syncOverWire(firstGzip.cursor, 'gzip');
const incrementalRaw = await syncOverWire(firstGzip.cursor, 'identity');

async function firstThreadId() {
  const res = await fetch(`${base}/api/threads?limit=1`, { headers: { cookie: cookieHeader() } });
  return ((await res.json()) as { threads: { id: string }[] }).threads[0]?.id;
}

// ---- Chromium: the app ----

console.error('Chromium: the app’s first sync, incremental sync and offline cold start…');
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: chromiumArgs,
  baseURL: base,
  viewport: { width: 1280, height: 800 },
  serviceWorkers: 'allow',
});
const login = await context.request.post('/api/auth/login', { data: { email, password } });
if (login.status() !== 200) throw new Error(`login: ${login.status()}`);

interface Traffic {
  started: number;
  ended: number;
  bytes: number;
  requestHeaderBytes: number;
  count: number;
}

/** /api/sync traffic of a page as Chromium measured it (CDP: encodedDataLength, headers included). */
async function watchSync(page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const t: Traffic = { started: 0, ended: 0, bytes: 0, requestHeaderBytes: 0, count: 0 };
  const ids = new Set<string>();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (!e.request.url.includes('/api/sync')) return;
    ids.add(e.requestId);
    if (!t.started) t.started = e.timestamp * 1000;
    t.count++;
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    if (!ids.has(e.requestId)) return;
    t.requestHeaderBytes += Object.entries(e.headers as Record<string, string>).reduce((n, [k, v]) => n + k.length + v.length + 4, 0) + 60;
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (!ids.has(e.requestId)) return;
    t.bytes += e.encodedDataLength;
    t.ended = e.timestamp * 1000;
  });
  return t;
}

/** The mirror's state, read from the page (never creating the database). */
function mirrorState(page: Page, id: string) {
  return page.evaluate(async (name) => {
    if (!(await indexedDB.databases()).some((d) => d.name === name)) return null;
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    try {
      if (!db.objectStoreNames.contains('meta')) return null;
      const get = (store: string, key: string) =>
        new Promise<unknown>((resolve) => {
          const req = db.transaction(store).objectStore(store).get(key);
          req.onsuccess = () => resolve(req.result);
        });
      const count = (store: string) =>
        new Promise<number>((resolve) => {
          const req = db.transaction(store).objectStore(store).count();
          req.onsuccess = () => resolve(req.result);
        });
      return { complete: (await get('meta', 'complete')) === true, cursor: (await get('meta', 'cursor')) as string | undefined, threads: await count('threads'), messages: await count('messages') };
    } finally {
      db.close();
    }
  }, `parley-${id}`);
}

async function until<T>(what: string, probe: () => Promise<T | null | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

const page = await context.newPage();
const watched = await watchSync(page);
await page.goto('/');
const totalMessages = THREADS * PER_THREAD + 2;
await until('the first sync', async () => {
  const m = await mirrorState(page, user.id);
  return !!m?.complete && m.messages >= totalMessages;
});
const firstTraffic = { ...watched };
// In the page's own clock: its first /api/sync request → the mirror found complete (polled every 50 ms).
const firstSpan = await page.evaluate(() => {
  const syncs = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/sync'));
  return syncs.length ? { start: syncs[0]!.startTime, now: performance.now() } : null;
});

// Wait for the worker to control the page (needed for the offline start).
await page.evaluate(() => navigator.serviceWorker.ready);
await page.reload();
await until('the worker to control the page', () => page.evaluate(() => navigator.serviceWorker.controller !== null));
// The list shows a window of its first rows (components/Sidebar.svelte), not all THREADS.
await until('the list', () => page.getByRole('navigation', { name: 'Threads' }).getByRole('link').count().then((n) => n > 0));
await page.waitForLoadState('networkidle');

// Incremental: one more exchange (another device, as it were), then the app syncs (on focus).
const before = (await mirrorState(page, user.id))!;
const incrementalTraffic = await watchSync(page);
await exchange(threadId, 'And what about the training budget?');
await page.evaluate(() => window.dispatchEvent(new Event('focus')));
await until('the incremental sync', async () => {
  const m = await mirrorState(page, user.id);
  return m && m.messages >= before.messages + 2 && incrementalTraffic.ended > 0;
});

// Offline cold start: every page closed, the network gone, the app opened again.
await page.close();
await context.setOffline(true);
const coldStarts: number[] = [];
let shownThreads = 0;
for (let run = 0; run < RUNS; run++) {
  const p = await context.newPage();
  await p.goto('/', { waitUntil: 'commit' });
  await p.waitForFunction(() => document.querySelectorAll('nav[aria-label="Threads"] a').length > 0, undefined, { polling: 'raf', timeout: 20_000 });
  coldStarts.push(await p.evaluate(() => performance.now()));
  shownThreads = await p.getByRole('navigation', { name: 'Threads' }).getByRole('link').count();
  const offlineBanner = await p.getByRole('status').filter({ hasText: 'Offline' }).count();
  if (!offlineBanner) throw new Error('no Offline banner on the offline start');
  await p.close();
}
await context.close();
await cleanup();

// ---- report ----

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
const coldMs = median(coldStarts);
const firstAppMs = firstSpan ? firstSpan.now - firstSpan.start : NaN;

const rows: [string, string, string][] = [
  ['Seed (SQL)', `${THREADS} threads × ${PER_THREAD} messages = ${(THREADS * PER_THREAD).toLocaleString()} messages`, `${seedMs.toFixed(0)} ms`],
  [
    'First sync, bun client, no compression',
    `${firstRaw.pages} pages, ${firstRaw.threads} threads + ${firstRaw.messages.toLocaleString()} messages`,
    `${firstRaw.ms.toFixed(0)} ms, ${mb(firstRaw.bytes)} on the wire`,
  ],
  [
    `First sync, bun client, Accept-Encoding: gzip (${firstGzip.encoding})`,
    `${firstGzip.pages} pages; JSON ${mb(firstGzip.jsonBytes)}`,
    `${firstGzip.ms.toFixed(0)} ms, ${mb(firstGzip.bytes)} on the wire`,
  ],
  [
    'First sync in the app (Chromium, into IndexedDB)',
    `${firstTraffic.count} requests; first /api/sync request → mirror complete`,
    `${firstAppMs.toFixed(0)} ms, ${mb(firstTraffic.bytes + firstTraffic.requestHeaderBytes)} (responses ${mb(firstTraffic.bytes)})`,
  ],
  [
    'Incremental sync after one new exchange, bun client',
    `${incremental.threads} thread + ${incremental.messages} messages (${incremental.encoding}; ${kb(incrementalRaw.bytes)} uncompressed)`,
    `${incremental.bytes.toLocaleString()} bytes (${kb(incremental.bytes)}), target < 5 KB`,
  ],
  [
    'Incremental sync in the app (Chromium)',
    `${incrementalTraffic.count} request(s), request headers included`,
    `${(incrementalTraffic.bytes + incrementalTraffic.requestHeaderBytes).toLocaleString()} bytes (${kb(incrementalTraffic.bytes + incrementalTraffic.requestHeaderBytes)}), target < 5 KB`,
  ],
  [
    'Offline cold start → thread list on screen (Chromium)',
    `median of ${RUNS}, the list's first ${shownThreads} rows shown; runs ${coldStarts.map((n) => n.toFixed(0)).join(', ')} ms`,
    `${coldMs.toFixed(0)} ms, target ≤ 1000 ms`,
  ],
];

console.log(`\n### bench:offline (${new Date().toISOString()}, ${navigator.hardwareConcurrency} cores, real PostgreSQL, loopback)\n`);
console.log('| measure | what | result |');
console.log('|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);

const incrementalBytes = Math.max(incremental.bytes, incrementalTraffic.bytes + incrementalTraffic.requestHeaderBytes);
const failures = [
  incrementalBytes >= INCREMENTAL_TARGET ? `incremental sync ${incrementalBytes} bytes ≥ 5 KB` : null,
  coldMs > COLD_START_TARGET_MS ? `offline cold start ${coldMs.toFixed(0)} ms > 1000 ms` : null,
].filter(Boolean);
mkdirSync(join(root, 'bench', '.out'), { recursive: true });
writeFileSync(
  join(root, 'bench', '.out', 'offline.json'),
  JSON.stringify({ threads: THREADS, perThread: PER_THREAD, seedMs, firstRaw, firstGzip, firstApp: { ms: firstAppMs, ...firstTraffic }, incremental, incrementalRaw, incrementalApp: incrementalTraffic, coldStarts, coldMs, failures }, null, 2),
);
if (failures.length) {
  console.log(`\nMissed: ${failures.join('; ')}`);
  process.exit(1);
}
process.exit(0);
