/**
 * The speech proxies against real servers, a real PostgreSQL, the real OpenAI and
 * Mistral SDKs (pointed at the fake provider), and the real espeak-ng and ffmpeg.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, signUp } from '../support/client';
import { eventually } from '../support/eventually';
import { cookieHeader, rawRequest } from '../support/raw-http';
import { startServer, type TestServer } from '../support/server';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { PNG_BYTES, probeAudio, recording, toneWav, type FixtureFormat } from '../support/audio-fixtures';
import { MultipartError, parseMultipart } from '../../server/http/multipart';

const MB = 1024 * 1024;
/** The multipart framing of the raw uploads below. */
const BOUNDARY = 'parleyboundary';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
const FORMATS: FixtureFormat[] = ['webm', 'ogg', 'm4a', 'mp3', 'wav'];
const TIMEOUT_MS = 1500;
// Deadlines, espeak-ng and ffmpeg take seconds on a shared 2-core machine.
setDefaultTimeout(30_000);

let fake: FakeProvider;
let openai: TestServer; // STT and TTS through the openai SDK
let mistral: TestServer; // STT and TTS through @mistralai/mistralai
let espeak: TestServer; // TTS by espeak-ng, no STT
let none: TestServer; // nothing configured

beforeAll(async () => {
  fake = await startFakeProvider();
  const viaOpenAI = { OPENAI_BASE_URL: fake.openaiBaseUrl, OPENAI_API_KEY: 'sk-test-secret-key' };
  const viaMistral = { MISTRAL_SERVER_URL: fake.mistralServerUrl, MISTRAL_API_KEY: 'mistral-test-secret-key' };
  const timeout = { VOICE_TIMEOUT_MS: String(TIMEOUT_MS) };
  [openai, mistral, espeak, none] = await Promise.all([
    startServer({ ...viaOpenAI, ...timeout, STT_PROVIDER: 'openai', TTS_PROVIDER: 'openai' }),
    startServer({ ...viaMistral, ...timeout, STT_PROVIDER: 'mistral', TTS_PROVIDER: 'mistral' }),
    startServer({ ...timeout, STT_PROVIDER: 'none', TTS_PROVIDER: 'espeak' }),
    startServer({ STT_PROVIDER: 'none', TTS_PROVIDER: 'none' }),
  ]);
  // Make the fixtures once, up front (espeak-ng + ffmpeg).
  await Promise.all(FORMATS.map((f) => recording(f)));
}, 60_000);
afterAll(async () => {
  await Promise.all([openai, mistral, espeak, none].map((s) => s?.stop()));
  fake?.stop();
});
beforeEach(() => fake.reset());

function form(file: { bytes: Uint8Array; type: string; filename: string } | null, fields: Record<string, string> = {}) {
  const data = new FormData();
  if (file) data.set('file', new File([file.bytes as Uint8Array<ArrayBuffer>], file.filename, { type: file.type }));
  for (const [k, v] of Object.entries(fields)) data.set(k, v);
  return data;
}

async function transcribe(client: Client, file: Parameters<typeof form>[0], fields?: Record<string, string>) {
  const res = await client.post('/api/voice/transcriptions', form(file, fields));
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, res };
}

async function speak(client: Client, body: unknown) {
  const res = await client.post('/api/voice/speech', body);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const json = () => JSON.parse(new TextDecoder().decode(bytes));
  return { status: res.status, bytes, json, type: res.headers.get('content-type') ?? '', res };
}

const isMp3 = (b: Uint8Array) => (b[0] === 0x49 && b[1] === 0x44 && b[2] === 0x33) || (b[0] === 0xff && (b[1]! & 0xe0) === 0xe0);
const isWav = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, 4)) === 'RIFF';
const isOgg = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, 4)) === 'OggS';

describe('GET /api/voice', () => {
  test('says which engines are active and lists the voices of the active one', async () => {
    const { client } = await signUp(openai.url);
    const res = await client.json('GET', '/api/voice');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ stt: 'openai', tts: 'openai', defaultVoice: 'alloy', voice: 'alloy', maxUploadBytes: 25 * MB, maxTextChars: 4096 });
    expect(res.body.voices.map((v: { id: string }) => v.id)).toEqual(expect.arrayContaining(['alloy', 'echo', 'fable', 'onyx', 'nova', 'shimmer']));
    expect(res.body.uploadTypes).toEqual(expect.arrayContaining(['audio/webm', 'audio/ogg', 'audio/mp4', 'audio/mpeg', 'audio/wav']));

    const local = await (await signUp(espeak.url)).client.json('GET', '/api/voice');
    expect(local.body).toMatchObject({ stt: null, tts: 'espeak', defaultVoice: 'en-us' });
    expect(local.body.voices.map((v: { id: string }) => v.id)).toEqual(expect.arrayContaining(['en-us', 'en-gb', 'fr-fr', 'de', 'es']));

    const off = await (await signUp(none.url)).client.json('GET', '/api/voice');
    expect(off.body).toMatchObject({ stt: null, tts: null, voices: [], defaultVoice: null });
  });

  test('every voice route needs a session (401), and nothing reaches the provider', async () => {
    const anon = new Client(openai.url);
    expect((await anon.json('GET', '/api/voice')).status).toBe(401);
    expect((await transcribe(anon, await recording('wav'))).status).toBe(401);
    expect((await speak(anon, { text: 'hello' })).status).toBe(401);
    expect(fake.received('/audio/transcriptions').length + fake.received('/audio/speech').length).toBe(0);
  });
});

describe('POST /api/voice/transcriptions', () => {
  for (const format of FORMATS) {
    test(`a real ${format} recording is transcribed through the openai SDK and arrives intact`, async () => {
      const { client } = await signUp(openai.url);
      fake.audio.setTranscript('what is the weather like today');
      const file = await recording(format);
      const res = await transcribe(client, file, { language: 'en-US' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ text: 'what is the weather like today' });
      const got = await fake.audio.waitForTranscription(1);
      expect(got).toMatchObject({ sdk: 'openai', model: 'whisper-1', language: 'en' });
      expect(got.bytes).toEqual(file.bytes);
      // Named and typed after its real content, not after what the client said.
      expect(got.filename).toMatch(new RegExp(`^recording\\.${format === 'm4a' ? 'm4a' : format}$`));
      expect(got.type).toBe(file.type.split(';')[0]!);
      const probe = await got.expectRecording({ seconds: 2.6, tolerance: 0.5 });
      expect(probe.silent).toBe(false);
      // The key goes to the provider, never anywhere else.
      expect(fake.received('/audio/transcriptions')[0]!.headers.authorization).toBe('Bearer sk-test-secret-key');
    });

    test(`a real ${format} recording is transcribed through the Mistral SDK (Voxtral)`, async () => {
      const { client } = await signUp(mistral.url);
      fake.audio.setTranscript((r) => `heard ${r.bytes.byteLength} bytes`);
      const file = await recording(format);
      const res = await transcribe(client, file);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ text: `heard ${file.bytes.byteLength} bytes` });
      const got = await fake.audio.waitForTranscription(1);
      expect(got).toMatchObject({ sdk: 'mistral', model: 'voxtral-mini-latest', language: null });
      expect(got.bytes).toEqual(file.bytes);
      await got.expectRecording({ seconds: 2.6, tolerance: 0.5 });
    });
  }

  test('a client that sends no real type (curl) is judged by extension and content', async () => {
    const { client } = await signUp(openai.url);
    const mp3 = await recording('mp3');
    const res = await transcribe(client, { ...mp3, type: 'application/octet-stream', filename: 'memo.MP3' });
    expect(res.status).toBe(200);
  });

  test('missing, empty or badly described input is a 400 naming the field', async () => {
    const { client } = await signUp(openai.url);
    const missing = await transcribe(client, null, { language: 'en' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields).toHaveProperty('file');
    const empty = await transcribe(client, { bytes: new Uint8Array(0), type: 'audio/webm', filename: 'a.webm' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.fields).toHaveProperty('file');
    const language = await transcribe(client, await recording('wav'), { language: 'english please; drop table' });
    expect(language.status).toBe(400);
    expect(language.body.error.fields).toHaveProperty('language');
    const garbage = await client.post('/api/voice/transcriptions', 'not multipart at all', {
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    });
    expect(garbage.status).toBe(400);
    expect(fake.audio.transcriptions).toHaveLength(0);
  });

  test('anything but an allowed audio container is 415, whatever it is called', async () => {
    const { client } = await signUp(openai.url);
    const wav = await recording('wav');
    const cases = [
      { bytes: PNG_BYTES, type: 'audio/webm', filename: 'voice.webm' }, // a PNG renamed
      { bytes: PNG_BYTES, type: 'image/png', filename: 'voice.png' },
      { bytes: PNG_BYTES, type: 'application/octet-stream', filename: 'voice.webm' },
      { bytes: wav.bytes, type: 'audio/webm', filename: 'voice.webm' }, // real audio, lying label
      { bytes: wav.bytes, type: 'audio/flac', filename: 'voice.flac' }, // not on the list
      { bytes: wav.bytes, type: 'text/html', filename: 'voice.wav' },
      { bytes: new TextEncoder().encode('<script>alert(1)</script>'.repeat(10)), type: 'audio/wav', filename: 'x.wav' },
    ];
    for (const file of cases) {
      const res = await transcribe(client, file);
      expect({ file: `${file.type} ${file.filename}`, status: res.status }).toEqual({ file: `${file.type} ${file.filename}`, status: 415 });
      expect(res.body.error.code).toBe('unsupported_media_type');
    }
    const json = await client.json('POST', '/api/voice/transcriptions', { file: 'aGVsbG8=' });
    expect(json.status).toBe(415);
    expect(fake.audio.transcriptions).toHaveLength(0);
  });

  test('a file of 25 MB and 1 byte is refused with 413 though the body fits the cap with its headers', async () => {
    const { client } = await signUp(openai.url);
    const big = new Uint8Array(25 * MB + 1);
    big.set(toneWav(0.1));
    const res = await transcribe(client, { bytes: big, type: 'audio/wav', filename: 'big.wav' });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_large');
    expect(fake.audio.transcriptions).toHaveLength(0);
  });

  test('a Content-Length over the cap is refused before any body byte is sent', async () => {
    const { client } = await signUp(openai.url);
    const result = await rawRequest(openai.url, {
      path: '/api/voice/transcriptions',
      headers: { cookie: cookieHeader(client), 'content-type': MULTIPART, 'content-length': String(40 * MB) },
    });
    expect(result.status).toBe(413);
    expect(result.sentBeforeResponse).toBe(0);
  });

  test('a streamed upload with no Content-Length is cut off with 413 soon after 25 MB, not read to its end', async () => {
    const { client } = await signUp(openai.url);
    const total = 60 * MB;
    // The multipart head, then audio bytes, in 256 KB chunks until the server answers.
    const chunk = new Uint8Array(256 * 1024);
    chunk.set(new TextEncoder().encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`));
    const result = await rawRequest(openai.url, {
      path: '/api/voice/transcriptions',
      headers: { cookie: cookieHeader(client), 'content-type': MULTIPART },
      body: Array.from({ length: total / chunk.byteLength }, () => chunk),
      chunked: true,
    });
    expect(result.status).toBe(413);
    expect(result.body).toContain('too_large'); // our answer, not Bun's own body limit
    // What we measure: bytes the client had written when the answer arrived. The server read at
    // most that much (less, by what sat in socket buffers), and the client was stopped far short
    // of the 60 MB it meant to send.
    expect(result.sentBeforeResponse).toBeGreaterThan(25 * MB);
    expect(result.sentBeforeResponse).toBeLessThan(32 * MB);
    expect(fake.audio.transcriptions).toHaveLength(0);
  });

  test('a provider that never answers is a 504 after the deadline', async () => {
    const { client } = await signUp(openai.url);
    fake.audio.hang(true);
    const started = performance.now();
    const res = await transcribe(client, await recording('webm'));
    const took = performance.now() - started;
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('provider_timeout');
    expect(took).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(took).toBeLessThan(TIMEOUT_MS + 3000);

    const m = await signUp(mistral.url);
    expect((await transcribe(m.client, await recording('webm'))).status).toBe(504);
  });

  test('a provider failure is a 502 with a readable message that carries no key', async () => {
    const { client } = await signUp(openai.url);
    fake.audio.fail(500, { message: 'boom sk-test-secret-key' });
    const res = await transcribe(client, await recording('ogg'));
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('provider_error');
    expect(res.body.error.message).toMatch(/speech-to-text provider \(openai\).*HTTP 500/);
    expect(JSON.stringify(res.body)).not.toContain('secret');

    fake.audio.fail(401);
    const auth = await transcribe(client, await recording('ogg'));
    expect(auth.status).toBe(502);
    expect(auth.body.error.message).toMatch(/API key/);

    const m = await signUp(mistral.url);
    fake.audio.fail(503, { message: 'mistral-test-secret-key leaked' });
    const viaMistral = await transcribe(m.client, await recording('ogg'));
    expect(viaMistral.status).toBe(502);
    expect(viaMistral.body.error.message).toMatch(/\(mistral\)/);
    expect(JSON.stringify(viaMistral.body)).not.toContain('secret');
    // No retries behind the user's back: one request per attempt.
    expect(fake.audio.transcriptions).toHaveLength(3);
  });

  test('a provider that cannot be reached is a 502, for both SDKs', async () => {
    const [downOpenAI, downMistral] = await Promise.all([
      startServer({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'x', STT_PROVIDER: 'openai', TTS_PROVIDER: 'openai' }),
      startServer({ MISTRAL_SERVER_URL: 'http://127.0.0.1:9', MISTRAL_API_KEY: 'x', STT_PROVIDER: 'mistral', TTS_PROVIDER: 'mistral' }),
    ]);
    try {
      for (const down of [downOpenAI, downMistral]) {
        const { client } = await signUp(down.url);
        const res = await transcribe(client, await recording('wav'));
        expect(res.status).toBe(502);
        expect(res.body.error.message).toMatch(/could not be reached/);
        const spoken = await speak(client, { text: 'hi' });
        expect(spoken.status).toBe(502);
        expect(spoken.json().error.message).toMatch(/could not be reached/);
      }
    } finally {
      await Promise.all([downOpenAI.stop(), downMistral.stop()]);
    }
  }, 30_000); // starts a server of its own

  test('no speech-to-text engine: 501 the app can show', async () => {
    const { client } = await signUp(espeak.url);
    const res = await transcribe(client, await recording('wav'));
    expect(res.status).toBe(501);
    expect(res.body.error).toMatchObject({ code: 'stt_not_configured', message: 'Speech-to-text is not configured on this server' });
  });
});

describe('POST /api/voice/speech', () => {
  test('OpenAI audio is relayed as it streams, bytes unchanged', async () => {
    const { client } = await signUp(openai.url);
    fake.audio.setSpeechChunks(4, 400);
    const started = performance.now();
    const res = await client.post('/api/voice/speech', { text: 'Streaming works, chunk by chunk.' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    const parts: Uint8Array<ArrayBuffer>[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(performance.now() - started);
      parts.push(value);
    }
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    // The fake waits 3 × 400 ms between its chunks; the first reached us long before the last was sent.
    expect(arrivals[0]!).toBeLessThan(arrivals.at(-1)! - 700);
    expect(isMp3(bytes)).toBe(true);
    const probe = await probeAudio(bytes);
    expect(probe.decodable).toBe(true);
    expect(fake.audio.speeches[0]).toMatchObject({ sdk: 'openai', model: 'gpt-4o-mini-tts', voice: 'alloy', format: 'mp3', input: 'Streaming works, chunk by chunk.' });
  });

  test('text must be 1 to 4096 characters, counted as characters; the voice must be listed', async () => {
    const { client } = await signUp(openai.url);
    for (const text of ['', '   \n ', 'x'.repeat(4097), '🎈'.repeat(4097)]) {
      const res = await speak(client, { text });
      expect(res.status).toBe(400);
      expect(res.json().error.fields).toHaveProperty('text');
    }
    for (const body of [{}, { text: 42 }, { text: 'hi', voice: 'robot' }, { text: 'hi', voice: '--help' }]) {
      const res = await speak(client, body);
      expect(res.status).toBe(400);
    }
    expect((await speak(client, { text: 'hi', voice: 'robot' })).json().error.fields).toHaveProperty('voice');
    // 4096 emoji are 8192 UTF-16 units but 4096 characters: allowed.
    expect((await speak(client, { text: '🎈'.repeat(4096) })).status).toBe(200);
    expect((await speak(client, { text: 'hi', voice: 'nova' })).status).toBe(200);
    expect(fake.audio.speeches.map((s) => s.voice)).toEqual(['alloy', 'nova']);
  });

  test("the user's saved voice is used; another user's never is", async () => {
    const a = await signUp(openai.url);
    const b = await signUp(openai.url);
    expect((await a.client.json('PUT', '/api/settings', { voice: 'onyx' })).status).toBe(200);
    expect((await speak(a.client, { text: 'mine' })).status).toBe(200);
    expect((await speak(a.client, { text: 'mine again', voice: 'nova' })).status).toBe(200);
    expect((await speak(b.client, { text: 'theirs' })).status).toBe(200);
    expect((await speak(b.client, { text: 'theirs', voice: 'shimmer' })).status).toBe(200);
    expect(fake.audio.speeches.map((s) => s.voice)).toEqual(['onyx', 'onyx', 'alloy', 'shimmer']);
    expect((await a.client.json('GET', '/api/voice')).body.voice).toBe('onyx');
    expect((await b.client.json('GET', '/api/voice')).body.voice).toBe('alloy');
  });

  test('Mistral speech (base64 JSON upstream) comes back as audio bytes', async () => {
    const { client } = await signUp(mistral.url);
    const res = await speak(client, { text: 'Bonjour, ici Mistral.' });
    expect(res.status).toBe(200);
    expect(res.type).toBe('audio/mpeg');
    expect(isMp3(res.bytes)).toBe(true);
    expect((await probeAudio(res.bytes)).decodable).toBe(true);
    expect(fake.audio.speeches[0]).toMatchObject({ sdk: 'mistral', model: 'voxtral-mini-tts-3-0', voice: 'gb_jane_neutral', format: 'mp3' });
    expect(fake.received('/audio/speech')[0]!.headers.authorization).toBe('Bearer mistral-test-secret-key');
  });

  test('speech provider errors and timeouts: 502 and 504, for both SDKs', async () => {
    const o = await signUp(openai.url);
    const m = await signUp(mistral.url);
    fake.audio.fail(500, { only: 'speech' });
    expect((await speak(o.client, { text: 'x' })).status).toBe(502);
    expect((await speak(m.client, { text: 'x' })).status).toBe(502);
    fake.audio.fail(429, { only: 'speech', times: 1 });
    const limited = await speak(o.client, { text: 'x' });
    expect(limited.status).toBe(502);
    expect(limited.json().error.message).toMatch(/rate limiting/);
    fake.audio.hang(true, 'speech');
    const o504 = await speak(o.client, { text: 'x' });
    expect(o504.status).toBe(504);
    expect(o504.json().error.code).toBe('provider_timeout');
    expect((await speak(m.client, { text: 'x' })).status).toBe(504);
  });

  test('espeak-ng speaks locally: real audio in the declared type', async () => {
    const { client } = await signUp(espeak.url);
    for (const voice of [undefined, 'en-gb', 'fr-fr']) {
      const res = await speak(client, { text: 'Hello, this is a local voice.', ...(voice ? { voice } : {}) });
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^audio\/(mpeg|ogg|wav)$/);
      // The bytes are what the Content-Type says (one check, whichever type was chosen).
      const looksLike = { 'audio/mpeg': isMp3, 'audio/ogg': isOgg, 'audio/wav': isWav }[res.type as 'audio/wav'];
      expect(looksLike(res.bytes)).toBe(true);
      const probe = await probeAudio(res.bytes);
      expect(probe.decodable).toBe(true);
      expect(probe.silent).toBe(false);
      expect(probe.durationSeconds).toBeGreaterThan(1);
    }
    expect((await speak(client, { text: 'x', voice: 'alloy' })).status).toBe(400);
  });

  test('hostile text reaches espeak-ng only as text: audio comes back and nothing else happens', async () => {
    const { client } = await signUp(espeak.url);
    const mark = join(tmpdir(), `parley-pwned-${crypto.randomUUID()}`);
    const canary = join(tmpdir(), `parley-canary-${crypto.randomUUID()}`);
    mkdirSync(canary);
    const hostile = [
      '--help',
      '--version',
      `-w ${mark}`,
      `--stdout -w ${mark} hello`,
      `$(touch ${mark})`,
      `\`touch ${mark}\``,
      `; rm -rf ${canary} ; touch ${mark}`,
      `| touch ${mark} && echo`,
      `"; touch ${mark}; echo "`,
      `<speak><audio src="file://${mark}"/>hi</speak>`,
      'ab c '.repeat(819), // one very long line (4095 characters)
      '\u0001\u0002\u0003 22S \u001b[31m red \u0007\u0008\u007f\u009b control',
      'line one\r\nline two\n\n\n-line three\n--help',
      '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u202e RTL \u200b zero-width \ufeff BOM \ud800 lone surrogate \uffff noncharacter 中文 العربية',
      '\u0000nul at the start',
    ];
    for (const text of hostile) {
      const res = await speak(client, { text });
      expect({ text: text.slice(0, 30), status: res.status }).toEqual({ text: text.slice(0, 30), status: 200 });
      // Audio, not espeak's help or version text printed to stdout.
      expect(isMp3(res.bytes) || isOgg(res.bytes) || isWav(res.bytes)).toBe(true);
      expect(new TextDecoder().decode(res.bytes.subarray(0, 200))).not.toMatch(/eSpeak|Usage|--stdout/);
    }
    expect(existsSync(mark)).toBe(false);
    expect(existsSync(canary)).toBe(true);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('parley-pwned'))).toEqual([]);
    rmSync(canary, { recursive: true, force: true });
  });

  // What this measures: no espeak-ng/ffmpeg child is left after a finished or an abandoned reply.
  // It cannot prove the kill on disconnect itself: espeak-ng reads 4,096 characters in about a second.
  test('no espeak-ng or ffmpeg process outlives a finished or abandoned reply', async () => {
    const { client } = await signUp(espeak.url);
    expect((await speak(client, { text: 'short and complete' })).status).toBe(200);
    await eventually(async () => expect(await speechChildren()).toEqual([]), { timeout: 3000, message: 'no child left after a finished reply' });

    const aborter = new AbortController();
    const res = await client.post('/api/voice/speech', { text: 'A long text to read aloud. '.repeat(150) }, { signal: aborter.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).value!.byteLength).toBeGreaterThan(0);
    aborter.abort();
    await reader.cancel().catch(() => {});
    await eventually(async () => expect(await speechChildren()).toEqual([]), { timeout: 5000, message: 'no child left after an abandoned reply' });
  });

  test('no text-to-speech engine: 501', async () => {
    const { client } = await signUp(none.url);
    const res = await speak(client, { text: 'hello' });
    expect(res.status).toBe(501);
    expect(res.json().error.code).toBe('tts_not_configured');
  });
});

describe('rate limits', () => {
  test('60 transcriptions per 10 minutes per user, then 429 with Retry-After; others unaffected', async () => {
    const { client } = await signUp(openai.url);
    // Non-multipart bodies are refused (415) after the limit is counted, without reaching the provider.
    for (let i = 0; i < 60; i++) {
      const res = await client.post('/api/voice/transcriptions', 'x', { headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(415);
    }
    const limited = await transcribe(client, await recording('wav'));
    expect(limited.status).toBe(429);
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(fake.audio.transcriptions).toHaveLength(0);
    const other = await signUp(openai.url);
    expect((await transcribe(other.client, await recording('wav'))).status).toBe(200);
  });

  test('300 speech requests per 10 minutes per user, then 429 with Retry-After', async () => {
    const { client } = await signUp(openai.url);
    // Blank text passes the schema, is counted, then refused (400) before the provider.
    for (let batch = 0; batch < 15; batch++) {
      const statuses = await Promise.all(
        Array.from({ length: 20 }, () => client.post('/api/voice/speech', { text: ' ' }).then((r) => r.status)),
      );
      expect(statuses.every((s) => s === 400)).toBe(true);
    }
    const limited = await speak(client, { text: 'one more' });
    expect(limited.status).toBe(429);
    expect(Number(limited.res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(fake.audio.speeches).toHaveLength(0);
  });
});

describe('multipart parsing (ours: Bun would replace the declared part type)', () => {
  const encode = (s: string) => new TextEncoder().encode(s);
  test('keeps declared types, names and bytes; refuses what is not well-formed', () => {
    const body = encode(
      'preamble\r\n--b0\r\nContent-Disposition: form-data; name="language"\r\n\r\nfr\r\n' +
        '--b0\r\nContent-Disposition: form-data; name="file"; filename="we\\"ird.wav"\r\nContent-Type: audio/webm;codecs=opus\r\n\r\n' +
        'RIFF\r\n--b\r\nnot a delimiter\r\n--b0--\r\nepilogue',
    );
    const parts = parseMultipart(body, 'multipart/form-data; boundary="b0"');
    expect(parts.map((p) => [p.name, p.filename, p.contentType, new TextDecoder().decode(p.data)])).toEqual([
      ['language', null, null, 'fr'],
      ['file', 'we"ird.wav', 'audio/webm;codecs=opus', 'RIFF\r\n--b\r\nnot a delimiter'],
    ]);
    for (const bad of [
      ['--b0\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end', 'multipart/form-data; boundary=b0'],
      ['--b0\r\nContent-Type: text/plain\r\n\r\nx\r\n--b0--', 'multipart/form-data; boundary=b0'],
      ['--b0\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--b0--', 'multipart/form-data'],
      ['nothing here', 'multipart/form-data; boundary=b0'],
      ['', 'multipart/form-data; boundary=b0'],
    ] as const) {
      expect(() => parseMultipart(encode(bad[0]), bad[1])).toThrow(MultipartError);
    }
  });

  test('malformed uploads are 400s, and the server stays up', async () => {
    const { client } = await signUp(openai.url);
    const post = (body: string, type: string) =>
      client.post('/api/voice/transcriptions', body, { headers: { 'content-type': type } });
    const boundaryOnly = 'multipart/form-data; boundary=zz';
    expect((await post('--zz\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF', boundaryOnly)).status).toBe(400);
    expect((await post('--zz--', boundaryOnly)).status).toBe(400);
    expect((await post('\u0000\uffff'.repeat(1000), boundaryOnly)).status).toBe(400);
    expect((await post('', boundaryOnly)).status).toBe(400);
    expect((await client.json('GET', '/api/voice')).status).toBe(200);
  });
});

/** The espeak-ng and ffmpeg processes this test process (which runs the servers) has spawned and not reaped. */
async function speechChildren(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = await Bun.file(`/proc/${pid}/stat`).text();
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && /espeak|ffmpeg/.test(comm)) found.push(`${pid} ${comm}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}
