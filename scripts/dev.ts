/**
 * `bun run dev`: the server with --watch on PORT (default 3000) and Vite's dev server
 * on 5173 with /api proxied to it. Open http://localhost:5173.
 */
import { join } from 'node:path';

const root = join(import.meta.dir, '..');
const port = process.env.PORT ?? '3000';
const procs = [
  Bun.spawn(['bun', '--watch', join(root, 'server', 'index.ts')], {
    cwd: root,
    env: { ...process.env, PORT: port, PUBLIC_URL: process.env.PUBLIC_URL ?? 'http://localhost:5173' },
    stdout: 'inherit',
    stderr: 'inherit',
  }),
  Bun.spawn(['bunx', '--bun', 'vite', 'dev', '--port', '5173'], {
    cwd: join(root, 'web'),
    env: { ...process.env, PARLEY_API: `http://localhost:${port}` },
    stdout: 'inherit',
    stderr: 'inherit',
  }),
];
const stop = () => procs.forEach((p) => p.kill());
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
await Promise.race(procs.map((p) => p.exited));
stop();
