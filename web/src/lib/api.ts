/**
 * The one API client. Every request goes through `send`, which:
 * - sends cookies (same origin) and JSON;
 * - on a 401, refreshes the session once and retries once. Only one refresh is ever in
 *   flight: concurrent callers share it, because the server revokes the whole login when a
 *   rotated refresh token is presented twice;
 * - turns error bodies `{error: {code, message, fields}}` into an ApiError.
 * Replies arrive as server-sent events, parsed by `parseSSE`.
 */
import type {
  Message,
  Model,
  ReplyEvent,
  SettingsBody,
  SettingsUpdate,
  Thread,
  User,
  VoiceInfo,
} from './types';

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
  get offline() {
    return this.status === 0;
  }
}

type Json = Record<string, unknown> | unknown[];
interface Options {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Outlives the page (a deletion committed as the user leaves). */
  keepalive?: boolean;
}

/** Called when the session is gone for good (refresh refused): the app shows the sign-in page. */
let sessionEnded: () => void = () => {};
export function onSessionEnded(handler: () => void) {
  sessionEnded = handler;
}

const NO_REFRESH = new Set(['/api/auth/login', '/api/auth/register', '/api/auth/refresh', '/api/auth/logout']);

let refreshing: Promise<boolean> | null = null;
/** Bumped after each successful refresh: a 401 to a request sent before it just retries. */
let epoch = 0;

function refreshSession(): Promise<boolean> {
  refreshing ??= fetch('/api/auth/refresh', { method: 'POST', credentials: 'same-origin' })
    .then((res) => {
      if (res.ok) epoch++;
      return res.ok;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function toError(res: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; fields?: Record<string, string> } } | null = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  const e = body?.error;
  return new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? res.statusText ?? 'Request failed', e?.fields ?? {});
}

/**
 * GETs that index.html's inline script started before the app's code arrived (opening a
 * thread). Each is used once, and only if it succeeded: a 401 goes the normal way, refresh
 * included.
 */
async function prefetched(path: string): Promise<Response | null> {
  const store = (globalThis as { __parleyPrefetch?: Record<string, Promise<Response | null>> }).__parleyPrefetch;
  const pending = store?.[path];
  if (!pending) return null;
  delete store[path];
  const res = await pending;
  return res?.ok ? res : null;
}

/** The fetch wrapper: returns the Response once it is OK, or throws an ApiError. */
export async function send(method: string, path: string, body?: Json | FormData, opts: Options = {}): Promise<Response> {
  if (method === 'GET') {
    const early = await prefetched(path);
    if (early) return early;
  }
  const headers: Record<string, string> = { ...opts.headers };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const attempt = () =>
    fetch(path, { method, headers, body: payload, credentials: 'same-origin', signal: opts.signal, keepalive: opts.keepalive }).catch((error: unknown) => {
      if ((error as Error)?.name === 'AbortError') throw error;
      throw new ApiError(0, 'offline', 'Cannot reach the server. Check your connection.');
    });

  if (refreshing) await refreshing;
  const sentAt = epoch;
  let res = await attempt();
  if (res.status === 401 && !NO_REFRESH.has(path)) {
    const ok = epoch !== sentAt || (await refreshSession());
    if (ok) res = await attempt();
    if (res.status === 401) {
      sessionEnded();
      throw await toError(res);
    }
  }
  if (!res.ok) throw await toError(res);
  return res;
}

async function json<T>(method: string, path: string, body?: Json, opts?: Options): Promise<T> {
  const res = await send(method, path, body, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface SSEEvent {
  event: string;
  data: string;
}

/** Parses a text/event-stream body: `event:`/`data:` fields, blank-line separated, comments ignored. */
export async function* parseSSE(body: ReadableStream<Uint8Array>): AsyncGenerator<SSEEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (data.length) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
        } else if (line.startsWith(':')) {
          // A comment (the server's `: ping` heartbeat).
        } else {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
      }
    }
    if (data.length) yield { event: event || 'message', data: data.join('\n') };
  } finally {
    reader.releaseLock();
  }
}

/** A reply's events, typed. Ends when the server closes the stream (after `done` or `error`). */
async function* replyEvents(method: string, path: string, body: Json | undefined, signal?: AbortSignal): AsyncGenerator<ReplyEvent> {
  const res = await send(method, path, body, { signal, headers: { accept: 'text/event-stream' } });
  if (!res.body) return;
  for await (const { event, data } of parseSSE(res.body)) {
    if (!['user', 'start', 'delta', 'done', 'error'].includes(event)) continue;
    try {
      yield { event, data: JSON.parse(data) } as ReplyEvent;
    } catch {
      // A malformed event is skipped rather than ending the reply.
    }
  }
}

const enc = encodeURIComponent;

export const api = {
  auth: {
    me: () => json<{ user: User }>('GET', '/api/auth/me'),
    login: (body: { email: string; password: string }) => json<{ user: User }>('POST', '/api/auth/login', body),
    register: (body: { email: string; password: string; name?: string }) =>
      json<{ user: User }>('POST', '/api/auth/register', body),
    logout: () => json<void>('POST', '/api/auth/logout'),
    changePassword: (body: { currentPassword: string; newPassword: string }) =>
      json<{ ok: true }>('POST', '/api/auth/password', body),
    deleteAccount: () => json<void>('DELETE', '/api/auth/me'),
  },
  models: {
    list: () => json<{ models: Model[]; defaultModel: string | null }>('GET', '/api/models'),
  },
  threads: {
    list: (before?: string | null, limit = 100) =>
      json<{ threads: Thread[]; nextCursor: string | null }>(
        'GET',
        `/api/threads?limit=${limit}${before ? `&before=${enc(before)}` : ''}`,
      ),
    get: (id: string) => json<{ thread: Thread }>('GET', `/api/threads/${enc(id)}`),
    create: (body: { title?: string; model?: string; systemPrompt?: string }) =>
      json<{ thread: Thread }>('POST', '/api/threads', body),
    update: (id: string, body: Partial<Pick<Thread, 'title' | 'model' | 'systemPrompt' | 'pinned'>>) =>
      json<{ thread: Thread }>('PATCH', `/api/threads/${enc(id)}`, body),
    remove: (id: string, opts?: { keepalive?: boolean }) => json<void>('DELETE', `/api/threads/${enc(id)}`, undefined, opts),
    /** Every message of a thread (all pages), oldest first. */
    async messages(id: string, signal?: AbortSignal): Promise<Message[]> {
      const all: Message[] = [];
      let before: string | null = null;
      do {
        const page: { messages: Message[]; nextCursor: string | null } = await json(
          'GET',
          `/api/threads/${enc(id)}/messages?limit=200${before ? `&before=${enc(before)}` : ''}`,
          undefined,
          { signal },
        );
        // Pages walk back in time; each page is oldest first.
        all.unshift(...page.messages);
        before = page.nextCursor;
      } while (before);
      return all;
    },
    send: (
      id: string,
      body: { id: string; content: string; parentId?: string | null; model?: string },
      signal?: AbortSignal,
    ) =>
      replyEvents('POST', `/api/threads/${enc(id)}/messages`, body, signal),
    share: (id: string) => json<{ code: string; url: string }>('POST', `/api/threads/${enc(id)}/share`),
    unshare: (id: string) => json<void>('DELETE', `/api/threads/${enc(id)}/share`),
  },
  messages: {
    stream: (id: string, signal?: AbortSignal) => replyEvents('GET', `/api/messages/${enc(id)}/stream`, undefined, signal),
    cancel: (id: string) => json<unknown>('POST', `/api/messages/${enc(id)}/cancel`),
    regenerate: (id: string, signal?: AbortSignal) =>
      replyEvents('POST', `/api/messages/${enc(id)}/regenerate`, undefined, signal),
  },
  settings: {
    get: () => json<SettingsBody>('GET', '/api/settings'),
    update: (body: SettingsUpdate) => json<SettingsBody>('PUT', '/api/settings', body as Json),
  },
  voice: {
    info: () => json<VoiceInfo>('GET', '/api/voice'),
    /** A recording → its text. The file name's extension matches the recorder's container. */
    transcribe(recording: Blob, opts: { filename?: string; language?: string; signal?: AbortSignal } = {}) {
      const form = new FormData();
      form.append('file', recording, opts.filename ?? 'recording.webm');
      if (opts.language) form.append('language', opts.language);
      return send('POST', '/api/voice/transcriptions', form, { signal: opts.signal }).then(
        (res) => res.json() as Promise<{ text: string }>,
      );
    },
    /** Text → speech: the Response, so the caller can read the audio as it streams. */
    speech: (text: string, opts: { voice?: string; signal?: AbortSignal } = {}) =>
      send('POST', '/api/voice/speech', { text, ...(opts.voice ? { voice: opts.voice } : {}) }, { signal: opts.signal }),
  },
};
