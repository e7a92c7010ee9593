/**
 * bun run bench:replies — what Parley's server adds to streamed replies.
 *
 * A real PostgreSQL (started here from the system's binaries), the server as its
 * own process (`bun server/index.ts`, so its RSS is its own), and the fake provider
 * with a fixed first-token delay and pace. For N = 1, 50, 200 replies in flight,
 * requests arrive open-loop at N / (reply duration) per second, so about N replies
 * are streaming at any moment; 3·N replies are measured per level.
 *
 *   added TTFT      = client's first delta − request sent − fake's first-token delay
 *   added last token = client's last delta − request sent − fake's whole pacing
 * (so the figures include the fake's and the client's own overhead: conservative).
 *
 * Change of method (w4): until then the fake provider ran in this process, beside the client
 * that opens up to 264 streams at once, so the fake's timers (its first token due after 300 ms)
 * fired late whenever this process's event loop lagged, and that lateness was counted as the
 * server's. Now (default, `--fake process`) the fake runs as its own process
 * (`bun tests/support/fake-provider/index.ts PORT`, configured over its HTTP control), and the
 * fake notes when each request arrived and when it wrote the first token (epoch ms, comparable
 * across processes), so the table also shows
 *   server-added TTFT = (fake got the request − request sent) + (client's first delta − fake wrote the first token)
 * i.e. the time the request spent in the server before the provider was called, plus the time
 * the first token took from the provider through the server to the client; the fake's own
 * timer lateness is left out, the client's (this process's) is still in. Both split columns are
 * shown ("to provider", "back"). "bench loop lag" is this process's event-loop lag during the
 * level (a timer every 5 ms: how late it fired). `--fake inproc` runs the old method (same columns).
 * Also since w4: this process and the server run with BUN_CONFIG_MAX_HTTP_REQUESTS=4096 (Bun's fetch
 * otherwise runs 256 requests at once and queues the rest: the client's streams, and the server's
 * provider streams, past 256 replies in flight waited for others to end, which made the 200 level's
 * tail swing with how far in-flight overshot 200). The server's own start-up (scripts/start.ts,
 * the Dockerfile) sets it too. BUN_CONFIG_MAX_HTTP_REQUESTS=256 bun bench/replies.ts shows the old limit
 * for this process (the server keeps 4096).
 * SERVER_LAG=1 (single instance) also reports the server's own event-loop lag (bench/lag-probe.ts).
 * "CPU ms per reply" is the CPU time (user + system, /proc) the server process(es) and PostgreSQL
 * (postmaster and backends) used during the level, divided by its replies: the work each reply
 * costs, which a loaded machine changes far less than it changes latencies.
 *
 * Then GET /api/threads requests/s with 10,000 threads in the database.
 * Prints a Markdown table. Options: --levels 1,50,200  --first-token 300  --chunks 40 --chunk-delay 50
 * --per-level 3 (replies measured per level, times N)  --list 0 (skip the GET /api/threads part)  --server-root DIR (another checkout's server: before/after)
 * --instances 2: the two-instance setup instead (tests/support/cluster.ts: two server processes
 * behind Debian's nginx on one PostgreSQL); RSS is then the sum over the instances.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../tests/support/client';
import { SseReader } from '../tests/support/sse';
import { startParleyCluster } from '../tests/support/cluster';
import { cpuMs, freePort, loopLag, percentile as pct, postgresPids, root, startBenchStack } from './support';


// Bun's fetch runs at most BUN_CONFIG_MAX_HTTP_REQUESTS requests at once (256 by default, read at
// start-up only) and queues the rest. This client holds one per reply in flight (200 and more), so
// with the default it queued its own requests and counted that as the server's time: run again with
// a higher limit unless one was given (BUN_CONFIG_MAX_HTTP_REQUESTS=256 shows the old behaviour).
if (!process.env.BUN_CONFIG_MAX_HTTP_REQUESTS) {
  const again = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' },
    stdio: ['inherit', 'inherit', 'inherit'],
  });
  process.on('SIGINT', () => again.kill('SIGINT'));
  process.exit(await again.exited);
}

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const LEVELS = arg('levels', '1,50,200').split(',').map(Number);
const FIRST_TOKEN_MS = Number(arg('first-token', '300'));
const CHUNKS = Number(arg('chunks', '40'));
const CHUNK_DELAY_MS = Number(arg('chunk-delay', '50'));
const PACING_MS = FIRST_TOKEN_MS + (CHUNKS - 1) * CHUNK_DELAY_MS;
const INSTANCES = Number(arg('instances', '1'));
/** --per-level K: K·N replies measured per level (3 by default; more gives a steadier p99, which is the 1% slowest). */
const PER_LEVEL = Number(arg('per-level', '3'));
/** --server-root DIR: run another checkout's server (a before/after comparison on the same machine state; one instance). */
const SERVER_ROOT = arg('server-root', root);
const LIST = arg('list', '1') !== '0'; // --list 0: skip the GET /api/threads part (e.g. to profile the replies alone)
const FAKE_MODE = arg('fake', 'process') as 'process' | 'inproc';
if (FAKE_MODE !== 'process' && FAKE_MODE !== 'inproc') throw new Error('--fake process|inproc');

const f1 = (x: number) => x.toFixed(1);

function rssOfPid(pid: number, field: 'VmRSS' | 'VmHWM') {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
}
/** The server's RSS (kB); with several instances, their sum. */
const rssKb = (_pid: number, field: 'VmRSS' | 'VmHWM') => serverPids().reduce((sum, pid) => sum + rssOfPid(pid, field), 0);

console.error('starting PostgreSQL, the fake provider and the server…');
const reply = Array.from({ length: CHUNKS }, (_, i) => `tok${i}`).join(' ');
const configure = (fake: Parameters<NonNullable<Parameters<typeof startBenchStack>[1]>>[0]) => {
  fake.chat.defaults.firstTokenDelayMs = FIRST_TOKEN_MS;
  fake.chat.defaults.chunkDelayMs = CHUNK_DELAY_MS;
};
/** The fake provider as its own process (`--fake process`): its URL, or null for the in-process one. */
const fakeProcess =
  FAKE_MODE === 'process'
    ? await (async () => {
        const port = await freePort();
        const proc = Bun.spawn(['bun', join(root, 'tests/support/fake-provider/index.ts'), String(port)], { stdout: 'ignore', stderr: 'inherit' });
        const url = `http://127.0.0.1:${port}`;
        process.on('exit', () => proc.kill()); // whatever happens to the bench
        for (let i = 0; ; i++) {
          const res = await fetch(`${url}/__fake/chat/defaults`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ firstTokenDelayMs: FIRST_TOKEN_MS, chunkDelayMs: CHUNK_DELAY_MS, text: reply }),
          }).catch(() => null);
          if (res?.ok) {
            await res.body?.cancel();
            break;
          }
          if (i > 200) throw new Error('the fake provider did not start');
          await Bun.sleep(50);
        }
        return { url, proc };
      })()
    : null;
const fakeEnv: Record<string, string> = fakeProcess ? { OPENAI_BASE_URL: `${fakeProcess.url}/v1` } : {};
// SERVER_LAG=1: the server runs bench/lag-probe.ts first, which logs its event loop's lateness to a file.
const lagFile = process.env.SERVER_LAG && INSTANCES === 1 ? join(root, 'bench/.out', `server-lag-${process.pid}.jsonl`) : null;
const stack =
  INSTANCES > 1
    ? await (async () => {
        const c = await startParleyCluster({ instances: INSTANCES, durable: false, fake: configure, env: fakeEnv });
        return {
          base: c.url,
          cluster: { url: c.databaseUrl },
          fake: c.fake,
          server: { pid: c.pid(0)! },
          pids: () => Array.from({ length: INSTANCES }, (_, i) => c.pid(i)!),
          stop: () => c.stop(),
        };
      })()
    : await startBenchStack({ ...fakeEnv, ...(lagFile ? { PARLEY_LAG_FILE: lagFile } : {}) }, configure, SERVER_ROOT).then((s) => ({
        ...s,
        pids: () => [s.server.pid],
      }));
const { base, cluster, fake, server } = stack;
const serverPids = stack.pids;
const stopAll = async () => {
  await stack.stop();
  fakeProcess?.proc.kill();
  if (lagFile) rmSync(lagFile, { force: true });
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

type Timing = { arrived: number; firstToken: number | null };
/** What the fake noted for each streamed request since the last call, by the user message it answered. */
async function fakeTimings(): Promise<Map<string, Timing>> {
  const list: ({ said: string } & Timing)[] = fakeProcess
    ? await fetch(`${fakeProcess.url}/__fake/chat/timings?clear=1`).then((r) => r.json())
    : fake.chat.requests.splice(0).flatMap((r) => {
        const last = [...r.messages].reverse().find((m) => m.role === 'user');
        return r.stream ? [{ said: typeof last?.content === 'string' ? last.content : '', arrived: r.arrivedWall, firstToken: r.firstTokenWall }] : [];
      });
  return new Map(list.map((t) => [t.said, t]));
}
/** The server's event-loop lag (p99, worst) between two epoch times, from bench/lag-probe.ts's file. */
function serverLag(from: number, to: number) {
  if (!lagFile) return null;
  const lags = readFileSync(lagFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as [number, number])
    .filter(([t]) => t >= from && t <= to)
    .map(([, lag]) => lag);
  return { p99: pct(lags, 99), max: Math.max(0, ...lags) };
}
const wall = (t: number) => performance.timeOrigin + t;

// A pool of users, each with a few threads, so per-user locks are realistic but not the bottleneck.
const USERS = 40;
const users: { client: Client; threads: string[] }[] = [];
for (let u = 0; u < USERS; u++) {
  const client = new Client(base);
  const reg = await client.json('POST', '/api/auth/register', { email: `bench${u}@example.test`, password: `pw-${crypto.randomUUID()}` });
  if (reg.status !== 201) throw new Error(`register: ${reg.status}`);
  const threads: string[] = [];
  for (let t = 0; t < 5; t++) threads.push((await client.json('POST', '/api/threads', { title: `bench ${t}` })).body.thread.id);
  users.push({ client, threads });
}
let run = 0; // makes every message's text unique across levels
async function oneReply(i: number) {
  const u = users[i % USERS]!;
  const thread = u.threads[Math.floor(i / USERS) % u.threads.length]!;
  if (!fakeProcess) fake.chat.script({ text: reply });
  const content = `bench ${run} ${i}`;
  const sent = performance.now();
  const res = await u.client.request('POST', `/api/threads/${thread}/messages`, { id: crypto.randomUUID(), content });
  const sse = new SseReader(res);
  let first = 0;
  let last = 0;
  for (let e = await sse.next(); e; e = await sse.next()) {
    if (e.event === 'delta') {
      if (!first) first = e.at;
      last = e.at;
    }
  }
  const final = sse.events.at(-1);
  return {
    content,
    sent: wall(sent),
    first: wall(first),
    ttft: first - sent - FIRST_TOKEN_MS,
    lastToken: last - sent - PACING_MS,
    complete: final?.event === 'done' && sse.text() === reply && final.data.message.content === reply,
  };
}

const rows: string[] = [];
// Warm-up: JIT, connections, model list cache.
await Promise.all(Array.from({ length: 10 }, (_, i) => oneReply(i)));
await Bun.sleep(1000);
const baselineKb = rssKb(server.pid, 'VmRSS');

const pgPort = Number(new URL(cluster.url).port);
async function level(n: number) {
  run++;
  const total = n === 1 ? 20 : PER_LEVEL * n;
  const from = wall(performance.now());
  const pgBefore = postgresPids(pgPort); // backends opened during the level count from 0
  const harness = () => cpuMs([process.pid, ...(fakeProcess ? [fakeProcess.proc.pid] : [])]);
  const cpu0 = { server: cpuMs(serverPids()), pg: cpuMs(pgBefore), harness: harness() };
  const interval = PACING_MS / n; // arrivals that keep ~n replies in flight
  let inFlight = 0;
  let maxInFlight = 0;
  const results: Promise<Awaited<ReturnType<typeof oneReply>>>[] = [];
  const lag = loopLag();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    results.push(
      oneReply(i).finally(() => {
        inFlight--;
      }),
    );
    if (n === 1) await results.at(-1); // strictly one at a time
  }
  const done = await Promise.all(results);
  const benchLag = lag.stop();
  const pgAfter = [...new Set([...pgBefore, ...postgresPids(pgPort)])];
  const cpu = { server: (cpuMs(serverPids()) - cpu0.server) / total, pg: (cpuMs(pgAfter) - cpu0.pg) / total };
  harnessCpu.push(`${n}: ${f1((harness() - cpu0.harness) / total)}`);
  const lagOfServer = serverLag(from, wall(performance.now()));
  const timings = await fakeTimings();
  const toProvider: number[] = [];
  const back: number[] = [];
  const serverAdded: number[] = [];
  for (const r of done) {
    const t = timings.get(r.content);
    if (!t?.firstToken) continue;
    toProvider.push(t.arrived - r.sent);
    back.push(r.first - t.firstToken);
    serverAdded.push(t.arrived - r.sent + (r.first - t.firstToken));
  }
  if (serverAdded.length !== done.length) console.error(`N=${n}: the fake's timings matched ${serverAdded.length} of ${done.length} replies`);  const ttft = done.map((r) => r.ttft);
  const lastTok = done.map((r) => r.lastToken);
  const lost = done.filter((r) => !r.complete).length;
  console.error(`N=${n} done`);
  return `| ${n} | ${maxInFlight} | ${total} | ${f1(pct(ttft, 50))} | ${f1(pct(ttft, 99))} | ${f1(pct(lastTok, 50))} | ${f1(pct(lastTok, 99))} | ${lost} | ${(rssKb(server.pid, 'VmHWM') / 1024).toFixed(0)} | **${f1(pct(serverAdded, 50))} / ${f1(pct(serverAdded, 99))}** | ${f1(pct(toProvider, 99))} | ${f1(pct(back, 99))} | ${f1(benchLag.p99)} / ${f1(benchLag.max)} | ${lagOfServer ? `${f1(lagOfServer.p99)} / ${f1(lagOfServer.max)}` : '–'} | ${f1(cpu.server)} / ${f1(cpu.pg)} |`;
}

/** CPU ms per reply of this process (the client) and the fake provider, per level: what the harness takes of the same cores. */
const harnessCpu: string[] = [];
for (const n of LEVELS) rows.push(await level(n));
// Memory after the run settles, then after the largest level once more: a leak would keep growing.
await Bun.sleep(5000);
const afterKb = rssKb(server.pid, 'VmRSS');
const top = Math.max(...LEVELS);
rows.push((await level(top)).replace(/^\| (\d+)/, '| $1 (again)'));
await Bun.sleep(5000);
const againKb = rssKb(server.pid, 'VmRSS');

// Every reply stored complete?
const [{ streaming, total }] = (await (async () => {
  const postgres = (await import('postgres')).default;
  const sql = postgres(cluster.url, { max: 1 });
  const r = await sql`select count(*) filter (where status <> 'complete')::int as streaming, count(*)::int as total from messages where role = 'assistant'`;
  await sql.end();
  return r;
})()) as unknown as [{ streaming: number; total: number }];

// GET /api/threads with 10,000 threads in the database (one user's).
const DURATION_MS = 5000;
const CONCURRENCY = 16;
let failures = 0;
const rps = LIST ? await listRate() : NaN;
async function listRate() {
  const postgres = (await import('postgres')).default;
  const sql = postgres(cluster.url, { max: 1 });
  const heavy = new Client(base);
  await heavy.json('POST', '/api/auth/register', { email: 'many@example.test', password: `pw-${crypto.randomUUID()}` });
  const [{ id: heavyId }] = (await sql`select id from users where email = 'many@example.test'`) as unknown as [{ id: string }];
  await sql`
    insert into threads (user_id, title, updated_at, seq)
    select ${heavyId}, 'Thread ' || g, now() - g * interval '1 minute', g from generate_series(1, 10000) g`;
  await sql`analyze threads`;
  await sql.end();
  let count = 0;
  const stopAt = performance.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      let cursor: string | null = null;
      while (performance.now() < stopAt) {
        // Half the workers read the first page, half walk deeper pages.
        const path: string = w % 2 === 0 || !cursor ? '/api/threads?limit=50' : `/api/threads?limit=50&before=${cursor}`;
        const res = await heavy.json('GET', path);
        if (res.status !== 200) failures++;
        else cursor = w % 2 === 0 ? null : res.body.nextCursor;
        count++;
      }
    }),
  );
  return count / (DURATION_MS / 1000);
}

console.log(
  `\n### bench:replies (${new Date().toISOString()}, ${navigator.hardwareConcurrency} cores, real PostgreSQL${INSTANCES > 1 ? `, ${INSTANCES} instances behind nginx` : ''})\n`,
);
if (SERVER_ROOT !== root) console.log(`Server: ${SERVER_ROOT}\n`);
console.log(
  `Fake provider (${fakeProcess ? 'its own process' : "in the bench's process: the old method"}): first token after ${FIRST_TOKEN_MS} ms, ${CHUNKS} chunks ${CHUNK_DELAY_MS} ms apart (pacing ${PACING_MS} ms).\n`,
);
console.log('| replies in flight (target) | max in flight | replies | added TTFT p50 ms | added TTFT p99 ms | added last-token p50 ms | added last-token p99 ms | lost/truncated | server peak RSS MB | server-added TTFT p50 / p99 ms | to provider p99 ms | back p99 ms | bench loop lag p99 / max ms | server loop lag p99 / max ms | CPU ms per reply: server / PostgreSQL |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(
  `\nServer RSS: ${(baselineKb / 1024).toFixed(0)} MB after warm-up, ${(afterKb / 1024).toFixed(0)} MB 5 s after the levels, ` +
    `${(againKb / 1024).toFixed(0)} MB 5 s after the largest level ran again; assistant messages stored: ${total}, not complete: ${streaming}.`,
);
console.log(`The harness on the same machine, CPU ms per reply (this client and the fake provider), by level: ${harnessCpu.join(', ')}.`);
if (LIST) console.log(`GET /api/threads (10,000 threads, limit 50, ${CONCURRENCY} concurrent clients, ${DURATION_MS / 1000} s): ${rps.toFixed(0)} requests/s, ${failures} failures.`);
await stopAll();
process.exit(0);
