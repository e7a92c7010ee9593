/**
 * bun run bench:documents — extracting the text of a 200-page PDF (generated here: 40 lines
 * of text per page) with server/documents/extract.ts (unpdf), in a fresh process: wall time
 * (first run, then the median of warm runs) and memory (peak RSS of the process, and the RSS
 * it grew by). Options: --pages 200  --runs 5  --upload (also through POST /api/files on a real
 * server: time per upload and the server's peak RSS)
 */
import { readFileSync } from 'node:fs';
import { extractDocument } from '../server/documents/extract';
import { makePdf } from '../tests/support/documents';
import { median } from './support';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const PAGES = Number(arg('pages', '200'));
const RUNS = Number(arg('runs', '5'));

const rss = (field: 'VmRSS' | 'VmHWM') => Number(readFileSync('/proc/self/status', 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0) / 1024;

const pdf = makePdf(PAGES);
Bun.gc(true);
const before = rss('VmRSS');
const times: number[] = [];
let chars = 0;
for (let i = 0; i < RUNS; i++) {
  const t = performance.now();
  const out = await extractDocument(pdf, 'pdf');
  times.push(performance.now() - t);
  chars = out.text.length;
  if (out.pages !== PAGES) throw new Error(`read ${out.pages} pages`);
}
const peak = rss('VmHWM');
console.log(`\n${PAGES}-page PDF, ${(pdf.length / 1024).toFixed(0)} KB, ${chars.toLocaleString()} characters of text\n`);
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| first extraction (cold: PDF.js loads) | ${times[0]!.toFixed(0)} ms |`);
console.log(`| warm extraction, median of ${RUNS - 1} | ${median(times.slice(1)).toFixed(0)} ms |`);
console.log(`| process RSS before | ${before.toFixed(0)} MB |`);
console.log(`| process peak RSS | ${peak.toFixed(0)} MB (+${(peak - before).toFixed(0)} MB) |`);

// --upload: the same PDF through POST /api/files on a real server (PostgreSQL, the blob
// store, extraction at upload, the text stored with the file): time per upload and the
// server process's peak RSS.
if (process.argv.includes('--upload')) {
  const { signUp } = await import('../tests/support/client');
  const { startBenchStack } = await import('./support');
  const stack = await startBenchStack();
  try {
    const { client } = await signUp(stack.base, 'bench');
    const serverRss = (field: 'VmRSS' | 'VmHWM') =>
      Number(readFileSync(`/proc/${stack.server.pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0) / 1024;
    const idle = serverRss('VmRSS');
    const uploads: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const form = new FormData();
      form.append('file', new File([pdf as Uint8Array<ArrayBuffer>], `bench-${i}.pdf`, { type: 'application/pdf' }));
      const t = performance.now();
      const res = await client.request('POST', '/api/files', form);
      const body = (await res.json()) as { file?: { textStatus?: string; pages?: number } };
      uploads.push(performance.now() - t);
      if (res.status !== 201 || body.file?.textStatus !== 'ready' || body.file.pages !== PAGES) throw new Error(`upload ${res.status} ${JSON.stringify(body)}`);
    }
    console.log(`| POST /api/files, first (server's PDF.js cold) | ${uploads[0]!.toFixed(0)} ms |`);
    console.log(`| POST /api/files, median of ${RUNS - 1} | ${median(uploads.slice(1)).toFixed(0)} ms |`);
    console.log(`| server RSS idle → peak | ${idle.toFixed(0)} MB → ${serverRss('VmHWM').toFixed(0)} MB |`);
  } finally {
    await stack.stop();
  }
}
