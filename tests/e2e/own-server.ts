/**
 * A Parley server of a spec's own, for tests that stop and start it under a running page
 * (the shared stack's server must stay up for every other spec). It uses the embedded
 * database in its own DATA_DIR, so a restart finds its accounts and threads again, and the
 * stack's fake provider (E2E_PORT + 2) for replies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/ports';
import { eventually } from '../support/eventually';

const root = join(import.meta.dirname, '..', '..');

/**
 * `env` is added last: e.g. the stack's DATABASE_URL, DATA_DIR and provider (GET /__stack on
 * E2E_PORT + 2) make it a second instance of the stack's app, on the same database.
 */
export async function ownServer(options: { env?: Record<string, string> } = {}) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-own-'));
  const provider = `http://127.0.0.1:${Number(process.env.E2E_PORT ?? 4321) + 2}`;
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  async function start() {
    child = spawn('bun', [join(root, 'server', 'index.ts')], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: '',
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        OPENAI_BASE_URL: `${provider}/v1`,
        OPENAI_API_KEY: 'test',
        DEFAULT_MODEL: 'openai:gpt-4o-mini',
        LOG_LEVEL: 'warn',
        ...options.env,
      },
      stdio: 'inherit',
    });
    await eventually(
      async () => (await fetch(`${url}/api/health`).then((r) => r.ok, () => false)) || false,
      { timeout: 60_000, interval: 100, message: 'own server healthy' },
    );
  }

  async function stop() {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    // Its own graceful shutdown (the embedded database closed cleanly), or killed if it lingers.
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    url,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
