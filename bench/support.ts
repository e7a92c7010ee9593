/**
 * What every benchmark starts the same way: a real PostgreSQL from the system's
 * binaries, the fake provider in this process, and the server as its own process
 * (`bun server/index.ts`, so its CPU and memory are its own), on free loopback ports.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../tests/support/postgres';
import { startFakeProvider, type FakeProvider } from '../tests/support/fake-provider';
import { freePort } from '../tests/support/ports';

export const root = join(import.meta.dir, '..');

/** Builds web/ unless BENCH_NO_BUILD=1 and a build exists. */
export function ensureWebBuild() {
  if (process.env.BENCH_NO_BUILD === '1' && existsSync(join(root, 'web', 'build', 'index.html'))) return;
  console.error('building the web app…');
  const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: root, stdout: 'ignore', stderr: 'inherit' });
  if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
}

export { freePort } from '../tests/support/ports';

/** The p-th percentile (nearest rank) of xs. */
export function percentile(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
export const median = (xs: number[]) => percentile(xs, 50);

/** CPU time (user + system, ms) the processes have used so far; gone processes count 0. */
export function cpuMs(pids: number[]) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
    } catch {
      /* exited */
    }
  }
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** The PostgreSQL server listening on `port` and its backends (pids), to weigh its CPU time. */
export function postgresPids(port: number): number[] {
  const listing = Bun.spawnSync(['ss', '-ltnpH', `sport = :${port}`]).stdout.toString();
  const postmaster = Number(listing.match(/pid=(\d+)/)?.[1] ?? 0);
  if (!postmaster) return [];
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/**
 * This process's event-loop lag while it runs: a timer due every `everyMs` notes how late it
 * fired. A bench whose client (and fake provider) share this process counts that lateness in
 * its latencies, so it reports it beside them: `stop()` gives the p99 and the worst (ms).
 */
export function loopLag(everyMs = 5) {
  const lags: number[] = [];
  let due = performance.now() + everyMs;
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - due));
    due = now + everyMs;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { p99: percentile(lags, 99), max: Math.max(0, ...lags) };
    },
  };
}

export interface BenchStack {
  base: string;
  cluster: Cluster;
  fake: FakeProvider;
  server: ReturnType<typeof Bun.spawn>;
  dataDir: string;
  stop(): Promise<void>;
}

/** PostgreSQL + fake provider + server process, healthy; `env` adds to the server's environment. */
export async function startBenchStack(
  env: Record<string, string> = {},
  configureFake?: (fake: FakeProvider) => void,
  /** Another checkout's root, to run its server (a before/after comparison). */
  serverRoot = root,
) {
  const cluster = await startCluster();
  const fake = await startFakeProvider();
  configureFake?.(fake);
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // SERVER_PROF=1: the server writes a CPU profile (Markdown) into bench/.out (or SERVER_PROF_DIR) when it stops;
  // SERVER_PROF=json: a .cpuprofile instead (Chrome's format: samples and their stacks, for bench/profile-top.ts).
  // PARLEY_LAG_FILE in `env`: the server's event-loop lag is logged there (bench/lag-probe.ts).
  const probe = env.PARLEY_LAG_FILE ? ['--preload', join(root, 'bench/lag-probe.ts')] : [];
  const server = Bun.spawn(['bun', ...probe, ...(process.env.SERVER_PROF ? [process.env.SERVER_PROF === 'json' ? '--cpu-prof' : '--cpu-prof-md', `--cpu-prof-dir=${process.env.SERVER_PROF_DIR ?? join(root, 'bench/.out')}`] : []), join(serverRoot, 'server/index.ts')], {
    cwd: serverRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      DATA_DIR: dataDir,
      DATABASE_URL: cluster.url,
      OPENAI_BASE_URL: fake.openaiBaseUrl,
      OPENAI_API_KEY: 'bench',
      BUN_CONFIG_MAX_HTTP_REQUESTS: '4096', // as scripts/start.ts and the Dockerfile set it (Bun's default: 256 at once)
      DEFAULT_MODEL: 'openai:gpt-4o-mini',
      AUTH_IP_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...env,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const stop = async () => {
    server.kill('SIGTERM');
    await server.exited;
    fake.stop();
    cluster.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/api/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 300) {
      await stop();
      throw new Error('the server did not start');
    }
    await Bun.sleep(50);
  }
  return { base, cluster, fake, server, dataDir, stop } satisfies BenchStack;
}
