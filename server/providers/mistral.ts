/**
 * The Mistral adapter, through `@mistralai/mistralai`. Mistral's model cards say
 * which models chat and which accept images, so nothing is guessed here.
 */
import { HTTPClient, Mistral } from '@mistralai/mistralai';
import type { ContentChunk } from '@mistralai/mistralai/models/components';
import { MistralError } from '@mistralai/mistralai/models/errors';
import type { ChatMessage, ChatProvider, ModelInfo, StreamEvent, StreamRequest } from './types';
import { LIST_TIMEOUT_MS, PUBLIC_URLS, dataUrl, errorEvent, linkedController, textOf } from './shared';

export interface MistralOptions {
  /** Without /v1; null: Mistral's own. */
  serverURL: string | null;
  /** How errors name the server (a connection's name). */
  label?: string;
  /** The fetch under the SDK (a connection's: redirects re-checked). */
  fetch?: typeof fetch;
  /** The prefix of the ids this adapter lists (`mistral`, or a connection's slug). */
  prefix?: string;
}

type MistralMessage = Parameters<Mistral['chat']['stream']>[0]['messages'][number];

function toMistral(message: ChatMessage): MistralMessage {
  if (message.role === 'tool') {
    return { role: 'tool', content: textOf(message.content), toolCallId: message.toolCallId ?? null, name: message.name ?? null };
  }
  if (message.role === 'assistant' && message.toolCalls?.length) {
    return {
      role: 'assistant',
      content: textOf(message.content) || null,
      toolCalls: message.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    };
  }
  if (message.role !== 'user' || typeof message.content === 'string') {
    return { role: message.role, content: textOf(message.content) } as MistralMessage;
  }
  const content: ContentChunk[] = message.content.map((part) =>
    part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', imageUrl: dataUrl(part) },
  );
  return { role: 'user', content };
}

/** Text of a streamed delta: a string, or its text chunks ("thinking" chunks are reasoning, apart). */
function deltaText(content: string | ContentChunk[] | null | undefined): string {
  if (!content) return '';
  if (typeof content === 'string') return content;
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('');
}

/** The reasoning in a delta's "thinking" chunks (Magistral). */
function deltaThinking(content: string | ContentChunk[] | null | undefined): string {
  if (!content || typeof content === 'string') return '';
  let out = '';
  for (const c of content) {
    if (c.type !== 'thinking') continue;
    for (const t of (c as { thinking?: { type?: string; text?: string }[] }).thinking ?? []) if (t.type === 'text' && t.text) out += t.text;
  }
  return out;
}

/** The message of an error body: Mistral's `{message}`, OpenAI-style `{error: {message}}`, or a 422's `{detail}`. */
function messageOf(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: { message?: unknown }; detail?: unknown };
    const m = parsed.message ?? parsed.error?.message ?? parsed.detail;
    if (typeof m === 'string') return m;
    if (m !== undefined) return JSON.stringify(m);
  } catch {}
  return body.trim() ? body : null;
}

/**
 * The SDK validates every stream event as a completion chunk, so an error event sent
 * mid-stream surfaces only as a schema failure. This fetcher lets the bytes through
 * unchanged and remembers the text of any error event, so the user reads the provider's words.
 */
function sniffingClient(fetcher: typeof fetch = fetch): { httpClient: HTTPClient; streamError: () => string | null } {
  let found: string | null = null;
  const httpClient = new HTTPClient({
    fetcher: async (input, init) => {
      const res = await fetcher(input, init);
      if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) return res;
      const decoder = new TextDecoder();
      let pending = '';
      const sniff = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk);
          pending += decoder.decode(chunk, { stream: true });
          const lines = pending.split(/\r?\n/);
          pending = lines.pop() ?? '';
          for (const line of lines) {
            if (!line.startsWith('data:') || !/"(error|object)"\s*:/.test(line)) continue;
            try {
              const data = JSON.parse(line.slice(5)) as { error?: { message?: unknown }; object?: unknown; message?: unknown };
              const text = data.error?.message ?? (data.object === 'error' ? data.message : undefined);
              if (typeof text === 'string') found = text;
            } catch {}
          }
        },
      });
      return new Response(res.body.pipeThrough(sniff), { status: res.status, statusText: res.statusText, headers: res.headers });
    },
  });
  return { httpClient, streamError: () => found };
}

/**
 * With an empty string the SDK sends no Authorization header, which is what a keyless
 * server wants; with undefined it would fall back to reading MISTRAL_API_KEY itself.
 */
const keyOrNone = (apiKey: string | null | undefined) => apiKey || '';

export function createMistralProvider(options: MistralOptions): ChatProvider {
  const serverURL = options.serverURL ?? PUBLIC_URLS.mistral;
  const label = options.label ?? (options.serverURL ? 'the Mistral server' : 'Mistral');
  const prefix = options.prefix ?? 'mistral';
  const plainClient = () => (options.fetch ? new HTTPClient({ fetcher: options.fetch }) : undefined);

  return {
    id: 'mistral',

    async *stream({ model, messages, signal, apiKey, tools, reasoningEffort }: StreamRequest): AsyncGenerator<StreamEvent> {
      if (signal.aborted) return;
      const link = linkedController(signal);
      const { httpClient, streamError } = sniffingClient(options.fetch);
      const client = new Mistral({ apiKey: keyOrNone(apiKey), serverURL, httpClient });
      let started = false;
      try {
        const stream = await client.chat.stream(
          {
            model,
            messages: messages.map(toMistral),
            ...(tools?.length
              ? { tools: tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) }
              : {}),
            ...(reasoningEffort ? { reasoningEffort } : {}),
          },
          { signal: link.controller.signal, retries: { strategy: 'none' } },
        );
        let finishReason: string | null = null;
        let usage: StreamEvent | null = null;
        const calls: { id: string; name: string; arguments: string }[] = [];
        for await (const event of stream) {
          const choice = event.data.choices[0];
          const thought = deltaThinking(choice?.delta.content);
          if (thought) {
            started = true;
            yield { type: 'reasoning', text: thought };
          }
          const text = deltaText(choice?.delta.content);
          if (text) {
            started = true;
            yield { type: 'delta', text };
          }
          for (const [i, piece] of (choice?.delta.toolCalls ?? []).entries()) {
            const at = (calls[piece.index ?? i] ??= { id: '', name: '', arguments: '' });
            if (piece.id && piece.id !== 'null') at.id = piece.id;
            if (piece.function?.name) at.name += piece.function.name;
            const args = piece.function?.arguments;
            if (args !== undefined) at.arguments += typeof args === 'string' ? args : JSON.stringify(args);
          }
          if (choice?.finishReason) finishReason = choice.finishReason;
          const u = event.data.usage;
          if (u) usage = { type: 'usage', inputTokens: u.promptTokens ?? 0, outputTokens: u.completionTokens ?? 0 };
        }
        if (signal.aborted) return;
        for (const [i, call] of calls.entries()) {
          if (call?.name) yield { type: 'tool_call', call: { ...call, id: call.id || `call_${i}` } };
        }
        if (usage) yield usage;
        yield { type: 'done', finishReason };
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof MistralError) {
          yield errorEvent(label, error.statusCode, messageOf(error.body), error, started);
        } else {
          // A schema failure means the stream held something other than a completion chunk.
          const unreadable = /ZodError|ValidationError/.test((error as Error)?.name ?? '') ? 'its reply could not be read' : null;
          yield errorEvent(label, undefined, streamError() ?? unreadable, error, started);
        }
      } finally {
        link.dispose();
      }
    },

    async listModels(apiKey) {
      const client = new Mistral({ apiKey: keyOrNone(apiKey), serverURL, httpClient: plainClient() });
      const list = await client.models.list({}, { signal: AbortSignal.timeout(LIST_TIMEOUT_MS), retries: { strategy: 'none' } });
      const models: ModelInfo[] = [];
      const seen = new Set<string>();
      for (const card of list.data ?? []) {
        const c = card as {
          id?: unknown;
          capabilities?: { completionChat?: boolean; vision?: boolean; functionCalling?: boolean };
          archived?: boolean;
          maxContextLength?: number;
        };
        if (typeof c.id !== 'string' || seen.has(c.id) || !c.capabilities?.completionChat || c.archived) continue;
        seen.add(c.id);
        const capabilities = ['chat'];
        if (c.capabilities.vision) capabilities.push('vision');
        if (c.capabilities.functionCalling) capabilities.push('tools');
        // The cards have no reasoning flag: Magistral is Mistral's reasoning family.
        if (/magistral/i.test(c.id)) capabilities.push('reasoning');
        models.push({
          id: `${prefix}:${c.id}`,
          provider: prefix,
          name: c.id,
          capabilities,
          contextLength: typeof c.maxContextLength === 'number' ? c.maxContextLength : null,
        });
      }
      return models;
    },
  };
}
