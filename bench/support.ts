/**
 * What every benchmark starts the same way: a real PostgreSQL from the system's
 * binaries, the fake provider in this process, and the server as its own process
 * (`bun server/index.ts`, so its CPU and memory are its own), on free loopback ports.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
  // SERVER_PROF=1: the server writes a CPU profile (Markdown) into bench/.out (or SERVER_PROF_DIR) when it stops.
  const server = Bun.spawn(['bun', ...(process.env.SERVER_PROF ? ['--cpu-prof-md', `--cpu-prof-dir=${process.env.SERVER_PROF_DIR ?? join(root, 'bench/.out')}`] : []), join(serverRoot, 'server/index.ts')], {
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
