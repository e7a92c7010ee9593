/**
 * Memory under hostile request bodies before authentication (issue 11, defect 3):
 * 20 clients at once each send a 10 MB deeply nested JSON body to POST /api/auth/login.
 * Reports the server process's resident memory: warmed up, and its peak (VmHWM) under
 * the attack, read from /proc. The server runs as its own process on real PostgreSQL.
 *
 *   bun run bench:hostile-bodies                  # this checkout
 *   bun run bench:hostile-bodies -- --root DIR    # another checkout (e.g. the code before the fix)
 *   options: --clients 20 --mb 10 --rounds 3
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { root, startBenchStack } from './support';

function option(name: string, fallback: string) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1]! : fallback;
}
const serverRoot = resolve(option('root', root));
const clients = Number(option('clients', '20'));
const megabytes = Number(option('mb', '10'));
const rounds = Number(option('rounds', '3'));

/** Resident and peak-resident memory of a process, in MB (Linux /proc). */
function memory(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

// One body, shared by every request: {"email": "...", "password": [[[[…]]]]} of about `megabytes` MB.
const depth = Math.floor((megabytes * 1024 * 1024 - 64) / 2);
const body = new TextEncoder().encode(`{"email":"victim@example.test","password":${'['.repeat(depth)}${']'.repeat(depth)}}`);

const stack = await startBenchStack({}, undefined, serverRoot);
const pid = stack.server.pid;
try {
  // Warm up: a few ordinary requests, so the baseline is a running server's, not a cold one's.
  for (let i = 0; i < 20; i++) {
    await fetch(`${stack.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `warm${i}@example.test`, password: 'not-the-password' }),
    }).then((r) => r.arrayBuffer());
  }
  const warm = memory(pid);
  const statuses = new Map<string, number>();
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        const chunked = i % 2 === 1; // half declare their length, half stream it chunked
        const res = await fetch(`${stack.base}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.66.${round}.${i}` },
          body: chunked
            ? new ReadableStream({
                start(controller) {
                  for (let at = 0; at < body.length; at += 256 * 1024) controller.enqueue(body.subarray(at, at + 256 * 1024));
                  controller.close();
                },
              })
            : body,
          ...(chunked ? { duplex: 'half' } : {}),
        } as RequestInit).then(
          async (r) => {
            await r.arrayBuffer();
            return String(r.status);
          },
          (error: Error) => `connection ${error.name}`,
        );
        statuses.set(res, (statuses.get(res) ?? 0) + 1);
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const after = memory(pid);
  const alive = await fetch(`${stack.base}/api/health`).then((r) => r.status, () => 0);
  console.log(`server: ${serverRoot}`);
  console.log(`${rounds} rounds × ${clients} concurrent ${megabytes} MB nested bodies to POST /api/auth/login in ${seconds.toFixed(1)} s`);
  console.log(`answers: ${[...statuses].map(([s, n]) => `${s} ×${n}`).join(', ')}; health afterwards: ${alive}`);
  console.log('| server RSS | MB |');
  console.log('|---|---|');
  console.log(`| warmed up | ${warm.rss.toFixed(0)} |`);
  console.log(`| peak under attack (VmHWM) | ${after.peak.toFixed(0)} |`);
  console.log(`| after | ${after.rss.toFixed(0)} |`);
} finally {
  await stack.stop();
}
