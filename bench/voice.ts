/**
 * bun run bench:voice — one voice turn, stage by stage, and how much of it is Parley's own.
 *
 * A real PostgreSQL, the server as its own process (`bun server/index.ts`, serving web/build),
 * the fake provider in this process with FIXED delays (speech-to-text, first token, per word,
 * text-to-speech), and Debian's Chromium (headless) whose microphone is a WAV spoken by
 * espeak-ng. Each turn holds "Hold to talk", releases, and the reply is a ten-sentence echo.
 * The page's User Timing marks (`parley:voice:*`, see web/src/lib/voice/marks.ts) give the
 * client's side; the fake's own receive/send times give the provider's side, which is
 * subtracted stage by stage:
 *
 *   release → recorded → upload sent → transcript → message sent → first reply delta
 *   → first sentence complete → speech request → first speech byte → playback start
 *
 *   provider time = speech-to-text (fake: received → answered)
 *                 + first token delay + (words of the first sentence − 1) × per-word delay
 *                 + text-to-speech (fake: received → last byte sent; the clip is decoded whole)
 *   Parley's own share = (playback start − release) − provider time
 *
 * Targets: own share ≤ 150 ms at the median; for the ten-sentence reply, first audio within
 * 20% of the time the whole reply takes to stream. Prints a Markdown table, writes
 * bench/.out/voice.json, exits 1 when a target is missed.
 * Options: --turns 20 --warmup 2 --hold 1500 --stt 250 --first-token 300 --per-word 25 --tts 200
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { chromiumArgs } from '../tests/e2e/playwright.config';
import { ensureWebBuild, root, startBenchStack } from './support';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TURNS = arg('turns', 20);
const WARMUP = arg('warmup', 2);
const HOLD_MS = arg('hold', 1500);
const STT_MS = arg('stt', 250);
const FIRST_TOKEN_MS = arg('first-token', 300);
const PER_WORD_MS = arg('per-word', 25);
const TTS_MS = arg('tts', 200);
const OWN_TARGET_MS = 150;
const RATIO_TARGET = 0.2;

const SENTENCES = [
  'The sea covers most of the surface of our planet.',
  'It holds almost all of the water there is on Earth.',
  'Its deepest trench goes down about eleven kilometres.',
  'Sunlight fades within the first few hundred metres.',
  'Below that, many animals make their own light.',
  'Whales call to each other across whole ocean basins.',
  'Currents carry warm water from the tropics to the poles.',
  'Tides rise and fall twice a day on most coasts.',
  'The waves you see were often raised by distant storms.',
  'Much of the sea floor has never been seen by anyone.',
];
const TRANSCRIPT = SENTENCES.join(' ');

// ---------------------------------------------------------------------------------------
ensureWebBuild();

console.error('starting PostgreSQL, the fake provider, the server and Chromium…');
const work = mkdtempSync(join(tmpdir(), 'parley-bench-voice-'));
const wav = join(work, 'microphone.wav');
execFileSync('espeak-ng', ['-w', wav, 'Hello Parley. Tell me about the sea, please. What lives down there?']);

const stack = await startBenchStack({ DATA_DIR: join(work, 'data'), LOG_LEVEL: 'error' }, (fake) => {
  fake.chat.defaults.firstTokenDelayMs = FIRST_TOKEN_MS;
  fake.chat.defaults.chunkDelayMs = PER_WORD_MS;
  fake.audio.setDelay(STT_MS, 'transcription');
  fake.audio.setDelay(TTS_MS, 'speech');
  fake.audio.setSpeechChunks(2, 10);
  fake.audio.setSpeechSeconds(1.5);
  fake.audio.setTranscript(TRANSCRIPT);
});
const { base, fake } = stack;

let browser: Awaited<ReturnType<typeof chromium.launch>> | null = null;
async function cleanup() {
  await browser?.close().catch(() => {});
  await stack.stop();
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    ...chromiumArgs,
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${wav}`,
  ],
});
const context = await browser.newContext({ baseURL: base, viewport: { width: 390, height: 844 }, serviceWorkers: 'block' });
const page = await context.newPage();
const email = `bench-${Date.now()}@example.test`;
const registered = await page.request.post('/api/auth/register', { data: { email, password: `bench ${email} password`, name: 'Bench' } });
if (registered.status() !== 201) throw new Error(`register: ${registered.status()} ${await registered.text()}`);
const { thread } = (await (await page.request.post('/api/threads', { data: {} })).json()) as { thread: { id: string } };
await page.goto(`/t/${thread.id}/call`);
const status = page.locator('[aria-live]', { hasText: /^(Starting|Ready|Listening|Thinking|Speaking)$/ });
await status.filter({ hasText: 'Ready' }).waitFor();
const talk = page.getByRole('button', { name: 'Hold to talk' });
const box = (await talk.boundingBox())!;
await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);

type Marks = Record<string, { at: number; detail: Record<string, unknown> | null }>;

interface Turn {
  /** Page stage times, ms after release. */
  stages: Record<string, number>;
  stt: number;
  firstSentenceProvider: number;
  ttsFirstByte: number;
  ttsRest: number;
  provider: number;
  firstAudio: number;
  own: number;
  replyStream: number;
  ratio: number;
  ratioExcludingProviderLatency: number;
  outputLatency: number | null;
}

async function oneTurn(): Promise<Turn> {
  const t0 = fake.audio.transcriptions.length;
  const s0 = fake.audio.speeches.length;
  await page.mouse.down();
  await page.waitForTimeout(HOLD_MS);
  await page.mouse.up();
  await page.waitForFunction(
    () => ['reply-done', 'playback-start'].every((s) => performance.getEntriesByName(`parley:voice:${s}`).length > 0),
    null,
    { timeout: 30_000, polling: 20 },
  );
  const marks: Marks = await page.evaluate(() => {
    const out: Record<string, { at: number; detail: Record<string, unknown> | null }> = {};
    for (const m of performance.getEntriesByType('mark')) {
      if (!m.name.startsWith('parley:voice:')) continue;
      out[m.name.slice('parley:voice:'.length)] ??= { at: m.startTime, detail: (m as PerformanceMark).detail ?? null };
    }
    return out;
  });
  const release = marks.release!.at;
  const stages: Record<string, number> = {};
  for (const [k, v] of Object.entries(marks)) stages[k] = v.at - release;

  const upload = fake.audio.transcriptions[t0];
  if (!upload?.answeredAt) throw new Error('the fake saw no transcription this turn');
  const stt = upload.answeredAt - upload.at;
  const firstSentence = String(marks['first-sentence']?.detail?.text ?? '');
  const speech = fake.audio.speeches.slice(s0).find((s) => s.input === firstSentence);
  if (!speech?.firstByteAt || !speech.lastByteAt) throw new Error(`no answered speech request for "${firstSentence}"`);
  // The fake sends a word per chunk: the first chunk after the first-token delay, then one per word delay.
  const words = firstSentence.split(/\s+/).filter(Boolean).length;
  const firstSentenceProvider = FIRST_TOKEN_MS + (words - 1) * PER_WORD_MS;
  const ttsFirstByte = speech.firstByteAt - speech.at;
  const ttsRest = speech.lastByteAt - speech.firstByteAt;
  const provider = stt + firstSentenceProvider + ttsFirstByte + ttsRest;
  const firstAudio = stages['playback-start']!;
  const replyStream = stages['reply-done']! - stages['message-sent']!;
  return {
    stages,
    stt,
    firstSentenceProvider,
    ttsFirstByte,
    ttsRest,
    provider,
    firstAudio,
    own: firstAudio - provider,
    replyStream,
    ratio: firstAudio / replyStream,
    ratioExcludingProviderLatency: (firstAudio - stt - FIRST_TOKEN_MS - ttsFirstByte - ttsRest) / (replyStream - FIRST_TOKEN_MS),
    outputLatency: (marks['playback-start']?.detail?.outputLatency as number | null) ?? null,
  };
}

const turns: Turn[] = [];
try {
  for (let i = 0; i < WARMUP + TURNS; i++) {
    const turn = await oneTurn();
    if (i >= WARMUP) turns.push(turn);
    console.error(
      `${i < WARMUP ? `warm-up ${i + 1}` : `turn ${i + 1 - WARMUP}`}: first audio ${turn.firstAudio.toFixed(0)} ms, own ${turn.own.toFixed(0)} ms, reply ${turn.replyStream.toFixed(0)} ms`,
    );
  }
} finally {
  await cleanup();
}

// ---------------------------------------------------------------------------------------
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = (p / 100) * (s.length - 1);
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo);
};
const med = (xs: number[]) => pct(xs, 50);
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');

/** Each stage: from the previous mark to this one; the provider's part of it, per turn. */
const STAGES: { from: string; to: string; label: string; provider: (t: Turn) => number }[] = [
  { from: 'release', to: 'recorded', label: 'release → recording ready', provider: () => 0 },
  { from: 'recorded', to: 'upload-sent', label: '→ upload sent', provider: () => 0 },
  { from: 'upload-sent', to: 'transcript', label: '→ transcript', provider: (t) => t.stt },
  { from: 'transcript', to: 'message-sent', label: '→ message sent', provider: () => 0 },
  { from: 'message-sent', to: 'first-delta', label: '→ first reply delta', provider: () => FIRST_TOKEN_MS },
  { from: 'first-delta', to: 'first-sentence', label: '→ first sentence complete', provider: (t) => t.firstSentenceProvider - FIRST_TOKEN_MS },
  { from: 'first-sentence', to: 'speech-request', label: '→ speech requested', provider: () => 0 },
  { from: 'speech-request', to: 'speech-first-byte', label: '→ first speech byte', provider: (t) => t.ttsFirstByte },
  { from: 'speech-first-byte', to: 'playback-start', label: '→ playback start', provider: (t) => t.ttsRest },
];

const rows = STAGES.map((s) => {
  const raw = turns.map((t) => t.stages[s.to]! - t.stages[s.from]!);
  const provider = turns.map(s.provider);
  const own = turns.map((t, i) => raw[i]! - provider[i]!);
  return { stage: s.label, raw: { median: med(raw), p90: pct(raw, 90) }, provider: med(provider), own: { median: med(own), p90: pct(own, 90) } };
});
const total = {
  raw: { median: med(turns.map((t) => t.firstAudio)), p90: pct(turns.map((t) => t.firstAudio), 90) },
  provider: med(turns.map((t) => t.provider)),
  own: { median: med(turns.map((t) => t.own)), p90: pct(turns.map((t) => t.own), 90) },
};
const replyStream = med(turns.map((t) => t.replyStream));
const ratio = med(turns.map((t) => t.ratio));
const ratioExcl = med(turns.map((t) => t.ratioExcludingProviderLatency));
const outputLatency = turns.find((t) => t.outputLatency !== null)?.outputLatency ?? null;

const lines = [
  `## bench:voice — ${turns.length} turns (after ${WARMUP} warm-up), ten-sentence reply`,
  '',
  `Fake provider, fixed: speech-to-text ${STT_MS} ms, first token ${FIRST_TOKEN_MS} ms, ${PER_WORD_MS} ms per word, text-to-speech ${TTS_MS} ms (+ the fake's ffmpeg encode and 2 chunks 10 ms apart, measured). Hold ${HOLD_MS} ms.`,
  '',
  '| stage | median ms | p90 ms | provider ms (median) | Parley ms median | Parley ms p90 |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.stage} | ${f0(r.raw.median)} | ${f0(r.raw.p90)} | ${f0(r.provider)} | ${f0(r.own.median)} | ${f0(r.own.p90)} |`),
  `| **release → first audio** | **${f0(total.raw.median)}** | **${f0(total.raw.p90)}** | **${f0(total.provider)}** | **${f0(total.own.median)}** | **${f0(total.own.p90)}** |`,
  '',
  `(Stage rows are medians of each stage on its own; they need not add up to the total's median.)`,
  '',
  `- Parley's own share, release → first audio: median **${f0(total.own.median)} ms**, p90 ${f0(total.own.p90)} ms — target ≤ ${OWN_TARGET_MS} ms: ${total.own.median <= OWN_TARGET_MS ? 'met' : 'MISSED'}`,
  `- Whole reply stream (message sent → reply done): median ${f0(replyStream)} ms`,
  `- First audio ÷ reply stream time, as measured (release → first audio, provider latency included): median **${(ratio * 100).toFixed(1)}%**`,
  `- The same without the fixed provider latencies (speech-to-text, first token, text-to-speech) on either side, i.e. how far into the streamed reply the speech starts: median **${(ratioExcl * 100).toFixed(1)}%** — target ≤ ${RATIO_TARGET * 100}%: ${ratioExcl <= RATIO_TARGET ? 'met' : 'MISSED'}`,
  `- Playback start is when the first clip is scheduled on the AudioContext; the device's own output latency comes on top${outputLatency !== null ? ` (${(outputLatency * 1000).toFixed(0)} ms reported here)` : ''}.`,
];
console.log(lines.join('\n'));

mkdirSync(join(root, 'bench', '.out'), { recursive: true });
writeFileSync(
  join(root, 'bench', '.out', 'voice.json'),
  JSON.stringify(
    {
      config: { turns: TURNS, warmup: WARMUP, holdMs: HOLD_MS, sttMs: STT_MS, firstTokenMs: FIRST_TOKEN_MS, perWordMs: PER_WORD_MS, ttsMs: TTS_MS },
      stages: rows,
      total,
      replyStreamMs: replyStream,
      ratio,
      ratioExcludingProviderLatency: ratioExcl,
      turns,
    },
    null,
    2,
  ),
);
process.exit(total.own.median <= OWN_TARGET_MS && ratioExcl <= RATIO_TARGET ? 0 : 1);
