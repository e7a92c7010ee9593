/**
 * `bun run blobs:move --to <directory|postgres|s3> [--from <kind>] [--delete-source]`
 *
 * Copies every stored file's bytes into another blob store, with progress; safe to
 * stop and run again (it resumes), and a second run copies nothing. Reads the same
 * environment as the server (DATABASE_URL, DATA_DIR, S3_*); `--from` defaults to
 * the configured store (BLOB_STORE or its default). Then set BLOB_STORE to the
 * target, restart the instances, and run it once more to catch files uploaded
 * meanwhile. With the embedded database, stop Parley first (one process at a time).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../server/config';
import { openDatabase } from '../server/db';
import { createBlobStore, type BlobStoreKind } from '../server/files/blob-store';
import { moveBlobs } from '../server/files/move';

const KINDS = ['directory', 'postgres', 's3'] as const;
const { values } = parseArgs({
  options: { to: { type: 'string' }, from: { type: 'string' }, 'delete-source': { type: 'boolean' } },
});
const isKind = (v: unknown): v is BlobStoreKind => KINDS.includes(v as BlobStoreKind);
const config = loadConfig();
const from = values.from ?? config.files.store;
const to = values.to;
if (!isKind(to) || !isKind(from) || from === to) {
  console.error(`usage: bun run blobs:move --to <${KINDS.join('|')}> [--from <kind>] [--delete-source]  (from ${from}, to ${to ?? '?'})`);
  process.exit(64);
}
if ((from === 'postgres' || to === 'postgres') && !config.db.url) {
  console.error('The postgres store needs DATABASE_URL.');
  process.exit(64);
}
// S3 settings are read whenever they are set, not only with BLOB_STORE=s3.
const usesS3 = from === 's3' || to === 's3';
const s3 = config.files.s3 ?? (usesS3 ? loadConfig({ ...process.env, BLOB_STORE: 's3' }).files.s3 : null);
const storeConfig = { dataDir: config.dataDir, files: { ...config.files, s3 } };

const db = await openDatabase(config.db);
try {
  const source = createBlobStore(from, storeConfig, db.sql);
  const target = createBlobStore(to, storeConfig, db.sql);
  const started = performance.now();
  let last = 0;
  const result = await moveBlobs(db.sql, source, target, {
    deleteSource: values['delete-source'],
    onProgress: (p) => {
      if (p.done === p.total || performance.now() - last > 1000 || p.done % 100 === 0) {
        last = performance.now();
        console.log(`${p.done}/${p.total} blobs (${p.copied} copied, ${p.skipped} already there, ${(p.bytes / 1e6).toFixed(1)} MB)`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `Done in ${seconds.toFixed(1)} s: ${result.copied} copied, ${result.skipped} already in ${to}, ${result.missing.length} missing from ${from}.`,
  );
  if (result.missing.length) {
    console.error(`Missing from the ${from} store (referenced, no bytes): ${result.missing.join(', ')}`);
    process.exitCode = 2;
  }
} finally {
  await db.close();
}
