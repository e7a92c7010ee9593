/**
 * Real audio for tests: speech from espeak-ng, converted by ffmpeg to each container
 * a browser may upload, plus a pure-JS WAV tone and a probe that decodes any audio
 * with ffmpeg and reports what it really is (container, codec, duration, loudness).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type FixtureFormat = 'wav' | 'webm' | 'ogg' | 'mp3' | 'm4a';

export const FIXTURE_TYPES: Record<FixtureFormat, string> = {
  wav: 'audio/wav',
  webm: 'audio/webm;codecs=opus',
  ogg: 'audio/ogg;codecs=opus',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
};

/** ffmpeg output arguments per container: what MediaRecorder (Chromium, Firefox, Safari) and apps produce. */
const ENCODE: Record<Exclude<FixtureFormat, 'wav'>, string[]> = {
  webm: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'webm'],
  ogg: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'],
  mp3: ['-c:a', 'libmp3lame', '-b:a', '48k', '-f', 'mp3'],
  m4a: ['-c:a', 'aac', '-b:a', '48k', '-f', 'ipod'],
};

let workDir: string | null = null;
function dir(): string {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), 'parley-audio-'));
    const made = workDir;
    process.on('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return workDir;
}

async function run(argv: string[], stdin?: Uint8Array): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const proc = Bun.spawn(argv, { stdin: stdin ?? 'ignore', stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).arrayBuffer(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout: new Uint8Array(stdout), stderr };
}

const cache = new Map<string, Promise<Uint8Array>>();

/** Spoken `text` as a WAV made by espeak-ng (what Chromium's fake microphone would play). */
export function speechWav(text = 'Hello Parley, what is the weather like today?'): Promise<Uint8Array> {
  const key = `wav:${text}`;
  if (!cache.has(key)) {
    cache.set(
      key,
      (async () => {
        const path = join(dir(), `speech-${cache.size}.wav`);
        const r = await run(['espeak-ng', '-w', path, '--stdin'], new TextEncoder().encode(text));
        if (r.code !== 0) throw new Error(`espeak-ng failed: ${r.stderr}`);
        return new Uint8Array(await Bun.file(path).arrayBuffer());
      })(),
    );
  }
  return cache.get(key)!;
}

/** `wav` bytes converted by ffmpeg to another container. */
export async function transcode(wav: Uint8Array, format: FixtureFormat): Promise<Uint8Array> {
  if (format === 'wav') return wav;
  const input = join(dir(), `in-${crypto.randomUUID()}.wav`);
  const output = join(dir(), `out-${crypto.randomUUID()}.${format}`);
  await Bun.write(input, wav);
  const r = await run(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', '-i', input, ...ENCODE[format], output]);
  if (r.code !== 0) throw new Error(`ffmpeg to ${format} failed: ${r.stderr}`);
  const bytes = new Uint8Array(await Bun.file(output).arrayBuffer());
  rmSync(input, { force: true });
  rmSync(output, { force: true });
  return bytes;
}

/** A spoken recording in `format`, as a browser would upload it: bytes, declared type and a file name. */
export async function recording(format: FixtureFormat, text?: string) {
  const key = `${format}:${text ?? ''}`;
  if (!cache.has(key)) cache.set(key, speechWav(text).then((wav) => transcode(wav, format)));
  const bytes = await cache.get(key)!;
  return { bytes, type: FIXTURE_TYPES[format], filename: `recording.${format}` };
}

/** A mono 16-bit PCM WAV of a sine tone, built in memory (no tools needed). */
export function toneWav(seconds: number, { frequency = 440, sampleRate = 16000, amplitude = 0.3 } = {}): Uint8Array {
  const samples = Math.max(1, Math.round(seconds * sampleRate));
  const buffer = new ArrayBuffer(44 + samples * 2);
  const view = new DataView(buffer);
  const text = (at: number, s: string) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples * 2, true);
  const fade = Math.min(samples / 2, sampleRate * 0.02);
  for (let i = 0; i < samples; i++) {
    const envelope = Math.min(1, i / fade, (samples - 1 - i) / fade);
    const v = Math.sin((2 * Math.PI * frequency * i) / sampleRate) * amplitude * envelope;
    view.setInt16(44 + i * 2, Math.round(v * 32767), true);
  }
  return new Uint8Array(buffer);
}

/** The first bytes of a real PNG (signature + IHDR): an image, whatever its name says. */
export const PNG_BYTES = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
  0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49,
  0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
  0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
]);

export interface AudioProbe {
  /** ffmpeg decoded it to the end without error. */
  decodable: boolean;
  /** ffprobe's container name(s), e.g. "matroska,webm", "ogg", "mov,mp4,m4a,3gp,3g2,mj2", "mp3", "wav". */
  container: string | null;
  codec: string | null;
  sampleRate: number | null;
  channels: number | null;
  /** From the decoded samples, so it is right even for MediaRecorder's webm, whose header has no duration. */
  durationSeconds: number;
  /** Loudness of the decoded audio (dBFS); silence is about -90 or lower. */
  rmsDb: number;
  peak: number;
  /** True when nothing above -50 dBFS peak was heard. */
  silent: boolean;
  error: string | null;
  /** What ffmpeg complained about while still decoding it. */
  warnings: string | null;
}

const PROBE_RATE = 16000;

/** Decodes `bytes` (any format ffmpeg knows) and reports what they really are. */
export async function probeAudio(bytes: Uint8Array): Promise<AudioProbe> {
  const path = join(dir(), `probe-${crypto.randomUUID()}`);
  await Bun.write(path, bytes);
  try {
    const info = await run([
      'ffprobe', '-v', 'error', '-show_entries', 'format=format_name:stream=codec_name,sample_rate,channels',
      '-select_streams', 'a:0', '-of', 'json', path,
    ]);
    let container: string | null = null;
    let stream: { codec_name?: string; sample_rate?: string; channels?: number } = {};
    try {
      const parsed = JSON.parse(new TextDecoder().decode(info.stdout)) as {
        format?: { format_name?: string };
        streams?: (typeof stream)[];
      };
      container = parsed.format?.format_name ?? null;
      stream = parsed.streams?.[0] ?? {};
    } catch {
      /* not audio at all: reported below */
    }
    // Decoded to the end like a player would: a damaged packet is reported in `warnings`, not fatal.
    const pcm = await run([
      'ffmpeg', '-hide_banner', '-loglevel', 'error', '-i', path,
      '-vn', '-ac', '1', '-ar', String(PROBE_RATE), '-f', 's16le', 'pipe:1',
    ]);
    const samples = new Int16Array(pcm.stdout.buffer, pcm.stdout.byteOffset, Math.floor(pcm.stdout.byteLength / 2));
    let sum = 0;
    let peak = 0;
    for (const s of samples) {
      const v = Math.abs(s) / 32768;
      sum += v * v;
      if (v > peak) peak = v;
    }
    const rms = samples.length ? Math.sqrt(sum / samples.length) : 0;
    const decodable = pcm.code === 0 && samples.length > 0 && stream.codec_name !== undefined;
    return {
      decodable,
      container,
      codec: stream.codec_name ?? null,
      sampleRate: stream.sample_rate ? Number(stream.sample_rate) : null,
      channels: stream.channels ?? null,
      durationSeconds: samples.length / PROBE_RATE,
      rmsDb: rms > 0 ? 20 * Math.log10(rms) : -Infinity,
      peak,
      silent: peak < 10 ** (-50 / 20),
      error: decodable ? null : (pcm.stderr || info.stderr || 'no audio stream').trim().slice(0, 500),
      warnings: decodable && pcm.stderr.trim() ? pcm.stderr.trim().slice(0, 500) : null,
    };
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * Throws a readable error unless `bytes` are a real, decodable, non-silent recording
 * lasting `seconds` (± `tolerance`); returns the probe otherwise.
 */
export async function expectRecording(bytes: Uint8Array, { seconds, tolerance = 1 }: { seconds?: number; tolerance?: number } = {}) {
  const probe = await probeAudio(bytes);
  const problems: string[] = [];
  if (!probe.decodable) problems.push(`not decodable (${probe.error})`);
  else {
    if (probe.silent) problems.push(`silent (peak ${probe.peak.toFixed(4)})`);
    if (seconds !== undefined && Math.abs(probe.durationSeconds - seconds) > tolerance) {
      problems.push(`lasts ${probe.durationSeconds.toFixed(2)} s, expected ${seconds} ± ${tolerance} s`);
    }
  }
  if (problems.length) {
    throw new Error(`not a real recording: ${problems.join('; ')} [${bytes.byteLength} bytes, ${probe.container ?? 'unknown'}]`);
  }
  return probe;
}
