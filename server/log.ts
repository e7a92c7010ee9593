/** A tiny structured logger: one JSON line per event on stderr; level from config. */
type Level = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
let threshold: Level = 'info';

export function setLogLevel(level: Level) {
  threshold = level;
}

function write(level: Exclude<Level, 'silent'>, msg: string, data?: Record<string, unknown>) {
  if (order[level] < order[threshold]) return;
  console.error(JSON.stringify({ t: new Date().toISOString(), level, msg, ...data }));
}

export const log = {
  debug: (msg: string, data?: Record<string, unknown>) => write('debug', msg, data),
  info: (msg: string, data?: Record<string, unknown>) => write('info', msg, data),
  warn: (msg: string, data?: Record<string, unknown>) => write('warn', msg, data),
  error: (msg: string, data?: Record<string, unknown>) => write('error', msg, data),
};
