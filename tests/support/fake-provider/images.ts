/**
 * The fake's image generation, in both providers' wire formats:
 * - OpenAI: POST /v1/images/generations → {created, data: [{b64_json} | {url}]}; the
 *   URL points at the fake itself (GET /files/<name>.png), which serves the image.
 * - Mistral: POST /v1/conversations with the `image_generation` tool → a
 *   conversation.response whose message.output carries a `tool_file` chunk;
 *   GET /v1/files/<id>/content → the bytes.
 * Tests script it through `control` and read what arrived there; over HTTP (browser specs):
 *   POST /__fake/images/mode    {mode: 'b64_json' | 'url'}: how OpenAI's endpoint answers
 *   GET  /__fake/images/state   {mode, prompts, downloads}
 *   POST /__fake/images/reset   back to the defaults
 */
import { encodePng } from '../../../server/documents/png';
import type { FakeModule } from './index';

export interface ImagesControl {
  /** How OpenAI's endpoint answers: base64 in the JSON, or a URL to download. */
  mode: 'b64_json' | 'url';
  /** URL mode: answer this URL instead of the fake's own /files/<id>.png. */
  url: string | null;
  /** GET /files/*: answer a 302 to this location instead of the image (except at that location itself). */
  redirectTo: string | null;
  /** Generation requests answer this HTTP error (OpenAI- or Mistral-shaped body). */
  fail: { status: number; message?: string } | null;
  /** Generation requests never answer (until the client gives up). */
  hang: boolean;
  /** The image bytes handed out: a real PNG unless a test sets others (an SVG, HTML…). */
  image: Uint8Array<ArrayBuffer>;
  /** Prompts received, in order, from either provider's endpoint. */
  prompts: string[];
  /** The JSON bodies of the generation requests. */
  bodies: Record<string, unknown>[];
  /** Paths of image downloads served (GET /files/… and Mistral file contents). */
  downloads: string[];
  reset(): void;
}

// ---------- a real PNG (the server's own encoder, server/documents/png.ts) ----------

/** A valid RGB PNG of one colour. */
export function makePng(width = 4, height = 4, rgb: [number, number, number] = [200, 40, 40]): Uint8Array<ArrayBuffer> {
  const pixels = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set(rgb, i * 3);
  return encodePng(pixels, width, height, 3) as Uint8Array<ArrayBuffer>;
}

// ---------- the module ----------

export function createImagesModule(): FakeModule<ImagesControl> {
  let waiting: (() => void)[] = [];
  let counter = 0;
  const fresh = () => ({
    mode: 'b64_json' as const,
    url: null,
    redirectTo: null,
    fail: null,
    hang: false,
    image: makePng(),
    prompts: [] as string[],
    bodies: [] as Record<string, unknown>[],
    downloads: [] as string[],
  });
  const control: ImagesControl = {
    ...fresh(),
    reset() {
      Object.assign(control, fresh());
      for (const release of waiting) release();
      waiting = [];
    },
  };

  const hang = (req: Request) =>
    new Promise<Response>((resolve) => {
      const release = () => resolve(new Response('released', { status: 599 }));
      waiting.push(release);
      req.signal.addEventListener('abort', release);
    });

  const imageResponse = (path: string, type = 'image/png') => {
    control.downloads.push(path);
    return new Response(control.image, { headers: { 'content-type': type } });
  };

  /** The HTTP face of `control`, for tests in another process. */
  function controlRoute(req: Request, url: URL, body: Record<string, unknown>): Response | null {
    switch (`${req.method} ${url.pathname.slice('/__fake/images'.length)}`) {
      case 'POST /mode':
        if (body.mode !== 'b64_json' && body.mode !== 'url') return Response.json({ error: 'mode must be b64_json or url' }, { status: 400 });
        control.mode = body.mode;
        return new Response(null, { status: 204 });
      case 'GET /state':
        return Response.json({ mode: control.mode, prompts: control.prompts, downloads: control.downloads });
      case 'POST /reset':
        control.reset();
        return new Response(null, { status: 204 });
      default:
        return null;
    }
  }

  return {
    control,
    async handle(req, url, recorded) {
      const body = (recorded.body ?? {}) as Record<string, unknown>;
      if (url.pathname.startsWith('/__fake/images/')) return controlRoute(req, url, body);

      if (req.method === 'POST' && url.pathname === '/v1/images/generations') {
        control.bodies.push(body);
        control.prompts.push(String(body.prompt ?? ''));
        if (control.hang) return hang(req);
        if (control.fail) {
          return Response.json(
            { error: { message: control.fail.message ?? 'fake failure', type: 'server_error', code: null } },
            { status: control.fail.status },
          );
        }
        const created = Math.floor(Date.now() / 1000);
        if (control.mode === 'url') {
          const link = control.url ?? `${url.origin}/files/img-${++counter}.png`;
          return Response.json({ created, data: [{ url: link, revised_prompt: body.prompt }] });
        }
        return Response.json({ created, data: [{ b64_json: Buffer.from(control.image).toString('base64') }] });
      }

      if (req.method === 'GET' && url.pathname.startsWith('/files/')) {
        if (control.redirectTo && url.toString() !== control.redirectTo) {
          control.downloads.push(url.pathname);
          return new Response(null, { status: 302, headers: { location: control.redirectTo } });
        }
        return imageResponse(url.pathname);
      }

      if (req.method === 'POST' && url.pathname === '/v1/conversations') {
        const tools = Array.isArray(body.tools) ? (body.tools as { type?: string }[]) : [];
        if (!tools.some((t) => t.type === 'image_generation')) return null;
        control.bodies.push(body);
        control.prompts.push(typeof body.inputs === 'string' ? body.inputs : JSON.stringify(body.inputs));
        if (control.hang) return hang(req);
        if (control.fail) {
          return Response.json({ message: control.fail.message ?? 'fake failure' }, { status: control.fail.status });
        }
        const fileId = `fake-image-${++counter}`;
        return Response.json({
          object: 'conversation.response',
          conversation_id: `conv-${counter}`,
          outputs: [
            {
              object: 'entry',
              type: 'message.output',
              id: `msg-${counter}`,
              role: 'assistant',
              model: body.model ?? 'mistral-medium-latest',
              created_at: new Date().toISOString(),
              content: [
                { type: 'text', text: 'Here is your image.' },
                { type: 'tool_file', tool: 'image_generation', file_id: fileId, file_name: 'image_generated_0', file_type: 'png' },
              ],
            },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        });
      }

      const download = url.pathname.match(/^\/v1\/files\/(fake-image-\d+)\/content$/);
      // Mistral's file contents are always application/octet-stream (its SDK insists).
      if (req.method === 'GET' && download) return imageResponse(url.pathname, 'application/octet-stream');

      return null;
    },
  };
}
