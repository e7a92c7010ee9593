/**
 * The OpenAI adapter, through the `openai` SDK. The base URL may name any
 * OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp), so model
 * capabilities are inferred from names: those servers do not describe them.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionContentPart } from 'openai/resources/chat/completions';
import type { ChatMessage, ChatProvider, ModelInfo, StreamEvent, StreamRequest } from './types';
import { LIST_TIMEOUT_MS, NO_KEY_PLACEHOLDER, PUBLIC_URLS, dataUrl, errorEvent, linkedController, textOf } from './shared';

export interface OpenAIOptions {
  /** Ends in /v1; null: OpenAI's own. */
  baseURL: string | null;
  /** How errors name the server ("the model server", a connection's name). */
  label?: string;
  /** The fetch the SDK uses (a connection's: redirects re-checked). */
  fetch?: typeof fetch;
  /** The prefix of the ids this adapter lists (`openai`, or a connection's slug). */
  prefix?: string;
}

// Models that do not answer chat completions: embeddings, speech, images, moderation, legacy completions.
const NOT_CHAT =
  /embed|whisper|tts|dall-e|moderation|transcribe|realtime|audio|gpt-image|image-|davinci|babbage|^ada|search-api|computer-use|sora|rerank/i;

// Names that accept images. OpenAI's API does not say, nor do Ollama or vLLM, so this is a best guess.
const VISION =
  /gpt-4o|gpt-4\.1|gpt-4-turbo|gpt-4-vision|gpt-5|chatgpt-4o|^o1(?!-mini)|^o3(?!-mini)|^o4|llava|vision|pixtral|qwen[\d.]*-?vl|[-_]vl\b|-vl[-:]|gemma3|minicpm-v|moondream|llama4/i;

export function isChatModel(id: string): boolean {
  return !NOT_CHAT.test(id);
}

// OpenAI's own models that call tools (other servers report it: see server/connections/capabilities.ts).
const TOOLS = /gpt-4|gpt-5|^o[134]|chatgpt/i;
const REASONING = /^o[134]|gpt-5|reason|think|r1\b|qwq|magistral/i;

export function capabilitiesFor(id: string): string[] {
  const caps = ['chat'];
  if (VISION.test(id)) caps.push('vision');
  if (TOOLS.test(id)) caps.push('tools');
  if (REASONING.test(id)) caps.push('reasoning');
  return caps;
}

function toOpenAI(message: ChatMessage): ChatCompletionMessageParam {
  if (message.role === 'tool') {
    return { role: 'tool', tool_call_id: message.toolCallId ?? '', content: textOf(message.content) };
  }
  if (message.role === 'assistant' && message.toolCalls?.length) {
    return {
      role: 'assistant',
      content: textOf(message.content) || null,
      tool_calls: message.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
    };
  }
  if (message.role !== 'user' || typeof message.content === 'string') {
    return { role: message.role, content: textOf(message.content) } as ChatCompletionMessageParam;
  }
  const content: ChatCompletionContentPart[] = message.content.map((part) =>
    part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', image_url: { url: dataUrl(part) } },
  );
  return { role: 'user', content };
}

export function createOpenAIProvider(options: OpenAIOptions): ChatProvider {
  const baseURL = options.baseURL ?? PUBLIC_URLS.openai;
  const label = options.label ?? (options.baseURL ? 'the model server' : 'OpenAI');
  const prefix = options.prefix ?? 'openai';
  // Retries are the replies service's call: a retried request after tokens went out would duplicate text.
  // One client per key, made on first use (a client is stateless between requests; making one
  // per request cost each reply's first token a little). Bounded: cleared when full.
  const clients = new Map<string, OpenAI>();
  const client = (apiKey: string | null | undefined) => {
    const key = apiKey || NO_KEY_PLACEHOLDER;
    let made = clients.get(key);
    if (!made) {
      if (clients.size >= 256) clients.clear();
      // organization/project set to null so the SDK does not pick them up from the environment itself.
      made = new OpenAI({
        apiKey: key,
        baseURL,
        maxRetries: 0,
        organization: null,
        project: null,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      });
      clients.set(key, made);
    }
    return made;
  };

  return {
    id: 'openai',

    async *stream({ model, messages, signal, apiKey, tools, reasoningEffort }: StreamRequest): AsyncGenerator<StreamEvent> {
      if (signal.aborted) return;
      const link = linkedController(signal);
      let started = false;
      try {
        const stream = await client(apiKey).chat.completions.create(
          {
            model,
            messages: messages.map(toOpenAI),
            stream: true,
            stream_options: { include_usage: true },
            ...(tools?.length
              ? { tools: tools.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })) }
              : {}),
            ...(reasoningEffort ? { reasoning_effort: reasoningEffort } : {}),
          },
          { signal: link.controller.signal },
        );
        let finishReason: string | null = null;
        let usage: StreamEvent | null = null;
        // Tool calls stream in pieces, by index: the id and name first, then the arguments' text.
        const calls: { id: string; name: string; arguments: string }[] = [];
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          const delta = choice?.delta as
            | (NonNullable<typeof choice>['delta'] & { reasoning_content?: unknown; reasoning?: unknown })
            | undefined;
          // Servers name it differently: `reasoning_content` (DeepSeek, vLLM, llama.cpp), `reasoning` (OpenRouter, Ollama).
          const thought = delta?.reasoning_content ?? delta?.reasoning;
          if (typeof thought === 'string' && thought) {
            started = true;
            yield { type: 'reasoning', text: thought };
          }
          const text = delta?.content;
          if (text) {
            started = true;
            yield { type: 'delta', text };
          }
          for (const piece of delta?.tool_calls ?? []) {
            const at = (calls[piece.index ?? 0] ??= { id: '', name: '', arguments: '' });
            if (piece.id) at.id = piece.id;
            if (piece.function?.name) at.name += piece.function.name;
            if (piece.function?.arguments) at.arguments += piece.function.arguments;
          }
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          if (chunk.usage) {
            usage = { type: 'usage', inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
          }
        }
        if (signal.aborted) return;
        for (const [i, call] of calls.entries()) {
          if (call?.name) yield { type: 'tool_call', call: { ...call, id: call.id || `call_${i}` } };
        }
        if (usage) yield usage;
        yield { type: 'done', finishReason };
      } catch (error) {
        // An abort is the caller's choice, not a failure: stop quietly.
        if (signal.aborted || error instanceof APIUserAbortError) return;
        if (error instanceof APIError && !(error instanceof APIConnectionError)) {
          const detail = (error.error as { message?: unknown } | undefined)?.message;
          yield errorEvent(label, error.status, typeof detail === 'string' ? detail : error.message, error, started);
        } else {
          yield errorEvent(label, undefined, null, error, started);
        }
      } finally {
        link.dispose();
      }
    },

    async listModels(apiKey) {
      const page = await client(apiKey).models.list({ signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
      const models: ModelInfo[] = [];
      for (const m of page.data) {
        if (!m?.id || !isChatModel(m.id)) continue;
        models.push({ id: `${prefix}:${m.id}`, provider: prefix, name: m.id, capabilities: capabilitiesFor(m.id) });
      }
      return models;
    },
  };
}
