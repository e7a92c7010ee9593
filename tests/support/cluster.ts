/**
 * Parley as a deployment runs it: ONE real PostgreSQL, N Parley instances (real
 * `bun server/index.ts` processes, each with its own DATA_DIR and port, one APP_SECRET) and
 * Debian's nginx in front, configured by docker/nginx.conf (the compose file's own), all on
 * free loopback ports in a temp dir. The fake provider runs in the test's process.
 *
 *   const c = await startParleyCluster({ instances: 2 });
 *   c.url                      nginx (round robin over the instances)
 *   c.instanceUrl(0)           instance 0 directly
 *   await c.kill(0, 'SIGKILL') signal an instance; resolves with its exit code once it exited
 *   await c.restart(0)         start it again (same port and DATA_DIR), healthy
 *   await c.stopPostgres(); await c.startPostgres()   an outage in two steps (same port, data kept)
 *   await c.restartPostgres()  both, at once
 *   c.sql                      a postgres.js client on the database, for assertions
 *   c.fake                     the fake provider (script replies: c.fake.chat.script(...))
 *   c.pid(i), c.log(i)         an instance's pid and what it printed
 *   await c.stop()             everything down, files removed
 * `env` adds to every instance's environment. If the test process dies, a watchdog stops
 * what it started (PostgreSQL has its own, in tests/support/postgres.ts).
 */
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startFakeProvider, type FakeProvider } from './fake-provider';
import { freePort } from './ports';
import { startCluster } from './postgres';

const root = join(import.meta.dir, '..', '..');
const NGINX = ['/usr/sbin/nginx', Bun.which('nginx')].find((p) => p && Bun.file(p).size > 0) ?? 'nginx';

export interface ClusterOptions {
  instances?: number;
  env?: Record<string, string>;
  /** Commits on disk before acknowledged (default true: a PostgreSQL restart loses nothing); benchmarks compare with false. */
  durable?: boolean;
  /** Configure the fake provider before anything starts. */
  fake?: (fake: FakeProvider) => void;
}

interface Instance {
  port: number;
  dataDir: string;
  proc: ReturnType<typeof Bun.spawn> | null;
  logFile: string;
}

export type ParleyCluster = Awaited<ReturnType<typeof startParleyCluster>>;

/** The nginx config of docker/nginx.conf with these upstreams, this port, and paths under `dir`. */
export function nginxConfig(dir: string, port: number, upstreams: number[]) {
  const source = readFileSync(join(root, 'docker', 'nginx.conf'), 'utf8');
  const upstream = `upstream parley {\n${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}\n  }`;
  const replaced = source
    .replace(/# parley-upstream-begin[\s\S]*# parley-upstream-end/, upstream)
    .replace(/# parley-listen\s*\n\s*listen 80;/, `listen 127.0.0.1:${port};`)
    .replace(
      /http \{/,
      `http {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;`,
    );
  if (replaced.includes('app1:3000') || !replaced.includes(`listen 127.0.0.1:${port};`)) {
    throw new Error('docker/nginx.conf lost its markers (parley-upstream-begin/end, parley-listen)');
  }
  return `pid ${dir}/nginx.pid;\nerror_log ${dir}/nginx-error.log warn;\n${replaced}`;
}

async function waitHealthy(url: string, timeoutMs = 30_000, what = url) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/api/health`).then((r) => r.ok, () => false);
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`${what} did not become healthy within ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

export async function startParleyCluster(options: ClusterOptions = {}) {
  const count = options.instances ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
  chmodSync(dir, 0o755);
  const pidsFile = join(dir, 'pids');
  writeFileSync(pidsFile, '');
  // Whatever happens to this process, what it started goes with it.
  const watchdog = Bun.spawn(
    [
      'setsid',
      'sh',
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -9 $(cat ${pidsFile}) 2>/dev/null; rm -rf ${dir}`,
    ],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' },
  );
  watchdog.unref();
  const remember = (pid: number) => appendFileSync(pidsFile, `${pid}\n`);

  // Durable commits: a PostgreSQL restart here must lose no committed row, as on a real server.
  const pg = await startCluster({ durable: options.durable ?? true });
  const fake = await startFakeProvider();
  options.fake?.(fake);
  const nginxPort = await freePort();
  const url = `http://127.0.0.1:${nginxPort}`;
  const secret = `cluster-secret-${crypto.randomUUID()}`;

  const instances: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const dataDir = join(dir, `data${i}`);
    mkdirSync(dataDir);
    instances.push({ port: await freePort(), dataDir, proc: null, logFile: join(dir, `instance${i}.log`) });
  }

  const spawn = (i: number) => {
    const inst = instances[i]!;
    const out = Bun.file(inst.logFile);
    const proc = Bun.spawn(['bun', join(root, 'server/index.ts')], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(inst.port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        DATA_DIR: inst.dataDir,
        DATABASE_URL: pg.url,
        APP_SECRET: secret,
        OPENAI_BASE_URL: fake.openaiBaseUrl,
        OPENAI_API_KEY: 'cluster',
        BUN_CONFIG_MAX_HTTP_REQUESTS: '4096', // as scripts/start.ts and the Dockerfile set it
        DEFAULT_MODEL: 'openai:gpt-4o-mini',
        AUTH_IP_LIMIT: '1000000',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        NODE_ENV: 'production',
        ...options.env,
      },
      stdout: out,
      stderr: out,
    });
    remember(proc.pid);
    inst.proc = proc;
    return proc;
  };

  // The first instance applies the migrations alone; then the others.
  spawn(0);
  await waitHealthy(`http://127.0.0.1:${instances[0]!.port}`, 30_000, 'instance 0');
  for (let i = 1; i < count; i++) spawn(i);
  await Promise.all(instances.slice(1).map((inst, i) => waitHealthy(`http://127.0.0.1:${inst.port}`, 30_000, `instance ${i + 1}`)));

  const nginxDir = join(dir, 'nginx');
  mkdirSync(nginxDir);
  chmodSync(nginxDir, 0o777); // its workers may run as another user when we are root
  const conf = join(nginxDir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(nginxDir, nginxPort, instances.map((x) => x.port)));
  const nginx = Bun.spawn([NGINX, '-p', nginxDir, '-e', join(nginxDir, 'nginx-error.log'), '-c', conf, '-g', 'daemon off;'], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: Bun.file(join(nginxDir, 'stderr.log')),
  });
  remember(nginx.pid);
  try {
    await waitHealthy(url, 10_000, 'nginx');
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${readFileSync(join(nginxDir, 'nginx-error.log'), 'utf8').slice(-2000)}`);
  }

  const sql = postgres(pg.url, { max: 2, onnotice: () => {}, transform: postgres.camel });
  let stopped = false;

  const cluster = {
    url,
    fake,
    sql,
    databaseUrl: pg.url,
    instances: count,
    instanceUrl: (i: number) => `http://127.0.0.1:${instances[i]!.port}`,
    pid: (i: number) => instances[i]!.proc?.pid ?? null,
    log: (i: number) => readFileSync(instances[i]!.logFile, 'utf8'),
    /** Whether instance i's process is running. */
    running: (i: number) => instances[i]!.proc !== null && instances[i]!.proc!.exitCode === null && !instances[i]!.proc!.signalCode,
    /** Sends `signal` to instance i; resolves with its exit code once it has exited. */
    async kill(i: number, signal: NodeJS.Signals = 'SIGTERM') {
      const proc = instances[i]!.proc;
      if (!proc) return null;
      proc.kill(signal);
      const code = await proc.exited;
      instances[i]!.proc = null;
      return code;
    },
    /** Starts instance i again (after kill), on its port with its DATA_DIR; resolves once healthy. */
    async restart(i: number) {
      if (instances[i]!.proc) await cluster.kill(i, 'SIGTERM');
      spawn(i);
      await waitHealthy(cluster.instanceUrl(i), 30_000, `instance ${i}`);
    },
    /** PostgreSQL goes away (immediate shutdown: connections drop), its data kept. */
    async stopPostgres() {
      pg.pause();
    },
    async startPostgres() {
      pg.resume();
    },
    async restartPostgres() {
      pg.pause();
      pg.resume();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await sql.end({ timeout: 1 }).catch(() => {});
      nginx.kill('SIGTERM');
      await Promise.all(
        instances.map(async (inst) => {
          if (!inst.proc) return;
          inst.proc.kill('SIGKILL');
          await inst.proc.exited;
        }),
      );
      await nginx.exited;
      fake.stop();
      pg.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}
