/** Helpers both adapters share: message content, abort wiring and readable errors. */
import type { ChatMessage, ContentPart, StreamEvent } from './types';

/**
 * Sent as the key to a server that needs none (Ollama, vLLM, LM Studio): the SDKs
 * refuse to start without one. It is a fixed, public word, not a secret.
 */
export const NO_KEY_PLACEHOLDER = 'no-key-needed';

export const PUBLIC_URLS = {
  mistral: 'https://api.mistral.ai',
  openai: 'https://api.openai.com/v1',
} as const;

/** Model lists are small; a provider that takes longer than this counts as down. */
export const LIST_TIMEOUT_MS = 10_000;

export function dataUrl(part: Extract<ContentPart, { type: 'image' }>): string {
  return `data:${part.mime};base64,${Buffer.from(part.data).toString('base64')}`;
}

/** The text of a message; image parts are dropped (for roles that cannot carry images). */
export function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  return content
    .filter((p): p is Extract<ContentPart, { type: 'text' }> => p.type === 'text')
    .map((p) => p.text)
    .join('\n');
}

/**
 * An AbortController that follows `signal` and that we can also abort ourselves
 * (when the consumer stops iterating), so the HTTP request never outlives the generator.
 */
export function linkedController(signal: AbortSignal): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    controller,
    dispose() {
      signal.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) controller.abort();
    },
  };
}

const CONNECTION_CODES = /ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|socket connection was closed|fetch failed|Unable to connect/i;

function collectMessages(error: unknown, depth = 0): string {
  if (!error || depth > 4) return '';
  const e = error as { message?: unknown; cause?: unknown; code?: unknown };
  return [typeof e.message === 'string' ? e.message : '', typeof e.code === 'string' ? e.code : '', collectMessages(e.cause, depth + 1)].join(' ');
}

/** True when the failure is the network (refused, reset, dropped), not an answer from the provider. */
export function isConnectionFailure(error: unknown): boolean {
  return CONNECTION_CODES.test(collectMessages(error));
}

/** Keeps provider text short and single-line before it reaches a user or a log. */
export function clip(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const cap = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function statusWords(label: string, status: number): string {
  if (status === 401 || status === 403) return `${cap(label)} did not accept the API key (${status})`;
  if (status === 429) return `${cap(label)} is limiting requests (429); try again shortly`;
  if (status >= 500) return `${cap(label)} failed (${status})`;
  return `${cap(label)} refused the request (${status})`;
}

/**
 * The error event for a failure. `label` names the provider mid-sentence ("Mistral",
 * "the model server"); `started` says whether any text was streamed, so a dropped
 * connection reads as an interrupted reply rather than an unreachable provider.
 */
export function errorEvent(label: string, status: number | undefined, detail: string | null, error: unknown, started: boolean): StreamEvent {
  if (status !== undefined) {
    return { type: 'error', message: detail ? `${statusWords(label, status)}: ${clip(detail)}` : statusWords(label, status), status };
  }
  if (isConnectionFailure(error)) {
    return {
      type: 'error',
      message: started
        ? `The connection to ${label} was lost before the reply was complete`
        : `Could not reach ${label}; check its URL and the network`,
      status: 502,
    };
  }
  const why = detail ?? collectMessages(error);
  return { type: 'error', message: `${cap(label)} failed: ${clip(why) || 'unknown error'}`, status: 502 };
}
