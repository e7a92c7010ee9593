/**
 * `bun run start`: builds the web app when its build is missing or older than its
 * sources, then starts the server (embedded database unless DATABASE_URL is set).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dir, '..');
const web = join(root, 'web');
const built = join(web, 'build', 'index.html');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'build', '.svelte-kit'].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

if (existsSync(join(web, 'svelte.config.js'))) {
  const stale = !existsSync(built) || newest(web) > statSync(built).mtimeMs;
  if (stale) {
    console.log('Building the web app (first start or sources changed)…');
    const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: root, stdout: 'inherit', stderr: 'inherit' });
    if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
  }
}

const server = Bun.spawn(['bun', join(root, 'server', 'index.ts')], {
  cwd: root,
  env: {
    ...process.env,
    NODE_ENV: process.env.NODE_ENV ?? 'production',
    // Bun runs at most 256 outgoing HTTP requests at once (a reply's provider stream is one) and
    // queues the rest: replies past 256 in flight would wait for others to end. Read at start-up only.
    BUN_CONFIG_MAX_HTTP_REQUESTS: process.env.BUN_CONFIG_MAX_HTTP_REQUESTS ?? '4096',
  },
  stdout: 'inherit',
  stderr: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.kill(signal));
process.exit(await server.exited);
