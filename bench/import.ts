/**
 * bun run bench:import [-- --import-mb 100] — a large ChatGPT export through POST /api/import,
 * end to end (issue 15): a generated conversations.json of about IMPORT_MB megabytes (default
 * 100; 200 conversations with edited branches, long messages), sent bare and as the zip
 * ChatGPT gives, each to a fresh account of the server running as its own process on a real
 * PostgreSQL. Shows it is streamed: the server's peak RSS (VmHWM from /proc) stays far below
 * the file's size. Reports time, messages imported, and the server's RSS before, at peak and
 * after. FORMS=bare,zip picks what to send; WAYS=parts,single how: `parts` through
 * POST /api/import/uploads, a PUT per 4 MiB part and the finish (what the app does), `single`
 * as one POST /api/import (the server then holds the whole body while it arrives: Bun.serve
 * reads it without backpressure). Both by default, each to a fresh account: before and after
 * in one run. Writes bench/.out/import.json.
 */
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Zip, ZipDeflate } from 'fflate';
import { signUp } from '../tests/support/client';
import { root, startBenchStack } from './support';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const MB = Number(arg('--import-mb') ?? process.env.IMPORT_MB ?? 100);
const FORMS = (process.env.FORMS ?? 'bare,zip').split(',');
const WAYS = (process.env.WAYS ?? 'parts,single').split(',');

const WORDS = 'the of and to in is that for it as with was on be at by this had not are but from or have an they which one you were all there would their we been has when who will more no if out so said what up about into than them can only other some could time these two may then do first any my now such like our over even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see work long get here between both life being under never day same another know while last might great old year off come since against right used take three'.split(
  ' ',
);

/** Writes a ChatGPT conversations.json of about `bytes` bytes to `path`, a conversation at a time; returns its message count. */
async function writeExport(path: string, bytes: number) {
  const out = createWriteStream(path);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  let written = 0;
  let messages = 0;
  // Pseudo-random words (and made-up ones), so the zip compresses about as much as real text does.
  let seed = 7;
  const word = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const n = seed % 600;
    return n < WORDS.length ? WORDS[n]! : `${WORDS[n % WORDS.length]!.slice(0, 3)}${(seed >> 8) % 997}`;
  };
  await write('[');
  for (let c = 0; written < bytes; c++) {
    const mapping: Record<string, unknown> = { root: { id: 'root', message: null, parent: null, children: [] } };
    let parent = 'root';
    for (let m = 0; m < 100; m++) {
      const id = `c${c}m${m}`;
      const role = m % 2 ? 'assistant' : 'user';
      const text = Array.from({ length: role === 'user' ? 40 : 180 }, word).join(' ');
      const node = { id, parent, children: [] as string[], message: { id, author: { role }, create_time: 1700000000 + c * 1000 + m, content: { content_type: 'text', parts: [text] }, metadata: {} } };
      mapping[id] = node;
      (mapping[parent] as { children: string[] }).children.push(id);
      messages++;
      // Every tenth user turn was edited: a second branch, as ChatGPT stores edits.
      if (role === 'user' && m % 10 === 0) {
        const alt = `${id}-edit`;
        mapping[alt] = { ...node, id: alt, children: [], message: { ...node.message, id: alt } };
        (mapping[parent] as { children: string[] }).children.push(alt);
        messages++;
      }
      parent = id;
    }
    const json = JSON.stringify({ title: `Imported ${c}`, create_time: 1700000000 + c * 1000, update_time: 1700000000 + c * 1000 + 999, conversation_id: `bench-${c}`, mapping });
    await write((c ? ',' : '') + json);
    written += json.length + 1;
  }
  await write(']');
  out.end();
  await once(out, 'finish');
  return messages;
}

/** The same JSON inside a zip, as ChatGPT's "Export data" gives it, streamed through fflate. */
async function writeZip(json: string, path: string) {
  const out = createWriteStream(path);
  const done = new Promise<void>((resolve, reject) => {
    const zip = new Zip((err, chunk, final) => {
      if (err) return reject(err);
      out.write(chunk);
      if (final) out.end(resolve);
    });
    const entry = new ZipDeflate('conversations.json', { level: 6 });
    zip.add(entry);
    (async () => {
      for await (const chunk of Bun.file(json).stream()) entry.push(chunk as Uint8Array);
      entry.push(new Uint8Array(0), true);
      zip.end();
    })().catch(reject);
  });
  await done;
}

const status = (pid: number) => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(text.match(new RegExp(`${key}:\\s+(\\d+)`))?.[1] ?? 0);
  return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
};

const dir = mkdtempSync(join(tmpdir(), 'parley-bench-import-'));
const stack = await startBenchStack();
const results: Record<string, unknown> = {};
try {
  const json = join(dir, 'conversations.json');
  console.error(`writing a ${MB} MB ChatGPT export…`);
  // Just under the size: the server refuses more than 100 MiB.
  const messages = await writeExport(json, MB * 1024 * 1024 - 2 * 1024 * 1024);
  const zip = join(dir, 'chatgpt-export.zip');
  if (FORMS.includes('zip')) await writeZip(json, zip);
  const pid = stack.server.pid;
  const runs = FORMS.flatMap((form) => WAYS.map((way) => ({ form, way })));
  for (const { form, way } of runs) {
    const file = form === 'zip' ? zip : json;
    const size = statSync(file).size;
    const account = await signUp(stack.base, `import-${form}-${way}`);
    Bun.gc(true);
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // VmHWM starts again from the current RSS (Linux)
    const before = status(pid);
    let peakRss = before.rssMB;
    // The peak in each phase: receiving the upload (no progress yet), checking, importing.
    const peakBy: Record<string, number> = {};
    let phase = way === 'parts' ? 'sending parts' : 'receiving';
    const t0 = performance.now();
    // When each phase began (seconds from the start), from the same polling.
    const began: Record<string, number> = { [phase]: 0 };
    const sampler = setInterval(() => {
      if (!(phase in began)) began[phase] = Number(((performance.now() - t0) / 1000).toFixed(1));
      const rss = status(pid).rssMB;
      peakRss = Math.max(peakRss, rss);
      peakBy[phase] = Math.round(Math.max(peakBy[phase] ?? 0, rss));
    }, 100);
    const watcher = setInterval(async () => {
      const p = await account.client.json('GET', '/api/import/progress').catch(() => null);
      if (p?.body?.progress) phase = p.body.progress.phase;
    }, 250);
    const name = form === 'zip' ? 'chatgpt-export.zip' : 'conversations.json';
    let res: Response;
    if (way === 'parts') {
      const started = await account.client.json('POST', '/api/import/uploads', { size, name });
      if (started.status !== 201) throw new Error(`upload start: ${started.status} ${JSON.stringify(started.body)}`);
      const { id, parts, partBytes } = started.body.upload;
      for (let n = 0; n < parts; n++) {
        const bytes = new Uint8Array(await Bun.file(file).slice(n * partBytes, Math.min(size, (n + 1) * partBytes)).arrayBuffer());
        const put = await account.client.put(`/api/import/uploads/${id}/parts/${n}`, bytes, { headers: { 'content-type': 'application/octet-stream' } });
        const text = await put.text();
        if (put.status !== 200) throw new Error(`part ${n}: ${put.status} ${text}`);
      }
      phase = 'finishing';
      res = await account.client.post(`/api/import/uploads/${id}/finish`);
    } else {
      const body = new FormData();
      body.append('file', Bun.file(file), name);
      res = await account.client.post('/api/import', body);
    }
    const answer = await res.json();
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    clearInterval(watcher);
    if (res.status !== 201) throw new Error(`import (${form}, ${way}): ${res.status} ${JSON.stringify(answer)}`);
    const after = status(pid);
    const r = {
      fileMB: Number((size / 1024 / 1024).toFixed(1)),
      messagesInFile: messages,
      imported: answer.imported,
      seconds: Number(seconds.toFixed(1)),
      rssBeforeMB: Math.round(before.rssMB),
      rssPeakSampledMB: Math.round(peakRss),
      vmHwmMB: Math.round(after.hwmMB),
      rssAfterMB: Math.round(after.rssMB),
      rssPeakByPhaseMB: peakBy,
      phaseStartedAtS: began,
    };
    results[`${form}:${way}`] = r;
    console.error(`${form} (${way}): ${JSON.stringify(r)}`);
  }
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}

console.log('| sent | how | file MB | messages imported | time s | server RSS before → peak (VmHWM) → after, MB | peak growth MB | peak by phase, MB |');
console.log('|---|---|---|---|---|---|---|---|');
type Row = { fileMB: number; imported: { messages: number }; seconds: number; rssBeforeMB: number; vmHwmMB: number; rssAfterMB: number; rssPeakByPhaseMB: Record<string, number> };
for (const [key, r] of Object.entries(results) as [string, Row][]) {
  const [form, way] = key.split(':');
  const phases = Object.entries(r.rssPeakByPhaseMB).map(([p, mb]) => `${p} ${mb}`).join(', ');
  console.log(
    `| ${form === 'zip' ? 'zip' : 'conversations.json'} | ${way === 'parts' ? 'in 4 MiB parts' : 'one request'} | ${r.fileMB} | ${r.imported.messages.toLocaleString()} | ${r.seconds} | ${r.rssBeforeMB} → ${r.vmHwmMB} → ${r.rssAfterMB} | ${r.vmHwmMB - r.rssBeforeMB} | ${phases} |`,
  );
}
mkdirSync(join(root, 'bench', '.out'), { recursive: true });
writeFileSync(join(root, 'bench', '.out', 'import.json'), JSON.stringify(results, null, 2));
process.exit();
