/**
 * The fake provider's audio endpoints, in both wire formats:
 *   OpenAI   POST /v1/audio/transcriptions  multipart → {text}
 *            POST /v1/audio/speech          JSON → raw audio bytes, streamed in chunks
 *   Mistral  POST /v1/audio/transcriptions  multipart → {model, text, language, usage, segments}
 *            POST /v1/audio/speech          JSON → {audio_data: base64}
 * The paths are the same; the SDKs are told apart by user-agent, then by their fields
 * (Mistral always sends `stream`; its speech body names `voice_id`).
 *
 * Tests script it through `control` and read back what arrived, including whether an
 * uploaded recording is real: `await fake.audio.transcriptions[0].expectRecording({seconds: 3})`.
 *
 * A browser test runs the fake in another process, so the same control is also served over
 * HTTP (never by Parley's server, only by this fake):
 *   GET  /__fake/audio/transcriptions  what each upload was, with ffmpeg's probe of it
 *   GET  /__fake/audio/speeches        each speech request: text, and when it came and was answered
 *   POST /__fake/audio/transcript      {text}: what the next transcriptions answer; or {texts}: one each, in
 *                                      order, the last one repeated (hands-free turns come on their own)
 *   POST /__fake/audio/reset           forget everything, back to the defaults
 * Times there are wall-clock milliseconds (Date.now()), comparable with a page's on this machine.
 */
import type { FakeModule, Recorded } from './index';
import { expectRecording, probeAudio, toneWav, type AudioProbe } from '../audio-fixtures';
import { parseMultipart } from '../../../server/http/multipart';

export type AudioSdk = 'openai' | 'mistral';
export type AudioKind = 'transcription' | 'speech';

export interface ReceivedTranscription {
  sdk: AudioSdk;
  /** The uploaded file, byte for byte. */
  bytes: Uint8Array;
  filename: string;
  /** The file part's declared Content-Type. */
  type: string;
  model: string | null;
  language: string | null;
  /** Every text field of the form (model, language, stream, …). */
  fields: Record<string, string>;
  at: number;
  /** Date.now() when it arrived. */
  receivedAtMs: number;
  /** performance.now() when the answer was sent (null until then). */
  answeredAt: number | null;
  /** Decodes the upload with ffmpeg: container, codec, real duration, loudness. */
  probe(): Promise<AudioProbe>;
  /** Throws unless it is a real, decodable, non-silent recording of about `seconds` (± tolerance, default 1 s). */
  expectRecording(opts?: { seconds?: number; tolerance?: number }): Promise<AudioProbe>;
}

export interface ReceivedSpeech {
  sdk: AudioSdk;
  model: string | null;
  voice: string | null;
  input: string;
  format: string;
  at: number;
  /** Date.now() when it arrived. */
  receivedAtMs: number;
  /** performance.now() when the first and last audio bytes were sent (null until then). */
  firstByteAt: number | null;
  lastByteAt: number | null;
}

interface Failure {
  status: number;
  message: string;
  times: number;
  only: AudioKind | null;
}

export interface AudioControl {
  transcriptions: ReceivedTranscription[];
  speeches: ReceivedSpeech[];
  /** The text every transcription answers (or a function of what was received). */
  setTranscript(text: string | ((received: ReceivedTranscription) => string)): void;
  /** A fixed wait before answering (benchmarks, "Thinking" states): both endpoints, or with `only` just that one (each keeps its own). */
  setDelay(ms: number, only?: AudioKind): void;
  /** How speech audio is streamed: `count` chunks with `delayMs` between them. */
  setSpeechChunks(count: number, delayMs: number): void;
  /** Seconds of tone per speech request; default grows with the text (0.5 s + 50 ms/char, at most 8 s). */
  setSpeechSeconds(seconds: number | null): void;
  /** Answer `status` with a provider-shaped error body, `times` times (default: until reset). */
  fail(status: number, opts?: { message?: string; times?: number; only?: AudioKind }): void;
  /** Accept requests and never answer them (until the caller gives up or reset()). */
  hang(on?: boolean, only?: AudioKind): void;
  /** Resolves with the n-th transcription (1-based) since the last reset, waiting for it if needed. */
  waitForTranscription(n?: number, timeoutMs?: number): Promise<ReceivedTranscription>;
  /** The same checks on any bytes. */
  probe(bytes: Uint8Array): Promise<AudioProbe>;
  reset(): void;
}

const SPEECH_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};
const FFMPEG_OUT: Record<string, string[]> = {
  mp3: ['-c:a', 'libmp3lame', '-b:a', '48k', '-f', 'mp3'],
  opus: ['-c:a', 'libopus', '-b:a', '32k', '-f', 'ogg'],
  aac: ['-c:a', 'aac', '-b:a', '48k', '-f', 'adts'],
  flac: ['-c:a', 'flac', '-f', 'flac'],
  pcm: ['-f', 's16le', '-ar', '24000'],
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A real clip in `format`: a tone as WAV, transcoded by ffmpeg; WAV if that fails. */
async function makeAudio(seconds: number, format: string): Promise<{ bytes: Uint8Array; format: string }> {
  const wav = toneWav(seconds, { sampleRate: 24000 });
  const args = FFMPEG_OUT[format];
  if (!args || !Bun.which('ffmpeg')) return { bytes: wav, format: 'wav' };
  const proc = Bun.spawn(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-f', 'wav', '-i', 'pipe:0', ...args, 'pipe:1'], {
    stdin: wav,
    stdout: 'pipe',
    stderr: 'ignore',
  });
  const [out, code] = await Promise.all([new Response(proc.stdout).arrayBuffer(), proc.exited]);
  return code === 0 && out.byteLength ? { bytes: new Uint8Array(out), format } : { bytes: wav, format: 'wav' };
}

function sdkOf(recorded: Recorded, hints: { mistral: boolean }): AudioSdk {
  const ua = (recorded.headers['user-agent'] ?? '').toLowerCase();
  if (ua.includes('openai')) return 'openai';
  if (ua.includes('mistral') || ua.includes('speakeasy')) return 'mistral';
  return hints.mistral ? 'mistral' : 'openai';
}

function errorResponse(sdk: AudioSdk, status: number, message: string) {
  const body =
    sdk === 'openai'
      ? { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } }
      : { object: 'error', message, type: status >= 500 ? 'internal_error' : 'invalid_request_error', param: null, code: null };
  return Response.json(body, { status });
}

export function createAudioModule(): FakeModule<AudioControl> {
  let transcript: string | ((r: ReceivedTranscription) => string) = 'This is what the fake heard.';
  let delays: Record<AudioKind, number> = { transcription: 0, speech: 0 };
  let chunks = { count: 4, delayMs: 40 };
  let speechSeconds: number | null = null;
  let failure: Failure | null = null;
  let hanging = { on: false, only: null as AudioKind | null };
  const hung = new Set<() => void>();
  const waiters = new Set<() => void>();

  const control: AudioControl = {
    transcriptions: [],
    speeches: [],
    setTranscript: (text) => void (transcript = text),
    setDelay(ms, only) {
      if (only) delays[only] = ms;
      else delays = { transcription: ms, speech: ms };
    },
    setSpeechChunks: (count, delayMs) => void (chunks = { count: Math.max(1, count), delayMs }),
    setSpeechSeconds: (seconds) => void (speechSeconds = seconds),
    fail: (status, opts = {}) =>
      void (failure = {
        status,
        message: opts.message ?? `fake provider failure ${status}`,
        times: opts.times ?? Infinity,
        only: opts.only ?? null,
      }),
    hang(on = true, only) {
      hanging = { on, only: only ?? null };
      if (!on) for (const release of hung) release();
    },
    async waitForTranscription(n = 1, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (control.transcriptions.length < n) {
        if (Date.now() > deadline) throw new Error(`fake audio: ${control.transcriptions.length} transcription(s) after ${timeoutMs} ms, wanted ${n}`);
        await new Promise<void>((resolve) => {
          waiters.add(resolve);
          setTimeout(resolve, 100);
        });
      }
      return control.transcriptions[n - 1]!;
    },
    probe: probeAudio,
    reset() {
      control.transcriptions.length = 0;
      control.speeches.length = 0;
      transcript = 'This is what the fake heard.';
      delays = { transcription: 0, speech: 0 };
      chunks = { count: 4, delayMs: 40 };
      speechSeconds = null;
      failure = null;
      hanging = { on: false, only: null };
      for (const release of hung) release();
    },
  };

  /** Delay, hang and scripted failure, in that order; a Response means "answer this". */
  async function script(kind: AudioKind, sdk: AudioSdk, req: Request): Promise<Response | null> {
    if (delays[kind] > 0) await sleep(delays[kind]);
    if (hanging.on && (hanging.only === null || hanging.only === kind)) {
      await new Promise<void>((resolve) => {
        const release = () => {
          hung.delete(release);
          resolve();
        };
        hung.add(release);
        req.signal.addEventListener('abort', release, { once: true });
      });
      return errorResponse(sdk, 503, 'fake provider: released from hang');
    }
    if (failure && failure.times > 0 && (failure.only === null || failure.only === kind)) {
      failure.times -= 1;
      const { status, message } = failure;
      if (failure.times <= 0) failure = null;
      return errorResponse(sdk, status, message);
    }
    return null;
  }

  async function transcription(req: Request, recorded: Recorded): Promise<Response> {
    const form = recorded.body instanceof FormData ? recorded.body : null;
    const fields: Record<string, string> = {};
    for (const [key, value] of form?.entries() ?? []) if (typeof value === 'string') fields[key] = value;
    const sdk = sdkOf(recorded, { mistral: 'stream' in fields || 'diarize' in fields });
    const file = form?.get('file');
    if (!(file instanceof Blob)) return errorResponse(sdk, 400, 'fake provider: no file in the upload');
    const bytes = new Uint8Array(await file.arrayBuffer());
    // The declared type as sent: Bun's FormData would report a guess from the file name.
    const sent = recorded.raw ? (() => { try { return parseMultipart(recorded.raw, recorded.headers['content-type'] ?? ''); } catch { return null; } })() : null;
    const filePart = sent?.find((p) => p.name === 'file');
    const received: ReceivedTranscription = {
      sdk,
      bytes,
      filename: filePart?.filename ?? (file instanceof File ? file.name : ''),
      type: filePart ? (filePart.contentType ?? '') : file.type,
      model: fields.model ?? null,
      language: fields.language ?? null,
      fields,
      at: recorded.at,
      receivedAtMs: Date.now(),
      answeredAt: null,
      probe: () => probeAudio(bytes),
      expectRecording: (opts) => expectRecording(bytes, opts),
    };
    control.transcriptions.push(received);
    for (const wake of waiters) wake();
    waiters.clear();
    const scripted = await script('transcription', sdk, req);
    if (scripted) return scripted;
    const text = typeof transcript === 'function' ? transcript(received) : transcript;
    received.answeredAt = performance.now();
    if (sdk === 'openai') return Response.json({ text });
    return Response.json({
      model: received.model ?? 'voxtral-mini-latest',
      text,
      language: received.language,
      segments: [],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, prompt_audio_seconds: null },
    });
  }

  async function speech(req: Request, recorded: Recorded): Promise<Response> {
    const body = (recorded.body ?? {}) as Record<string, unknown>;
    const sdk = sdkOf(recorded, { mistral: 'voice_id' in body || 'stream' in body });
    const input = typeof body.input === 'string' ? body.input : '';
    const voice = (sdk === 'openai' ? body.voice : body.voice_id) as string | undefined;
    const format = typeof body.response_format === 'string' ? body.response_format : 'mp3';
    const received: ReceivedSpeech = {
      sdk,
      model: typeof body.model === 'string' ? body.model : null,
      voice: voice ?? null,
      input,
      format,
      at: recorded.at,
      receivedAtMs: Date.now(),
      firstByteAt: null,
      lastByteAt: null,
    };
    control.speeches.push(received);
    const scripted = await script('speech', sdk, req);
    if (scripted) return scripted;
    if (!input) return errorResponse(sdk, 400, 'fake provider: input is required');
    if (sdk === 'mistral' && body.stream === true) return errorResponse(sdk, 400, 'fake provider: streamed speech is not faked');
    const seconds = speechSeconds ?? Math.min(8, 0.5 + input.length * 0.05);
    const audio = await makeAudio(seconds, format);
    if (sdk === 'mistral') {
      received.firstByteAt = received.lastByteAt = performance.now();
      return Response.json({ audio_data: Buffer.from(audio.bytes).toString('base64') });
    }

    // OpenAI streams the raw bytes; we send them in a few chunks so streaming can be observed.
    const { count, delayMs } = chunks;
    const size = Math.ceil(audio.bytes.byteLength / count);
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (let i = 0; i < count; i++) {
          if (i > 0) await sleep(delayMs);
          if (req.signal.aborted) break;
          const part = audio.bytes.subarray(i * size, (i + 1) * size);
          if (part.byteLength) controller.enqueue(part);
          received.firstByteAt ??= performance.now();
        }
        received.lastByteAt = performance.now();
        controller.close();
      },
    });
    return new Response(stream, { headers: { 'content-type': SPEECH_TYPES[audio.format] ?? 'audio/wav' } });
  }

  /** The HTTP face of `control`, for tests in another process. */
  async function controlRoute(req: Request, url: URL, recorded: Recorded): Promise<Response | null> {
    const route = `${req.method} ${url.pathname.slice('/__fake/audio'.length)}`;
    switch (route) {
      case 'GET /transcriptions':
        return Response.json(
          await Promise.all(
            control.transcriptions.map(async (t) => ({
              filename: t.filename,
              type: t.type,
              size: t.bytes.byteLength,
              language: t.language,
              receivedAtMs: t.receivedAtMs,
              probe: await t.probe(),
            })),
          ),
        );
      case 'GET /speeches':
        return Response.json(
          control.speeches.map((s) => ({
            input: s.input,
            voice: s.voice,
            format: s.format,
            receivedAtMs: s.receivedAtMs,
            answered: s.firstByteAt !== null,
          })),
        );
      case 'POST /transcript': {
        const { text, texts } = (recorded.body ?? {}) as { text?: unknown; texts?: unknown };
        if (Array.isArray(texts) && texts.length && texts.every((t) => typeof t === 'string')) {
          const queue = [...(texts as string[])];
          control.setTranscript(() => (queue.length > 1 ? queue.shift()! : queue[0]!));
          return new Response(null, { status: 204 });
        }
        if (typeof text !== 'string') return Response.json({ error: 'text must be a string' }, { status: 400 });
        control.setTranscript(text);
        return new Response(null, { status: 204 });
      }
      case 'POST /reset':
        control.reset();
        return new Response(null, { status: 204 });
      default:
        return null;
    }
  }

  return {
    async handle(req, url, recorded) {
      if (url.pathname.startsWith('/__fake/audio/')) return controlRoute(req, url, recorded);
      if (req.method !== 'POST') return null;
      if (url.pathname === '/v1/audio/transcriptions') return transcription(req, recorded);
      if (url.pathname === '/v1/audio/speech') return speech(req, recorded);
      return null;
    },
    control,
  };
}
