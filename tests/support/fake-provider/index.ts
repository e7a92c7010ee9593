/**
 * A local stand-in for the paid providers (OpenAI and Mistral), speaking their real
 * wire protocols so the server reaches it through the real SDKs by base URL:
 *   OpenAI SDK:  baseURL = fake.openaiBaseUrl  (…/v1)
 *   Mistral SDK: serverURL = fake.mistralServerUrl (no /v1)
 * Each capability lives in its own module (chat, audio, images) that handles its
 * paths and exposes a `control` for tests to script behaviour and read what arrived.
 *
 * Standalone: `bun tests/support/fake-provider/index.ts [port]` (used by e2e tests,
 * benchmarks and manual runs).
 */
import { createChatModule } from './chat';
import { createAudioModule } from './audio';
import { createImagesModule } from './images';
import { createOcrModule } from './ocr';

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON, a FormData, or raw bytes. */
  body: unknown;
  /** The multipart body as sent (Bun's FormData replaces each file part's declared type with a guess). */
  raw?: Uint8Array;
  at: number;
}

export interface FakeModule<C> {
  /** Answers the request if the path is this module's; null otherwise. */
  handle(req: Request, url: URL, recorded: Recorded): Promise<Response | null>;
  control: C;
}

export async function startFakeProvider(port = 0) {
  const requests: Recorded[] = [];
  const chat = createChatModule();
  const audio = createAudioModule();
  const images = createImagesModule();
  const ocr = createOcrModule();
  const modules: FakeModule<unknown>[] = [chat, audio, images, ocr];

  const server = Bun.serve({
    port,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const type = req.headers.get('content-type') ?? '';
      let body: unknown = null;
      let raw: Uint8Array<ArrayBuffer> | undefined;
      if (type.includes('application/json')) body = await req.json().catch(() => null);
      else if (type.includes('multipart/form-data')) {
        raw = new Uint8Array(await req.arrayBuffer());
        body = await new Response(raw, { headers: { 'content-type': type } }).formData().catch(() => null);
      }
      else if (req.method !== 'GET' && req.method !== 'HEAD') body = new Uint8Array(await req.arrayBuffer());
      const recorded: Recorded = {
        method: req.method,
        path: url.pathname,
        headers: Object.fromEntries(req.headers),
        body,
        raw,
        at: performance.now(),
      };
      requests.push(recorded);
      for (const m of modules) {
        const res = await m.handle(req, url, recorded);
        if (res) return res;
      }
      return Response.json({ error: { message: `fake provider: no route for ${req.method} ${url.pathname}` } }, { status: 404 });
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  return {
    url: base,
    openaiBaseUrl: `${base}/v1`,
    mistralServerUrl: base,
    requests,
    chat: chat.control,
    audio: audio.control,
    images: images.control,
    ocr: ocr.control,
    /** Requests whose path ends with `suffix`. */
    received: (suffix: string) => requests.filter((r) => r.path.endsWith(suffix)),
    reset() {
      requests.length = 0;
      for (const m of modules) (m.control as { reset?: () => void }).reset?.();
    },
    stop: () => server.stop(true),
  };
}

export type FakeProvider = Awaited<ReturnType<typeof startFakeProvider>>;

if (import.meta.main) {
  const fake = await startFakeProvider(Number(process.argv[2] ?? 4010));
  console.log(`fake provider on ${fake.url} (OpenAI: ${fake.openaiBaseUrl}, Mistral: ${fake.mistralServerUrl})`);
}
