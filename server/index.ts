/** The only file that listens: config → database → migrations → app.listen. */
import { ConfigError, loadConfig } from './config';
import { openDatabase } from './db';
import { migrate } from './migrate';
import { createApp } from './app';
import { log, setLogLevel } from './log';
import { sweep } from './infra/rate-limit';
import { failOrphans } from './replies/service';

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

const db = await openDatabase(config.db);
const applied = await migrate(db.sql);
if (applied.length) log.info('migrations applied', { applied });

const orphans = await failOrphans({ sql: db.sql });
if (orphans) log.warn('replies interrupted by the last shutdown marked as failed', { count: orphans });

const app = createApp({ config, sql: db.sql });
app.listen({
  port: config.http.port,
  hostname: config.http.host,
  // Voice uploads are capped at 25 MB on the bytes read; nothing else comes close.
  // Imports take up to 100 MB (POST /api/import streams them to disk under its own cap).
  maxRequestBodySize: 101 * 1024 * 1024,
});

const sweeper = setInterval(() => sweep(db.sql).catch(() => {}), 3600_000);
log.info('parley listening', {
  url: config.http.publicUrl,
  port: app.server?.port,
  database: db.embedded ? `embedded (${config.db.dataDir}/pglite)` : 'postgresql',
});
console.log(`Parley is running at ${config.http.publicUrl}`);

async function shutdown(signal: string) {
  log.info('shutting down', { signal });
  clearInterval(sweeper);
  await app.stop();
  // Let replies in flight finish and be stored (bounded), then close the database.
  await Promise.race([app.generations.drain(), Bun.sleep(10_000)]);
  await db.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
