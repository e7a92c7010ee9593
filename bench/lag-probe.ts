/**
 * Preloaded into a bench's server (`bun --preload bench/lag-probe.ts server/index.ts`, when
 * PARLEY_LAG_FILE is set): a timer due every 5 ms notes how late it fired, and every half
 * second the notes are appended to PARLEY_LAG_FILE as `[epoch ms, lag ms]` lines, so the bench
 * can read the server's event-loop lag during a level. Costs one timer callback per 5 ms.
 */
import { appendFileSync } from 'node:fs';

const file = process.env.PARLEY_LAG_FILE;
if (file) {
  const EVERY = 5;
  let lines: string[] = [];
  let due = performance.now() + EVERY;
  setInterval(() => {
    const now = performance.now();
    lines.push(`[${(performance.timeOrigin + now).toFixed(1)},${Math.max(0, now - due).toFixed(2)}]`);
    due = now + EVERY;
  }, EVERY).unref();
  setInterval(() => {
    if (!lines.length) return;
    appendFileSync(file, lines.join('\n') + '\n');
    lines = [];
  }, 500).unref();
}
