/**
 * One thread's messages as a tree (edits and regenerations are siblings under one parent)
 * and the path through it that the user sees: at each level the branch they picked, or
 * the latest. Replies stream in through `send`, `edit`, `regenerate` and `retry`; deltas
 * are applied once per animation frame so long replies stay smooth.
 *
 * Conversations are kept per thread (see `conversations`), so a reply keeps streaming
 * while the user looks at another thread. `load` is the one place that reads messages:
 * an offline mirror can answer it first later.
 */
import { SvelteMap } from 'svelte/reactivity';
import { api, ApiError } from '$lib/api';
import type { Attachment, Message, ReplyEvent, Thread } from '$lib/types';
import { session } from './session.svelte';
import { message as errorText, threads } from './threads.svelte';

const ROOT = '∅';
const parentKey = (m: Pick<Message, 'parentId'>) => m.parentId ?? ROOT;

export type ConversationStatus = 'loading' | 'ready' | 'error' | 'missing';

export class Conversation {
  readonly id: string;
  thread = $state<Thread | null>(null);
  status = $state<ConversationStatus>('loading');
  error = $state<string | null>(null);
  /** A failure to send (network, 4xx) shown above the composer. */
  sendError = $state<string | null>(null);
  /** The assistant message being written, if any. */
  streamingId = $state<string | null>(null);
  #sending = $state(false);
  /** An image is being generated for this thread (POST /api/images). */
  generatingImage = $state(false);

  #messages = $state<Record<string, Message>>({});
  /** parentId (or ROOT) → the child the user picked. */
  #selected = $state<Record<string, string>>({});
  #abort: AbortController | null = null;
  #pending = new Map<string, string>();
  /** Ids of the user's messages the server confirmed (its `user` event). */
  #stored = new Set<string>();
  #frame = 0;

  constructor(id: string, thread?: Thread) {
    this.id = id;
    if (thread) this.thread = thread;
  }

  /** True from the moment a message is sent until its reply ends. */
  get busy() {
    return this.#sending || this.streamingId !== null || this.generatingImage;
  }

  /** Children of each parent, oldest first. */
  #children = $derived.by(() => {
    const map = new Map<string, Message[]>();
    for (const m of Object.values(this.#messages)) {
      if (m.role === 'system') continue;
      const key = parentKey(m);
      const list = map.get(key) ?? [];
      list.push(m);
      map.set(key, list);
    }
    for (const list of map.values()) list.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    return map;
  });

  /** The visible conversation: from the root, the picked (or latest) child at each level. */
  path = $derived.by(() => {
    const out: Message[] = [];
    let key = ROOT;
    for (let guard = 0; guard < 10_000; guard++) {
      const kids = this.#children.get(key);
      if (!kids?.length) break;
      const pick = kids.find((k) => k.id === this.#selected[key]) ?? kids[kids.length - 1]!;
      out.push(pick);
      key = pick.id;
    }
    return out;
  });

  /** "2 / 3": where a message sits among its siblings. */
  branchOf(m: Message): { index: number; count: number } {
    const kids = this.#children.get(parentKey(m)) ?? [m];
    return { index: Math.max(0, kids.findIndex((k) => k.id === m.id)), count: kids.length };
  }

  switchBranch(m: Message, step: -1 | 1) {
    const key = parentKey(m);
    const kids = this.#children.get(key) ?? [];
    const i = kids.findIndex((k) => k.id === m.id);
    const next = kids[i + step];
    if (next) this.#selected[key] = next.id;
  }

  async load() {
    this.status = this.path.length ? 'ready' : 'loading';
    this.error = null;
    try {
      const [{ thread }, messages] = await Promise.all([api.threads.get(this.id), api.threads.messages(this.id)]);
      this.thread = thread;
      threads.upsert(thread);
      const byId: Record<string, Message> = {};
      for (const m of messages) byId[m.id] = m;
      // Keep what is streaming locally: the server's copy may lag behind our deltas.
      if (this.streamingId && this.#messages[this.streamingId]) byId[this.streamingId] = this.#messages[this.streamingId]!;
      this.#messages = byId;
      this.status = 'ready';
      const live = messages.find((m) => m.status === 'streaming' && m.role === 'assistant');
      if (live && !this.streamingId) void this.#attach(live.id);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.status = 'missing';
      else {
        this.error = errorText(error);
        this.status = 'error';
      }
    }
  }

  /** Sends a message (text, uploaded images or both) after the last one shown (a new turn). */
  send(content: string, attachments: Attachment[] = []) {
    const last = this.path[this.path.length - 1];
    return this.#post(content, last?.id, attachments);
  }

  /** Edits an earlier user message: a new sibling branch with its own reply (same images). */
  edit(original: Message, content: string) {
    // null: a new first message (the thread's root); omitting it would mean "after the latest".
    return this.#post(content, original.parentId, original.attachments ?? []);
  }

  /**
   * "Image" mode: the server generates the image and adds it to the thread as an assistant
   * message under the latest one. A placeholder of the image's size shows meanwhile.
   */
  async generateImage(prompt: string): Promise<boolean> {
    const text = prompt.trim();
    if (!text || this.busy) return false;
    const last = this.path[this.path.length - 1];
    const placeholder: Message = {
      id: `pending-${crypto.randomUUID()}`,
      threadId: this.id,
      parentId: last?.id ?? null,
      role: 'assistant',
      content: text,
      status: 'complete',
      model: null,
      createdAt: new Date().toISOString(),
      attachments: [],
      pending: 'image',
    };
    this.sendError = null;
    this.generatingImage = true;
    this.#messages[placeholder.id] = placeholder;
    this.#selected[parentKey(placeholder)] = placeholder.id;
    try {
      const { message } = await api.images.generate({ prompt: text, threadId: this.id });
      if (message) {
        this.#messages[message.id] = message;
        this.#selected[parentKey(message)] = message.id;
      }
      threads.touch(this.id);
      return true;
    } catch (error) {
      this.sendError = imageErrorText(error);
      return false;
    } finally {
      delete this.#messages[placeholder.id];
      if (this.#selected[parentKey(placeholder)] === placeholder.id) delete this.#selected[parentKey(placeholder)];
      this.generatingImage = false;
    }
  }

  /** A new reply beside an assistant message (same parent). */
  async regenerate(assistant: Message) {
    if (this.busy) return;
    this.#begin();
    await this.#consume(api.messages.regenerate(assistant.id, this.#abort!.signal));
  }

  /** Retry after a provider error: a fresh reply to the same message. */
  retry(failed: Message) {
    return this.regenerate(failed);
  }

  /** Stops the reply: the server keeps the partial text, marked `cancelled`. */
  async stop() {
    const id = this.streamingId;
    if (!id) {
      this.#abort?.abort();
      return;
    }
    this.#flush();
    const m = this.#messages[id];
    try {
      await api.messages.cancel(id);
      if (m && m.status === 'streaming') m.status = 'cancelled';
    } catch (error) {
      this.sendError = `Could not stop the reply: ${errorText(error)}`;
      return;
    }
    // The server ends the stream with `done`; don't wait on a slow connection for it.
    setTimeout(() => {
      if (this.streamingId === id) {
        this.#abort?.abort();
        this.streamingId = null;
      }
    }, 2500);
  }

  async #post(content: string, parentId: string | null | undefined, attachments: Attachment[] = []) {
    const text = content.trim();
    if ((!text && !attachments.length) || this.busy) return false;
    const id = crypto.randomUUID();
    const local: Message = {
      id,
      threadId: this.id,
      parentId: parentId ?? null,
      role: 'user',
      content: text,
      status: 'complete',
      model: null,
      createdAt: new Date().toISOString(),
      attachments,
    };
    this.#messages[id] = local;
    this.#selected[parentKey(local)] = id;
    threads.touch(this.id);
    this.#begin();
    const body = {
      id,
      content: text,
      ...(parentId !== undefined ? { parentId } : {}),
      ...(attachments.length ? { attachments: attachments.flatMap((a) => (a.id ? [{ id: a.id }] : [])) } : {}),
    };
    // Sending the same id again attaches to the same reply (the server deduplicates), so one
    // retry after a dropped connection is safe.
    await this.#consume(api.threads.send(this.id, body, this.#abort!.signal), () =>
      api.threads.send(this.id, body, this.#abort!.signal),
    );
    if (this.#stored.has(id)) return true;
    // Never reached the server: take the message back so the composer can offer it again.
    delete this.#messages[id];
    if (this.#selected[parentKey(local)] === id) delete this.#selected[parentKey(local)];
    return false;
  }

  #begin() {
    this.sendError = null;
    this.#sending = true;
    this.#abort = new AbortController();
  }

  async #attach(assistantId: string) {
    if (this.busy) return;
    this.#begin();
    this.streamingId = assistantId;
    await this.#consume(api.messages.stream(assistantId, this.#abort!.signal));
  }

  async #consume(events: AsyncGenerator<ReplyEvent>, again?: () => AsyncGenerator<ReplyEvent>) {
    const signal = this.#abort!.signal;
    try {
      for await (const e of events) this.#apply(e);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status === 0 && again) {
        // The connection dropped: the reply goes on without us; pick it up again once.
        try {
          for await (const e of again()) this.#apply(e);
          return;
        } catch (second) {
          error = second;
        }
      }
      if (this.streamingId) {
        try {
          for await (const e of api.messages.stream(this.streamingId, signal)) this.#apply(e);
          return;
        } catch {
          /* fall through to the error */
        }
      }
      this.sendError = errorText(error);
      const id = this.streamingId;
      if (id && this.#messages[id]?.status === 'streaming') this.#messages[id]!.status = 'error';
    } finally {
      this.#flush();
      this.#sending = false;
      if (this.#abort?.signal === signal) {
        this.streamingId = null;
        this.#abort = null;
      }
      threads.touch(this.id);
      void this.#refreshThread();
    }
  }

  /** The server titles a thread after its first reply: pick the title up. */
  async #refreshThread() {
    const first = this.path.length <= 2;
    for (const wait of first ? [0, 2500] : [0]) {
      await new Promise((r) => setTimeout(r, wait));
      try {
        const { thread } = await api.threads.get(this.id);
        this.thread = thread;
        threads.upsert(thread);
      } catch {
        return;
      }
    }
  }

  #apply(e: ReplyEvent) {
    switch (e.event) {
      case 'user':
      case 'start': {
        const m = e.data.message;
        this.#flush();
        this.#messages[m.id] = { ...this.#messages[m.id], ...m };
        this.#selected[parentKey(m)] = m.id;
        if (e.event === 'user') this.#stored.add(m.id);
        if (e.event === 'start') this.streamingId = m.id;
        this.#sending = false;
        break;
      }
      case 'delta': {
        if (!this.streamingId) this.streamingId = e.data.id;
        this.#pending.set(e.data.id, (this.#pending.get(e.data.id) ?? '') + e.data.text);
        this.#frame ||= requestAnimationFrame(() => this.#flush());
        break;
      }
      case 'done':
      case 'error': {
        this.#pending.delete(e.data.message.id);
        this.#flush();
        const m = e.data.message;
        const error = e.event === 'error' ? describeProviderError(e.data.error) : null;
        this.#messages[m.id] = { ...m, ...(error ? { error } : {}) };
        if (this.streamingId === m.id) this.streamingId = null;
        break;
      }
    }
  }

  #flush() {
    if (this.#frame) cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    for (const [id, text] of this.#pending) {
      const m = this.#messages[id];
      if (m) m.content += text;
    }
    this.#pending.clear();
  }
}

/** What went wrong making an image, in plain words. */
function imageErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === 'images_disabled' || error.status === 503) {
      return 'This server cannot make images: no image provider is set up. Whoever runs it can enable one (an OpenAI-compatible key).';
    }
    if (error.status === 504) return 'The image took too long to make. Try again, perhaps with a simpler prompt.';
    if (error.status === 502) return `The image provider failed: ${error.message}`;
  }
  return `Could not make the image: ${errorText(error)}`;
}

function describeProviderError(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; error?: { message?: unknown } };
    if (typeof e.message === 'string') return e.message;
    if (typeof e.error?.message === 'string') return e.error.message;
  }
  return 'The provider failed to answer.';
}

/** One Conversation per thread, kept while the app is open. */
class Conversations {
  #open = new SvelteMap<string, Conversation>();

  constructor() {
    session.onSignOut(() => this.#open.clear());
  }

  get(id: string, thread?: Thread): Conversation {
    let c = this.#open.get(id);
    if (!c) {
      c = new Conversation(id, thread);
      this.#open.set(id, c);
    }
    return c;
  }

  /** Whether any reply is streaming (the update prompt waits for it). */
  get streaming(): boolean {
    for (const c of this.#open.values()) if (c.busy) return true;
    return false;
  }

  forget(id: string) {
    this.#open.delete(id);
  }
}

export const conversations = new Conversations();
