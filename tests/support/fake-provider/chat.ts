/**
 * The fake's chat endpoints, in the wire format both SDKs parse:
 *   POST /v1/chat/completions  (stream: SSE `data: {chunk}` … `data: [DONE]`, or one JSON completion)
 *   GET  /v1/models            (OpenAI's list, or Mistral's model cards for the Mistral SDK)
 * Both SDKs use the same paths, so the caller is told apart by its user-agent
 * (the Mistral SDK sends `speakeasy-sdk/… @mistralai/mistralai`, the OpenAI SDK `OpenAI/JS …`).
 *
 * Tests drive it through `control`:
 *   fake.chat.defaults.chunkDelayMs = 5;                    // every reply, unless scripted
 *   fake.chat.script({ text: 'Hi there', usage: { input: 3, output: 2 } });  // the next request
 *   fake.chat.script({ status: 429, message: 'Slow down' }); // fails before streaming
 *   fake.chat.script({ chunks: ['a', 'b', 'c'], failAfter: 2, failMode: 'drop' });
 *   fake.chat.script({ hang: true });                        // never sends a token
 *   fake.chat.models.mistral = [{ id: 'pixtral-large-latest', vision: true }];
 *   fake.chat.modelsDown.openai = true;                      // GET /v1/models → 503
 *   fake.chat.requests.at(-1)  // { sdk, model, messages, authorization, aborted, … }
 *
 * Over HTTP, for tests in another process (the browser specs):
 *   GET /__fake/chat/requests   each chat request: sdk, model, and its messages, where image
 *                               parts keep their SDK's shape with the data URL shortened and
 *                               an `image` summary added (type, bytes, width, height).
 *   POST /__fake/chat/defaults  `{firstTokenDelayMs?, chunkDelayMs?, text?}` into `defaults`
 *                               (a benchmark running the fake as its own process).
 *   GET /__fake/chat/timings    per streamed request: the last user message (`said`), when the
 *                               request arrived and when its first token was written, in epoch
 *                               milliseconds (`wallNow()`: comparable across processes).
 *                               `?clear=1` also forgets the requests recorded so far.
 */
import { eventually } from '../eventually';
import type { FakeModule, Recorded } from './index';

export type Sdk = 'openai' | 'mistral';

export interface ScriptedReply {
  /** Only a request from this SDK takes this script (default: the next request of either). */
  sdk?: Sdk;
  /** Only a request for this model takes it. */
  model?: string;
  /** The reply, streamed word by word (whitespace kept with the word before it). */
  text?: string;
  /** The reply as exact chunks (wins over `text`). */
  chunks?: string[];
  firstTokenDelayMs?: number;
  chunkDelayMs?: number;
  /** Accept the request, then never send a token (until the client goes away). */
  hang?: boolean;
  /** Answer this HTTP status with an error body before streaming anything. */
  status?: number;
  /** The error text (for `status` and `failAfter`). */
  message?: string;
  /** Send this many chunks, then fail: with an SSE error event ('error', default) or by dropping the connection. */
  failAfter?: number;
  failMode?: 'error' | 'drop';
  /** Token counts reported at the end (default: words in / chunks out). */
  usage?: { input: number; output: number };
  finishReason?: string;
  /** Reasoning streamed before the text (OpenAI-compatible `reasoning_content`; Mistral "thinking" chunks). */
  reasoning?: string[];
  /** Tool calls streamed after the text (finish reason `tool_calls`). */
  toolCalls?: { name: string; arguments: unknown; id?: string }[];
}

export interface ChatRequest {
  sdk: Sdk;
  model: string;
  messages: { role: string; content: unknown }[];
  stream: boolean;
  includeUsage: boolean;
  /** The raw Authorization header (e.g. `Bearer sk-…`), or null. */
  authorization: string | null;
  /** The key from `Authorization: Bearer …`, or null. */
  apiKey: string | null;
  body: Record<string, unknown>;
  /** Which script answered it (null: the default echo). */
  script: ScriptedReply | null;
  /** The client went away before the reply ended. */
  aborted: boolean;
  /** The reply ended (completed, failed, or aborted). */
  finished: boolean;
  at: number;
  /** Epoch ms (wallNow) the request arrived, and its first token was written (null: not yet / none). */
  arrivedWall: number;
  firstTokenWall: number | null;
}

/** Epoch milliseconds with performance.now()'s resolution: comparable between processes on one machine. */
export const wallNow = () => performance.timeOrigin + performance.now();

export interface FakeModel {
  id: string;
  /** Accepts images (Mistral's `capabilities.vision`). */
  vision?: boolean;
  /** A chat model (Mistral's `capabilities.completion_chat`); default true. */
  chat?: boolean;
  /** OpenRouter-style fields on GET /v1/models: `context_length`, `supported_parameters` (tools, reasoning). */
  contextLength?: number;
  tools?: boolean;
  reasoning?: boolean;
  /** Listed like Ollama (`owned_by: "library"`, no capabilities) and described by POST /api/show instead. */
  ollama?: boolean;
}

const DEFAULT_MODELS: Record<Sdk, FakeModel[]> = {
  mistral: [
    { id: 'mistral-small-latest', vision: true },
    { id: 'mistral-large-latest' },
    { id: 'pixtral-large-latest', vision: true },
    { id: 'mistral-embed', chat: false },
  ],
  openai: [
    { id: 'gpt-4o-mini' },
    { id: 'gpt-4o' },
    { id: 'gpt-3.5-turbo' },
    { id: 'text-embedding-3-small' },
    { id: 'whisper-1' },
    { id: 'tts-1' },
    { id: 'dall-e-3' },
    { id: 'omni-moderation-latest' },
  ],
};

/** The text the default reply echoes for a user message: deterministic, so tests can predict it. */
export function echoReply(text: string, images = 0): string {
  const said = text.trim() || '(nothing)';
  return `Echo: ${said}${images ? ` (with ${images} image${images > 1 ? 's' : ''})` : ''}`;
}

/** Splits text into word chunks, each keeping its trailing whitespace: joined back they equal the text. */
export function words(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function detectSdk(headers: Record<string, string>): Sdk {
  const ua = (headers['user-agent'] ?? '').toLowerCase();
  return ua.includes('mistral') || ua.includes('speakeasy') ? 'mistral' : 'openai';
}

function textOf(content: unknown): { text: string; images: number } {
  if (typeof content === 'string') return { text: content, images: 0 };
  if (!Array.isArray(content)) return { text: '', images: 0 };
  let text = '';
  let images = 0;
  for (const part of content as { type?: string; text?: string }[]) {
    if (part?.type === 'text' && typeof part.text === 'string') text += (text ? ' ' : '') + part.text;
    else if (part?.type === 'image_url') images++;
  }
  return { text, images };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

function errorBody(sdk: Sdk, status: number, message: string) {
  const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  // OpenAI wraps the error; Mistral answers it flat with object "error".
  return sdk === 'openai'
    ? { error: { message, type, param: null, code: null } }
    : { object: 'error', message, type, param: null, code: String(status) };
}

export interface ChatControl {
  /** Apply to every reply that a script does not override (`text`: the reply instead of the echo). */
  defaults: { firstTokenDelayMs: number; chunkDelayMs: number; text?: string };
  /** Scripted replies, taken in order by the next matching chat requests. */
  queue: ScriptedReply[];
  /** What each chat request received, in arrival order. */
  requests: ChatRequest[];
  /** The models advertised on GET /v1/models, per SDK. */
  models: Record<Sdk, FakeModel[]>;
  /** Make GET /v1/models fail with 503 for that SDK (the provider is down). */
  modelsDown: Record<Sdk, boolean>;
  /** API keys GET /v1/models answers 401 to (a wrong key). */
  refusedKeys: Set<string>;
  /** How many GET /v1/models each SDK made. */
  modelListCalls: Record<Sdk, number>;
  /** Queue one or more scripted replies. */
  script(...replies: ScriptedReply[]): void;
  /** Waits until `count` chat requests have arrived (default: one more than now) and returns the last of them. */
  waitForRequests(count?: number, timeoutMs?: number): Promise<ChatRequest>;
  /** Waits until a request's reply has ended (completed, failed, or aborted by the client). */
  waitForFinish(request: ChatRequest, timeoutMs?: number): Promise<void>;
  reset(): void;
}

function createControl(): ChatControl {
  const control: ChatControl = {
    defaults: { firstTokenDelayMs: 0, chunkDelayMs: 0 },
    queue: [],
    requests: [],
    models: structuredClone(DEFAULT_MODELS),
    modelsDown: { openai: false, mistral: false },
    refusedKeys: new Set<string>(),
    modelListCalls: { openai: 0, mistral: 0 },
    script(...replies: ScriptedReply[]) {
      control.queue.push(...replies);
    },
    async waitForRequests(count = control.requests.length + 1, timeoutMs = 5000): Promise<ChatRequest> {
      const arrived = () => {
        if (control.requests.length < count) throw new Error(`${control.requests.length}/${count} requests`);
      };
      await eventually(arrived, { timeout: timeoutMs, interval: 5, message: `fake chat: ${count} requests` });
      return control.requests[count - 1]!;
    },
    async waitForFinish(request: ChatRequest, timeoutMs = 5000) {
      await eventually(() => request.finished, { timeout: timeoutMs, interval: 5, message: 'fake chat: the request to end' });
    },
    reset() {
      control.defaults = { firstTokenDelayMs: 0, chunkDelayMs: 0 };
      control.queue.length = 0;
      control.requests.length = 0;
      control.models = structuredClone(DEFAULT_MODELS);
      control.modelsDown = { openai: false, mistral: false };
      control.refusedKeys = new Set<string>();
      control.modelListCalls = { openai: 0, mistral: 0 };
    },
  };
  return control;
}

/** Type and size of an image's bytes (PNG and JPEG headers; others: type only). */
export function imageInfo(bytes: Uint8Array): { mime: string; bytes: number; width: number | null; height: number | null } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const base = { bytes: bytes.byteLength, width: null, height: null };
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes.byteLength > 24) {
    return { ...base, mime: 'image/png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    // Walk the JPEG segments to the first start-of-frame marker (SOF0…SOF15 but DHT, JPG, DAC).
    let at = 2;
    while (at + 9 < bytes.byteLength) {
      if (bytes[at] !== 0xff) break;
      const marker = bytes[at + 1]!;
      const length = view.getUint16(at + 2);
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return { ...base, mime: 'image/jpeg', height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
      }
      at += 2 + length;
    }
    return { ...base, mime: 'image/jpeg' };
  }
  if (new TextDecoder().decode(bytes.subarray(8, 12)) === 'WEBP') return { ...base, mime: 'image/webp' };
  if (new TextDecoder().decode(bytes.subarray(0, 3)) === 'GIF') return { ...base, mime: 'image/gif' };
  return { ...base, mime: 'application/octet-stream' };
}

/** A message part for the HTTP control: data URLs shortened, with what the image is. */
function describePart(part: unknown): unknown {
  if (!part || typeof part !== 'object') return part;
  const p = part as { type?: string; image_url?: unknown; imageUrl?: unknown };
  if (p.type !== 'image_url') return part;
  const raw = p.image_url ?? p.imageUrl;
  const url = typeof raw === 'string' ? raw : typeof (raw as { url?: unknown })?.url === 'string' ? (raw as { url: string }).url : '';
  const data = url.match(/^data:([^;,]+);base64,(.*)$/);
  const image = data ? { declared: data[1], ...imageInfo(new Uint8Array(Buffer.from(data[2]!, 'base64'))) } : null;
  const short = url.length > 80 ? `${url.slice(0, 60)}…(${url.length} chars)` : url;
  const shape = typeof raw === 'string' ? short : { ...(raw as object), url: short };
  return { ...part, ...(p.image_url !== undefined ? { image_url: shape } : { imageUrl: shape }), image };
}

export function createChatModule(): FakeModule<ChatControl> {
  const control = createControl();

  function listModels(sdk: Sdk, apiKey: string | null): Response {
    control.modelListCalls[sdk]++;
    if (control.modelsDown[sdk]) return Response.json(errorBody(sdk, 503, 'Service unavailable'), { status: 503 });
    if (apiKey && control.refusedKeys.has(apiKey)) return Response.json(errorBody(sdk, 401, 'Incorrect API key provided'), { status: 401 });
    const created = 1_700_000_000;
    const data = control.models[sdk].map((m) =>
      sdk === 'openai'
        ? m.ollama
          ? { id: m.id, object: 'model', created, owned_by: 'library' }
          : {
              id: m.id,
              object: 'model',
              created,
              owned_by: 'fake',
              ...(m.contextLength ? { context_length: m.contextLength } : {}),
              ...(m.tools !== undefined || m.reasoning !== undefined
                ? {
                    supported_parameters: ['temperature', ...(m.tools ? ['tools', 'tool_choice'] : []), ...(m.reasoning ? ['reasoning', 'include_reasoning'] : [])],
                    architecture: { input_modalities: m.vision ? ['text', 'image'] : ['text'] },
                  }
                : {}),
            }
        : {
            id: m.id,
            object: 'model',
            created,
            owned_by: 'mistralai',
            capabilities: {
              completion_chat: m.chat ?? true,
              completion_fim: false,
              function_calling: m.chat ?? true,
              fine_tuning: false,
              vision: m.vision ?? false,
              classification: false,
            },
            name: m.id,
            description: `Fake ${m.id}`,
            max_context_length: 32768,
            aliases: [],
            deprecation: null,
            default_model_temperature: 0.3,
            type: 'base',
          },
    );
    return Response.json({ object: 'list', data });
  }

  function takeScript(sdk: Sdk, model: string): ScriptedReply | null {
    const i = control.queue.findIndex((s) => (!s.sdk || s.sdk === sdk) && (!s.model || s.model === model));
    return i < 0 ? null : control.queue.splice(i, 1)[0]!;
  }

  async function chat(req: Request, recorded: Recorded): Promise<Response> {
    const body = (recorded.body ?? {}) as Record<string, unknown>;
    const sdk = detectSdk(recorded.headers);
    const model = typeof body.model === 'string' ? body.model : '';
    const messages = Array.isArray(body.messages) ? (body.messages as ChatRequest['messages']) : [];
    const stream = body.stream === true;
    const authorization = recorded.headers['authorization'] ?? null;
    const script = takeScript(sdk, model);
    const record: ChatRequest = {
      sdk,
      model,
      messages,
      stream,
      includeUsage: (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true,
      authorization,
      apiKey: authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ?? null,
      body,
      script,
      aborted: false,
      finished: false,
      at: recorded.at,
      arrivedWall: performance.timeOrigin + recorded.at,
      firstTokenWall: null,
    };
    control.requests.push(record);
    const signal = req.signal;
    signal.addEventListener('abort', () => {
      if (!record.finished) record.aborted = true;
      record.finished = true;
    });

    if (!model || messages.length === 0) {
      record.finished = true;
      const missing = !model ? 'model' : 'messages';
      return Response.json(errorBody(sdk, 400, `${missing} is required`), { status: 400 });
    }
    if (script?.status) {
      record.finished = true;
      const headers: Record<string, string> = script.status === 429 ? { 'retry-after': '1' } : {};
      return Response.json(errorBody(sdk, script.status, script.message ?? `Scripted failure ${script.status}`), {
        status: script.status,
        headers,
      });
    }

    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const said = textOf(lastUser?.content);
    // After tool turns, the default reply repeats what the tools said (so tests can see it was fed back).
    const toolTurns = messages.slice(messages.findLastIndex((m) => m.role === 'user')).filter((m) => m.role === 'tool');
    const fallback = toolTurns.length
      ? `Tools said: ${toolTurns.map((m) => textOf(m.content).text.replace(/\s+/g, ' ').slice(0, 200)).join(' | ')}`
      : echoReply(said.text, said.images);
    // A scripted tool call without text says nothing else, as models usually do.
    const chunks = script?.chunks ?? (script?.toolCalls?.length && script.text === undefined ? [] : words(script?.text ?? control.defaults.text ?? fallback));
    const promptWords = messages.reduce((n, m) => n + words(textOf(m.content).text).filter((w) => w.trim()).length, 0);
    const usage = script?.usage ?? { input: promptWords, output: chunks.length };
    const firstDelay = script?.firstTokenDelayMs ?? control.defaults.firstTokenDelayMs;
    const chunkDelay = script?.chunkDelayMs ?? control.defaults.chunkDelayMs;
    const finishReason = script?.finishReason ?? (script?.toolCalls?.length ? 'tool_calls' : 'stop');
    const id = `chatcmpl-${crypto.randomUUID().slice(0, 12)}`;
    const created = Math.floor(Date.now() / 1000);
    const usageJson = { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };

    if (!stream) {
      if (script?.hang) {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        return new Response(null, { status: 499 });
      }
      await sleep(firstDelay, signal);
      record.finished = true;
      return Response.json({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: chunks.join('') }, finish_reason: finishReason }],
        usage: usageJson,
      });
    }

    const encoder = new TextEncoder();
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...(sdk === 'openai' && record.includeUsage ? { usage: null } : {}),
      ...extra,
    });

    const body$ = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (data: unknown) => {
          if (signal.aborted) return false;
          try {
            controller.enqueue(encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`));
            return true;
          } catch {
            return false; // the client went away
          }
        };
        const finish = () => {
          record.finished = true;
          try {
            controller.close();
          } catch {}
        };
        if (script?.hang) {
          // Headers are out (like a provider that accepted the request), then nothing.
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          return finish();
        }
        await sleep(firstDelay, signal);
        record.firstTokenWall = wallNow();
        if (!send(chunk({ role: 'assistant', content: '' }, null))) return finish();
        for (const [i, thought] of (script?.reasoning ?? []).entries()) {
          if (i > 0) await sleep(chunkDelay, signal);
          const delta =
            sdk === 'openai'
              ? { reasoning_content: thought }
              : { content: [{ type: 'thinking', thinking: [{ type: 'text', text: thought }] }] };
          if (!send(chunk(delta, null))) return finish();
        }
        const fail = async () => {
          if (script?.failMode === 'drop') {
            // An abrupt end: the chunked body is never terminated. The pause lets the chunks
            // before it reach the socket; erroring with `undefined` keeps Bun from logging it.
            await Bun.sleep(20);
            record.finished = true;
            controller.error(undefined);
            return;
          }
          send({ error: { message: script?.message ?? 'The model crashed mid-stream', type: 'server_error', code: null } });
          finish();
        };
        for (let i = 0; i < chunks.length; i++) {
          if (script?.failAfter === i) return fail();
          if (i > 0) await sleep(chunkDelay, signal);
          if (!send(chunk({ content: chunks[i] }, null))) return finish();
        }
        if (script?.failAfter !== undefined && script.failAfter >= chunks.length) return fail();
        for (const [index, call] of (script?.toolCalls ?? []).entries()) {
          const callId = call.id ?? `call_${crypto.randomUUID().slice(0, 8)}`;
          const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
          if (sdk === 'openai') {
            // As OpenAI streams them: the id and name first, then the arguments in pieces.
            send(chunk({ tool_calls: [{ index, id: callId, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
            const half = Math.ceil(args.length / 2);
            for (const piece of [args.slice(0, half), args.slice(half)]) {
              if (piece) send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
            }
          } else {
            send(chunk({ content: '', tool_calls: [{ id: callId, function: { name: call.name, arguments: args }, index }] }, null));
          }
        }
        if (sdk === 'mistral') {
          // Mistral reports usage on the chunk that carries finish_reason.
          send(chunk({ content: '' }, finishReason, { usage: usageJson }));
        } else {
          send(chunk({}, finishReason));
          // OpenAI: a last chunk with no choices carries usage, only when asked for.
          if (record.includeUsage) send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageJson });
        }
        send('[DONE]');
        finish();
      },
      cancel() {
        if (!record.finished) record.aborted = true;
        record.finished = true;
      },
    });
    return new Response(body$, {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' },
    });
  }

  function describeRequests(): Response {
    return Response.json(
      control.requests.map((r) => ({
        sdk: r.sdk,
        model: r.model,
        stream: r.stream,
        messages: r.messages.map((m) => ({
          role: m.role,
          content: Array.isArray(m.content) ? m.content.map(describePart) : m.content,
        })),
      })),
    );
  }

  return {
    async handle(req, url, recorded) {
      if (url.pathname === '/__fake/chat/requests' && req.method === 'GET') return describeRequests();
      if (url.pathname === '/__fake/chat/defaults' && req.method === 'POST') {
        const d = (recorded.body ?? {}) as Partial<ChatControl['defaults']>;
        if (typeof d.firstTokenDelayMs === 'number') control.defaults.firstTokenDelayMs = d.firstTokenDelayMs;
        if (typeof d.chunkDelayMs === 'number') control.defaults.chunkDelayMs = d.chunkDelayMs;
        if (typeof d.text === 'string') control.defaults.text = d.text;
        return Response.json(control.defaults);
      }
      if (url.pathname === '/__fake/chat/timings' && req.method === 'GET') {
        const timings = control.requests
          .filter((r) => r.stream)
          .map((r) => ({
            said: textOf([...r.messages].reverse().find((m) => m.role === 'user')?.content).text,
            arrived: r.arrivedWall,
            firstToken: r.firstTokenWall,
          }));
        if (url.searchParams.get('clear') === '1') control.requests.length = 0;
        return Response.json(timings);
      }
      if (url.pathname === '/v1/models' && req.method === 'GET') {
        return listModels(detectSdk(recorded.headers), recorded.headers['authorization']?.match(/^Bearer\s+(.+)$/i)?.[1] ?? null);
      }
      if (url.pathname === '/v1/chat/completions' && req.method === 'POST') return chat(req, recorded);
      if (url.pathname === '/api/show' && req.method === 'POST') {
        // Ollama's model description: capabilities and the context length under the architecture's name.
        const name = (recorded.body as { model?: unknown } | null)?.model;
        const m = control.models.openai.find((x) => x.ollama && x.id === name);
        if (!m) return Response.json({ error: `model '${String(name)}' not found` }, { status: 404 });
        const capabilities = ['completion', ...(m.vision ? ['vision'] : []), ...(m.tools ? ['tools'] : []), ...(m.reasoning ? ['thinking'] : [])];
        return Response.json({
          modelfile: '',
          details: { family: 'llama', parameter_size: '8B' },
          model_info: { 'general.architecture': 'llama', 'llama.context_length': m.contextLength ?? 8192 },
          capabilities,
        });
      }
      return null;
    },
    control,
  };
}
