/**
 * The one API client. Every request goes through `send`, which:
 * - sends cookies (same origin) and JSON;
 * - on a 401, refreshes the session once and retries once. Only one refresh is ever in
 *   flight: concurrent callers share it, because the server revokes the whole login when a
 *   rotated refresh token is presented twice;
 * - turns error bodies `{error: {code, message, fields}}` into an ApiError.
 * Replies arrive as server-sent events, parsed by `parseSSE`.
 */
import type { AuthProviders, Ok, ChangePasswordBody, LoginBody, MeAnswer, RegisterBody, ResetBody, UserAnswer } from '$server/auth/model';
import type { FlagAnswer } from '$server/admin/model';
import type { QuotaAnswer } from '$server/quota/model';
import type { ErrorBody } from '$server/http/model';
import type {
  AdminOidcProvider,
  CreateProviderBody,
  Passkey,
  PasskeyList,
  SessionList,
  SigninSettings,
  UpdateProviderBody,
} from '$server/auth/signin-model';
import type { GeneratedImage, ImageBody } from '$server/images/model';
import type { FileAnswer } from '$server/files/model';
import type { ModelList } from '$server/providers/model';
import type { CancelAnswer, PostMessageBody, RegenerateBody, ReplyEvent } from '$server/replies/model';
import type { PushKey, SubscriptionBody } from '$server/push/model';
import type { Connection, CreateConnectionBody, ConnectionStatus, UpdateConnectionBody } from '$server/connections/model';
import type { CreateMcpServerBody, McpServer, UpdateMcpServerBody } from '$server/tools/mcp-model';
import type { SettingsUpdate, SettingsView } from '$server/settings/model';
import type { ShareCreated, SharedThread, ShareList } from '$server/shares/model';
import type { CreateThreadBody, MessagePage, Message, ThreadAnswer, ThreadPage, UpdateThreadBody } from '$server/threads/model';
import type { Transcription, VoiceInfo } from '$server/voice/model';
import type { CreateFolderBody, Folder, UpdateFolderBody } from '$server/folders/model';
import type { SearchAnswer } from '$server/search/model';
import type { ImportProgressAnswer } from '$server/import/model';

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
  /** The browser's HTTP cache mode (e.g. 'no-store' for a share, which may be revoked any time). */
  cache?: RequestCache;
}

/** Called when the session is gone for good (refresh refused): the app shows the sign-in page. */
let sessionEnded: () => void = () => {};
export function onSessionEnded(handler: () => void) {
  sessionEnded = handler;
}

/**
 * Told after each request whether the server answered (true) or not (false: no answer at all,
 * or a gateway's 502/503/504 instead of ours). The page's connectivity state listens (root.ts).
 */
let reachability: (answered: boolean) => void = () => {};
export function onReachability(handler: (answered: boolean) => void) {
  reachability = handler;
}

/** A gateway's error page rather than the server's own answer (the server is down behind it). */
export function fromGateway(res: Response) {
  return (res.status === 502 || res.status === 503 || res.status === 504) && !(res.headers.get('content-type') ?? '').includes('application/json');
}

const NO_REFRESH = new Set(['/api/auth/login', '/api/auth/register', '/api/auth/refresh', '/api/auth/logout', '/api/auth/passkeys/login/verify', '/api/auth/guest', '/api/auth/forgot', '/api/auth/reset']);

let refreshing: Promise<boolean> | null = null;
/** Bumped after each successful refresh: a 401 to a request sent before it just retries. */
let epoch = 0;

function refreshSession(): Promise<boolean> {
  refreshing ??= fetch('/api/auth/refresh', { method: 'POST', credentials: 'same-origin' })
    .then((res) => {
      if (res.ok) epoch++;
      // Read to the end: the answer is only its cookies, and an unread body (API answers are
      // no-store, so the browser keeps nothing of it) would hold the request open.
      void res.arrayBuffer().catch(() => {});
      return res.ok;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function toError(res: Response): Promise<ApiError> {
  let body: Partial<ErrorBody> | null = null;
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
const prefetchStore = () => (globalThis as { __parleyPrefetch?: Record<string, Promise<Response | null>> }).__parleyPrefetch;

/** Whether index.html's inline script started this GET and nobody has used it yet. */
export function prefetching(path: string): boolean {
  return prefetchStore()?.[path] !== undefined;
}

async function prefetched(path: string): Promise<Response | null> {
  const store = prefetchStore();
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
    fetch(path, {
      method,
      headers,
      body: payload,
      credentials: 'same-origin',
      signal: opts.signal,
      keepalive: opts.keepalive,
      ...(opts.cache ? { cache: opts.cache } : {}),
    }).then(
      (res) => {
        reachability(!fromGateway(res));
        return res;
      },
      (error: unknown) => {
        if ((error as Error)?.name === 'AbortError') throw error;
        reachability(false);
        throw new ApiError(0, 'offline', 'Cannot reach the server. Check your connection.');
      },
    );

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

/** A JSON request through `send` (refresh, errors); 204 gives undefined. Feature clients (rooms, the admin console) build on it. */
export async function json<T>(method: string, path: string, body?: Json, opts?: Options): Promise<T> {
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
    if (!['user', 'start', 'delta', 'reasoning', 'tool', 'sources', 'done', 'error', 'title'].includes(event)) continue;
    try {
      yield { event, data: JSON.parse(data) } as ReplyEvent;
    } catch {
      // A malformed event is skipped rather than ending the reply.
    }
  }
}

/**
 * A multipart POST (or raw bytes: `method` PUT for an import's part) through XMLHttpRequest,
 * the one browser API that reports upload progress. Same rules as `send`: one refresh on a
 * 401 (shared with everything else), ApiError on failure.
 */
export async function upload<T>(path: string, form: FormData | Blob, onProgress?: (fraction: number) => void, signal?: AbortSignal, method = 'POST'): Promise<T> {
  const attempt = () =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, path);
      xhr.withCredentials = true;
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total) onProgress?.(e.loaded / e.total);
      };
      xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
      xhr.onerror = () => reject(new ApiError(0, 'offline', 'Cannot reach the server. Check your connection.'));
      xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      if (signal?.aborted) return xhr.abort();
      xhr.send(form);
    });
  const asResponse = (r: { status: number; text: string }) =>
    new Response(r.text || null, { status: r.status, headers: { 'content-type': 'application/json' } });

  if (refreshing) await refreshing;
  const sentAt = epoch;
  let res = await attempt();
  if (res.status === 401) {
    const ok = epoch !== sentAt || (await refreshSession());
    if (ok) res = await attempt();
    if (res.status === 401) {
      sessionEnded();
      throw await toError(asResponse(res));
    }
  }
  if (res.status < 200 || res.status >= 300) throw await toError(asResponse(res));
  return JSON.parse(res.text) as T;
}

const enc = encodeURIComponent;
/** A thread's messages, newest page first (index.html prefetches the first page of the thread it opens). */
export const messagesPath = (id: string, before?: string | null) => `/api/threads/${enc(id)}/messages?limit=200${before ? `&before=${enc(before)}` : ''}`;

export const api = {
  auth: {
    me: () => json<MeAnswer>('GET', '/api/auth/me'),
    /** An invite or password-reset link's token and the new password: signs in. */
    reset: (body: ResetBody) => json<UserAnswer>('POST', '/api/auth/reset', body),
    providers: () => json<AuthProviders>('GET', '/api/auth/providers'),
    login: (body: LoginBody) => json<UserAnswer>('POST', '/api/auth/login', body),
    register: (body: RegisterBody) => json<UserAnswer>('POST', '/api/auth/register', body),
    logout: () => json<void>('POST', '/api/auth/logout'),
    changePassword: (body: ChangePasswordBody) => json<Ok>('POST', '/api/auth/password', body),
    deleteAccount: (password?: string) => json<void>('DELETE', '/api/auth/me', password ? { password } : undefined),
    guest: () => json<UserAnswer>('POST', '/api/auth/guest'),
    forgot: (email: string) => json<{ ok: true }>('POST', '/api/auth/forgot', { email }),
    sessions: () => json<SessionList>('GET', '/api/auth/sessions'),
    endSession: (id: string) => json<void>('DELETE', `/api/auth/sessions/${enc(id)}`),
    endOtherSessions: () => json<void>('DELETE', '/api/auth/sessions'),
    passkeys: () => json<PasskeyList>('GET', '/api/auth/passkeys'),
    removePasskey: (id: string) => json<void>('DELETE', `/api/auth/passkeys/${enc(id)}`),
    // WebAuthn options and answers pass through as @simplewebauthn/browser gives and takes them.
    passkeyRegisterOptions: () => json<Record<string, unknown>>('POST', '/api/auth/passkeys/register/options'),
    passkeyRegisterVerify: (response: Record<string, unknown>, name?: string) =>
      json<{ passkey: Passkey }>('POST', '/api/auth/passkeys/register/verify', { response, ...(name ? { name } : {}) }),
    passkeyLoginOptions: () => json<Record<string, unknown>>('POST', '/api/auth/passkeys/login/options'),
    passkeyLoginVerify: (response: Record<string, unknown>) => json<UserAnswer>('POST', '/api/auth/passkeys/login/verify', { response }),
  },
  signinAdmin: {
    get: () => json<SigninSettings>('GET', '/api/admin/sign-in'),
    setGuests: (allowGuests: boolean) => json<SigninSettings>('PUT', '/api/admin/sign-in', { allowGuests }),
    create: (body: CreateProviderBody) => json<{ provider: AdminOidcProvider }>('POST', '/api/admin/sign-in/providers', body),
    update: (id: string, body: UpdateProviderBody) =>
      json<{ provider: AdminOidcProvider }>('PATCH', `/api/admin/sign-in/providers/${enc(id)}`, body),
    remove: (id: string) => json<void>('DELETE', `/api/admin/sign-in/providers/${enc(id)}`),
  },
  models: {
    list: () => json<ModelList>('GET', '/api/models'),
  },
  threads: {
    list: (before?: string | null, limit = 100) =>
      json<ThreadPage>(
        'GET',
        `/api/threads?limit=${limit}${before ? `&before=${enc(before)}` : ''}`,
      ),
    get: (id: string) => json<ThreadAnswer>('GET', `/api/threads/${enc(id)}`),
    create: (body: CreateThreadBody) => json<ThreadAnswer>('POST', '/api/threads', body),
    update: (id: string, body: UpdateThreadBody) => json<ThreadAnswer>('PATCH', `/api/threads/${enc(id)}`, body),
    remove: (id: string, opts?: { keepalive?: boolean }) => json<void>('DELETE', `/api/threads/${enc(id)}`, undefined, opts),
    /** Every message of a thread (all pages), oldest first. */
    async messages(id: string, signal?: AbortSignal): Promise<Message[]> {
      return (await api.threads.open(id, signal)).messages;
    },
    /** A thread and every message of it (all pages, oldest first): one request for most threads. */
    async open(id: string, signal?: AbortSignal): Promise<{ thread: ThreadAnswer['thread']; messages: Message[] }> {
      const all: Message[] = [];
      let thread: ThreadAnswer['thread'] | null = null;
      let before: string | null = null;
      do {
        const page: MessagePage = await json(
          'GET',
          messagesPath(id, before),
          undefined,
          { signal },
        );
        // Pages walk back in time; each page is oldest first.
        all.unshift(...page.messages);
        thread ??= page.thread;
        before = page.nextCursor;
      } while (before);
      return { thread: thread!, messages: all };
    },
    send: (id: string, body: PostMessageBody, signal?: AbortSignal) =>
      replyEvents('POST', `/api/threads/${enc(id)}/messages`, body, signal),
    share: (id: string) => json<ShareCreated>('POST', `/api/threads/${enc(id)}/share`),
    unshare: (id: string) => json<void>('DELETE', `/api/threads/${enc(id)}/share`),
  },
  messages: {
    stream: (id: string, signal?: AbortSignal) => replyEvents('GET', `/api/messages/${enc(id)}/stream`, undefined, signal),
    cancel: (id: string) => json<CancelAnswer>('POST', `/api/messages/${enc(id)}/cancel`),
    /** `model`: another model writes the new version ("Regenerate with…"). */
    regenerate: (id: string, signal?: AbortSignal, model?: string) =>
      replyEvents('POST', `/api/messages/${enc(id)}/regenerate`, model ? ({ model } satisfies RegenerateBody) : undefined, signal),
    flag: (id: string, reason: string) => json<FlagAnswer>('POST', `/api/messages/${enc(id)}/flag`, { reason }),
    /** The user's answer to a tool call waiting for approval. */
    approveTool: (id: string, callId: string, approve: boolean) =>
      json<{ approved: boolean }>('POST', `/api/messages/${enc(id)}/tool-calls/${enc(callId)}`, { approve }),
  },
  quota: {
    get: () => json<QuotaAnswer>('GET', '/api/quota'),
  },
  /** The console's connections and MCP servers (admins only). */
  admin: {
    connections: {
      list: () => json<{ connections: Connection[] }>('GET', '/api/admin/connections'),
      create: (body: CreateConnectionBody) => json<{ connection: Connection }>('POST', '/api/admin/connections', body),
      update: (id: string, body: UpdateConnectionBody) => json<{ connection: Connection }>('PATCH', `/api/admin/connections/${enc(id)}`, body),
      remove: (id: string) => json<void>('DELETE', `/api/admin/connections/${enc(id)}`),
      test: (id: string) => json<{ connection: Connection; status: ConnectionStatus }>('POST', `/api/admin/connections/${enc(id)}/test`),
    },
    mcp: {
      list: () => json<{ servers: McpServer[] }>('GET', '/api/admin/mcp-servers'),
      create: (body: CreateMcpServerBody) => json<{ server: McpServer }>('POST', '/api/admin/mcp-servers', body),
      update: (id: string, body: UpdateMcpServerBody) => json<{ server: McpServer }>('PATCH', `/api/admin/mcp-servers/${enc(id)}`, body),
      remove: (id: string) => json<void>('DELETE', `/api/admin/mcp-servers/${enc(id)}`),
    },
  },
  files: {
    /** An image (already resized on the device) → the stored file; `onProgress` gets 0…1. */
    upload(file: Blob, opts: { name?: string; threadId?: string; onProgress?: (fraction: number) => void; signal?: AbortSignal } = {}) {
      const form = new FormData();
      form.append('file', file, opts.name ?? (file instanceof File ? file.name : 'image'));
      if (opts.threadId) form.append('threadId', opts.threadId);
      return upload<FileAnswer>('/api/files', form, opts.onProgress, opts.signal);
    },
  },
  images: {
    /** Generates an image; with a threadId it is added to that thread as an assistant message. */
    generate: (body: ImageBody, signal?: AbortSignal) =>
      json<GeneratedImage>('POST', '/api/images', body, { signal }),
  },
  shares: {
    /** The signed-in user's active share links, newest first. */
    list: (before?: string | null, limit = 50) =>
      json<ShareList>(
        'GET',
        `/api/shares?limit=${limit}${before ? `&before=${enc(before)}` : ''}`,
      ),
    revoke: (code: string) => json<void>('DELETE', `/api/shares/${enc(code)}`),
    /** The public snapshot. Never from the HTTP cache: a revoked link must stop working at once. */
    get: (code: string, signal?: AbortSignal) =>
      json<SharedThread>('GET', `/api/shares/${enc(code)}`, undefined, { signal, cache: 'no-store' }),
    /** "Continue this conversation": a copy in the signed-in user's account. */
    fork: (code: string) => json<ThreadAnswer>('POST', `/api/shares/${enc(code)}/fork`),
  },
  push: {
    key: () => json<PushKey>('GET', '/api/push/key'),
    subscribe: (body: SubscriptionBody) => json<void>('POST', '/api/push/subscriptions', body as Json),
    unsubscribe: (endpoint: string) => json<void>('DELETE', '/api/push/subscriptions', { endpoint }),
    /** This window can or cannot be seen (a reply that ends unseen is pushed). Outlives a closing page. */
    visibility: (hidden: boolean) => json<void>('POST', '/api/push/visibility', { hidden }, { keepalive: true }),
  },
  settings: {
    get: () => json<SettingsView>('GET', '/api/settings'),
    update: (body: SettingsUpdate) => json<SettingsView>('PUT', '/api/settings', body as Json),
  },
  folders: {
    list: () => json<{ folders: Folder[] }>('GET', '/api/folders'),
    create: (body: CreateFolderBody) => json<{ folder: Folder }>('POST', '/api/folders', body),
    update: (id: string, body: UpdateFolderBody) => json<{ folder: Folder }>('PATCH', `/api/folders/${enc(id)}`, body),
    remove: (id: string) => json<void>('DELETE', `/api/folders/${enc(id)}`),
  },
  search: (q: string, signal?: AbortSignal, limit = 20) =>
    json<SearchAnswer>('GET', `/api/search?q=${enc(q)}&limit=${limit}`, undefined, { signal }),
  library: {
    /** Where a thread's export downloads from (a plain link: the browser saves it). */
    threadExportUrl: (id: string, format: 'md' | 'json') => `/api/threads/${enc(id)}/export?format=${format}`,
    accountExportUrl: '/api/export',
    // Importing an export: settings/import-upload.ts (in parts, loaded with Settings).
    /** The account's import under way (checking the file, then writing threads), or null. */
    importProgress: () => json<ImportProgressAnswer>('GET', '/api/import/progress'),
  },
  voice: {
    info: () => json<VoiceInfo>('GET', '/api/voice'),
    /** A recording → its text. The file name's extension matches the recorder's container. */
    transcribe(recording: Blob, opts: { filename?: string; language?: string; signal?: AbortSignal } = {}) {
      const form = new FormData();
      form.append('file', recording, opts.filename ?? 'recording.webm');
      if (opts.language) form.append('language', opts.language);
      return send('POST', '/api/voice/transcriptions', form, { signal: opts.signal }).then(
        (res) => res.json() as Promise<Transcription>,
      );
    },
    /** Text → speech: the Response, so the caller can read the audio as it streams. */
    speech: (text: string, opts: { voice?: string; signal?: AbortSignal } = {}) =>
      send('POST', '/api/voice/speech', { text, ...(opts.voice ? { voice: opts.voice } : {}) }, { signal: opts.signal }),
  },
};
