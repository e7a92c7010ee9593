/** The only file that listens: config → database → migrations → app.listen. */
import { ConfigError, loadConfig } from './config';
import { openDatabase, warmPool } from './db';
import { warmQuota } from './quota/service';
import { migrate } from './migrate';
import { createApp } from './app';
import { log, setLogLevel } from './log';
import { sweep } from './infra/rate-limit';
import { failOrphans } from './replies/service';
import { startLeases } from './replies/lease';
import { postgresBus } from './infra/notify';

// Everything this process creates (database files, blobs, keys in DATA_DIR) is its owner's only.
process.umask(0o077);

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}
setLogLevel(config.logLevel);
// Bun's fetch runs at most this many requests at once (read at start-up only) and queues the rest;
// every reply in flight holds one (its provider stream). scripts/start.ts and the Dockerfile set it.
if (!process.env.BUN_CONFIG_MAX_HTTP_REQUESTS) {
  log.warn('BUN_CONFIG_MAX_HTTP_REQUESTS is not set: Bun runs 256 provider requests at once, so replies past 256 in flight wait; set it (e.g. 4096) in the environment');
}

const db = await openDatabase(config.db);
const applied = await migrate(db.sql);
if (applied.length) log.info('migrations applied', { applied });

// Every connection of the pool opened, the reply path's plpgsql compiled in each: the first
// requests after a start do not pay for either.
if (!db.embedded) await warmPool(db.sql, db.poolSize, warmQuota);

const orphans = await failOrphans({ sql: db.sql });
if (orphans) log.warn('replies interrupted by the last shutdown marked as failed', { count: orphans });

// Several instances on one PostgreSQL hear each other over LISTEN/NOTIFY; the embedded database has one.
const bus = config.db.url ? postgresBus(db.sql, config.db.url) : undefined;
const app = createApp({ config, sql: db.sql, bus });
await Promise.race([app.bus.ready(), Bun.sleep(5000)]);
const leases = startLeases({ sql: db.sql, generations: app.generations, relay: app.relay });
app.listen({
  port: config.http.port,
  hostname: config.http.host,
  // Voice uploads are capped at 25 MB on the bytes read; nothing else comes close.
  // Imports take up to 100 MB (POST /api/import streams them to disk under its own cap).
  maxRequestBodySize: 101 * 1024 * 1024,
});

const sweeper = setInterval(() => sweep(db.sql).catch(() => {}), 3600_000);

// After a burst of replies, once none has run for a few seconds, a full collection gives the
// memory of their buffers back (JavaScriptCore alone would keep the heap at its peak for long).
let busySinceCollect = false;
let idleTicks = 0;
const collector = setInterval(() => {
  if (app.generations.size > 0) {
    busySinceCollect = true;
    idleTicks = 0;
  } else if (busySinceCollect && ++idleTicks >= 3) {
    busySinceCollect = false;
    Bun.gc(true);
  }
}, 1000);
collector.unref();
log.info('parley listening', {
  url: config.http.publicUrl,
  port: app.server?.port,
  database: db.embedded ? `embedded (${config.db.dataDir}/pglite)` : 'postgresql',
});
console.log(`Parley is running at ${config.http.publicUrl}`);

// Guests unused for 30 days are deleted with their data.
const guestSweep = setInterval(() => void app.sweepIdleGuests().catch(() => {}), 6 * 3600_000);
void app.sweepIdleGuests().catch(() => {});

/** How long replies in flight may take to finish after SIGTERM before they are stopped (stored as `error`). */
const DRAIN_MS = 10_000;

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  clearInterval(guestSweep);
  log.info('shutting down', { signal, replies: app.generations.size });
  // Health answers 503 and the port closes: the load balancer sends new requests elsewhere.
  app.lifecycle.draining = true;
  clearInterval(sweeper);
  // Stop listening now; Bun's stop() resolves only once open connections (reply streams) close.
  const closed = app.stop();
  // Replies in flight finish and are stored (their streams stay open meanwhile), bounded;
  // what is still running then is stopped and stored as `error` with its text: none is left `streaming`.
  const drained = await Promise.race([app.generations.drain().then(() => true), Bun.sleep(DRAIN_MS).then(() => false)]);
  if (!drained) {
    log.warn('replies still running at the end of the drain were stopped', { count: app.generations.size });
    app.generations.stopAll('shutdown');
    await Promise.race([app.generations.drain(), Bun.sleep(5000)]);
  }
  leases.stop();
  await Promise.race([closed, Bun.sleep(2000)]);
  await app.bus.close();
  await db.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
