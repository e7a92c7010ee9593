/**
 * bun run bench:blobs — moving file bytes through each blob store.
 *
 * For each store (directory, postgres, s3 through a local s3rver), a real PostgreSQL
 * and the server as its own process: upload the largest image an upload may be
 * (10 MB, the route's cap) and download a 20 MB stored file, 3 times each, and read
 * the server's memory (VmRSS after warming up, VmHWM = peak) from /proc.
 * The 20 MB file is stored through the files module from this process (uploads are
 * capped at 10 MB), then read over HTTP like any other. Prints a Markdown table.
 */
import { readFileSync } from 'node:fs';
import { signUp } from '../tests/support/client';
import { startS3 } from '../tests/support/s3';
import { loadConfig } from '../server/config';
import { openDatabase } from '../server/db';
import { fileUrl, saveFile } from '../server/files/service';
import { MAX_UPLOAD_BYTES } from '../server/files/upload';
import { median, startBenchStack } from './support';

const kb = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);

/** A "PNG" of the given size: the signature the upload sniffs, then random bytes. */
function fakePng(size: number) {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

const RUNS = 3;
const rows: string[] = [];
for (const kind of ['directory', 'postgres', 's3'] as const) {
  const s3 = kind === 's3' ? await startS3() : null;
  const storeEnv = s3 ? s3.env : { BLOB_STORE: kind };
  const stack = await startBenchStack(storeEnv);
  try {
    const pid = stack.server.pid;
    const { client, user } = await signUp(stack.base, 'bench');
    // Warm-up: one small upload and download.
    const warm = new FormData();
    warm.append('file', new File([fakePng(1000)], 'w.png', { type: 'image/png' }));
    const w = await (await client.request('POST', '/api/files', warm)).json();
    await (await client.get(w.file.url)).arrayBuffer();
    const rssWarm = kb(pid, 'VmRSS');

    const up: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const bytes = fakePng(MAX_UPLOAD_BYTES - 4096);
      const form = new FormData();
      form.append('file', new File([bytes], `big-${i}.png`, { type: 'image/png' }));
      const t = performance.now();
      const res = await client.request('POST', '/api/files', form);
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
      up.push(bytes.length / 1e6 / ((performance.now() - t) / 1000));
    }

    const config = loadConfig({ DATA_DIR: stack.dataDir, DATABASE_URL: stack.cluster.url, ...storeEnv, LOG_LEVEL: 'silent' });
    const db = await openDatabase(config.db);
    const big = fakePng(20 * 1024 * 1024);
    const { file } = await saveFile({ sql: db.sql, config }, { userId: user.id, bytes: big, mime: 'image/png', name: 'twenty.png', source: 'upload' });
    await db.close();
    const down: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const res = await client.get(fileUrl(file.id));
      let n = 0;
      for await (const chunk of res.body!) n += chunk.length;
      if (n !== big.length) throw new Error(`download: ${n} bytes of ${big.length}`);
      down.push(n / 1e6 / ((performance.now() - t) / 1000));
    }
    rows.push(
      `| ${kind} | ${median(up).toFixed(0)} | ${median(down).toFixed(0)} | ${(rssWarm / 1024).toFixed(0)} | ${(kb(pid, 'VmHWM') / 1024).toFixed(0)} |`,
    );
  } finally {
    await stack.stop();
    await s3?.stop();
  }
}
console.log(`\nFile bytes through each store (median of ${RUNS}; server process memory from /proc)\n`);
console.log('| store | upload 10 MB (MB/s) | download 20 MB (MB/s) | RSS warmed up (MB) | peak RSS (MB) |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
