/**
 * One thread's messages as a tree (edits and regenerations are siblings under one parent)
 * and the path through it that the user sees: at each level the branch they picked, or
 * the latest. Replies stream in through `send`, `edit`, `regenerate` and `retry`; deltas
 * are applied once per animation frame so long replies stay smooth.
 *
 * Conversations are kept per thread (see `conversations`), so a reply keeps streaming
 * while the user looks at another thread.
 *
 * Offline (src/lib/offline/): `load` answers from the account's mirror first, then the
 * network (a sync, once the mirror holds everything). A message written without a network
 * goes to the outbox, shows as "Waiting to send", and is delivered here when the thread is
 * open (so its reply streams in) once the network returns. A reply whose connection drops
 * keeps what arrived and is picked up again (GET /api/messages/:id/stream) when the network
 * is back or the app is visible again.
 */
import { SvelteMap } from 'svelte/reactivity';
import { api, ApiError } from '$lib/api';
import type { ReplyEvent } from '$server/replies/model';
import type { Attachment, Message, Thread } from '$server/threads/model';
import type { ViewMessage } from '$lib/view-types';
import type { OutboxEntry } from '$lib/offline/db';
import type { SyncPage } from '$lib/offline/mirror';
import { offline } from '$lib/offline/offline.svelte';
import { postBody, refusedForGood, type Delivery } from '$lib/offline/outbox';
import { connectivity } from './connectivity.svelte';
import { session } from './session.svelte';
import { message as errorText, threads } from './threads.svelte';

/** Said while a reply goes on at the server but the network is gone. */
const DETACHED =
  "Connection lost. The reply is still being written on the server: it appears here when you're back online.";
const needsNetwork = (what: string) => `You're offline: ${what} needs the network.`;
const isNetworkError = (error: unknown) => (error instanceof ApiError && error.offline) || error instanceof TypeError;

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

  #messages = $state<Record<string, ViewMessage>>({});
  /** parentId (or ROOT) → the child the user picked. */
  #selected = $state<Record<string, string>>({});
  #abort: AbortController | null = null;
  #pending = new Map<string, string>();
  /** Ids of the user's messages the server confirmed (its `user` event). */
  #stored = new Set<string>();
  /** Outbox entries being delivered here: told when the server has them. */
  #onStored = new Map<string, () => void>();
  /** The stream was let go because the network went away (see `detach`). */
  #cutOff = false;
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

  /** Messages written offline for this thread, waiting in the outbox (oldest first). */
  get queued(): OutboxEntry[] {
    return offline.outbox.filter((e) => e.threadId === this.id);
  }

  async load() {
    this.status = this.path.length ? 'ready' : 'loading';
    this.error = null;
    // This device's copy first: the thread shows at once, with or without a network.
    const mirror = offline.mirror();
    let local = false;
    if (mirror) {
      const [thread, messages, complete] = await Promise.all([mirror.thread(this.id), mirror.messages(this.id), mirror.complete()]).catch(
        () => [undefined, [] as Message[], false] as const,
      );
      if (thread) {
        local = true;
        this.thread = thread;
        this.#merge(messages);
        this.status = 'ready';
        this.resume();
        // The copy holds the whole account: a sync brings this thread's changes (applySynced).
        if (complete) {
          void offline.sync();
          return;
        }
      }
    }
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
      this.resume();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.status = 'missing';
      else if (local && isNetworkError(error)) {
        // Offline: the copy is what there is, without an error.
      } else {
        this.error = isNetworkError(error) ? "You're offline, and this thread isn't saved on this device yet." : errorText(error);
        this.status = 'error';
      }
    }
  }

  /** Changes from a sync (src/lib/offline/): merged, and a reply still being written is followed. */
  applySynced(messages: Message[]) {
    this.#merge(messages);
    if (this.status === 'loading' && this.path.length) this.status = 'ready';
    this.resume();
  }

  /** Adds or updates messages without going back: a live reply here is ahead of any copy, and a final message never becomes `streaming` again. */
  #merge(messages: Message[]) {
    for (const m of messages) {
      if (m.id === this.streamingId) continue;
      const mine = this.#messages[m.id];
      if (mine && mine.status !== 'streaming' && m.status === 'streaming') continue;
      this.#messages[m.id] = m;
    }
  }

  /**
   * Follows a reply of this thread that is still being written (opened mid-reply, or the
   * connection dropped): attaches to its stream when online, else says it will come.
   */
  resume() {
    if (this.busy) return;
    const live = Object.values(this.#messages).find((m) => m.role === 'assistant' && m.status === 'streaming');
    if (!live || connectivity.online) {
      if (this.sendError === DETACHED) this.sendError = null;
      if (live) void this.#attach(live.id);
      return;
    }
    this.sendError = DETACHED;
  }

  /**
   * The network went away mid-reply: stop listening now (a dead connection can hang for
   * minutes) and keep what arrived; the server finishes the reply, and `resume` follows it
   * again when the network is back.
   */
  detach() {
    if (!this.streamingId && !this.#sending) return;
    if (!this.#abort) return;
    this.#flush();
    this.#cutOff = true;
    this.#abort.abort();
    if (this.streamingId) this.sendError = DETACHED;
  }

  /**
   * Posts an outbox entry here, so its reply streams into the open thread. Resolves when the
   * reply is over; `stored` is called as soon as the server has the message.
   */
  async deliver(entry: OutboxEntry, stored: () => Promise<void>): Promise<Delivery> {
    // A reply in progress here (sent online meanwhile) ends first: order is kept.
    for (let i = 0; this.busy && i < 1200; i++) await new Promise((r) => setTimeout(r, 250));
    if (this.busy) return 'offline';
    this.#begin();
    this.#onStored.set(entry.id, () => void stored());
    const error = await this.#consume(api.threads.send(this.id, postBody(entry), this.#abort!.signal));
    this.#onStored.delete(entry.id);
    if (this.#stored.has(entry.id)) return 'sent';
    // Not stored: the entry says so itself ("Waiting to send" or why it was refused).
    this.sendError = null;
    if (error instanceof ApiError && refusedForGood(error.status)) return { error: error.message };
    return 'offline';
  }

  /**
   * Sends a message (text, uploaded images or both) after the last one shown (a new turn).
   * Without a network, or behind messages still waiting, it joins the outbox instead.
   */
  send(content: string, attachments: Attachment[] = []) {
    const last = this.path[this.path.length - 1];
    if (!connectivity.online || this.queued.length) return this.#queue(content, last?.id ?? null, attachments);
    return this.#post(content, last?.id, attachments, true);
  }

  /** Keeps a message in the outbox, to be sent once the network is back (see offline.svelte.ts). */
  async #queue(content: string, parentId: string | null, attachments: Attachment[], id: string = crypto.randomUUID()) {
    const text = content.trim();
    const files = attachments.flatMap((a) => (a.id ? [{ id: a.id }] : []));
    if (!text && !files.length) return false;
    const entry: OutboxEntry = {
      id,
      threadId: this.id,
      content: text,
      // The first one answers what is on screen; the next ones follow the reply before them.
      ...(this.queued.length ? {} : { parentId }),
      createdAt: new Date().toISOString(),
      ...(files.length ? { attachments: files } : {}),
    };
    try {
      await offline.queue(entry);
      this.sendError = null;
      return true;
    } catch (error) {
      this.sendError = errorText(error);
      return false;
    }
  }

  /** Edits an earlier user message: a new sibling branch with its own reply (same images). */
  edit(original: Message, content: string) {
    if (!connectivity.online) {
      this.sendError = needsNetwork('editing a message');
      return Promise.resolve(false);
    }
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
    const placeholder: ViewMessage = {
      id: `pending-${crypto.randomUUID()}`,
      threadId: this.id,
      parentId: last?.id ?? null,
      role: 'assistant',
      content: text,
      status: 'complete',
      model: null,
      createdAt: new Date().toISOString(),
      attachments: [],
      error: null,
      tokensIn: null,
      tokensOut: null,
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
    if (!connectivity.online) {
      this.sendError = needsNetwork('a new reply');
      return;
    }
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

  /** `queueOnFailure`: a new turn that cannot reach the server waits in the outbox (same id) instead of coming back. */
  async #post(content: string, parentId: string | null | undefined, attachments: Attachment[] = [], queueOnFailure = false) {
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
      error: null,
      tokensIn: null,
      tokensOut: null,
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
    const error = await this.#consume(api.threads.send(this.id, body, this.#abort!.signal), () =>
      api.threads.send(this.id, body, this.#abort!.signal),
    );
    if (this.#stored.has(id)) return true;
    delete this.#messages[id];
    if (this.#selected[parentKey(local)] === id) delete this.#selected[parentKey(local)];
    // No network: it waits in the outbox under the same id (harmless if it did arrive).
    if (queueOnFailure && isNetworkError(error)) return this.#queue(text, parentId ?? null, attachments, id);
    // Refused: take the message back so the composer can offer it again.
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

  /** Applies a reply's events; resolves with what ended it early (null when it ran to its end). */
  async #consume(events: AsyncGenerator<ReplyEvent>, again?: () => AsyncGenerator<ReplyEvent>): Promise<unknown> {
    const signal = this.#abort!.signal;
    try {
      for await (const e of events) this.#apply(e);
      return null;
    } catch (error) {
      if (signal.aborted) return this.#cutOff ? new ApiError(0, 'offline', 'The network went away') : null;
      if (error instanceof ApiError && error.status === 0 && again) {
        // The connection dropped: the reply goes on without us; pick it up again once.
        try {
          for await (const e of again()) this.#apply(e);
          return null;
        } catch (second) {
          error = second;
        }
      }
      if (this.streamingId) {
        try {
          for await (const e of api.messages.stream(this.streamingId, signal)) this.#apply(e);
          return null;
        } catch {
          /* fall through to the error */
        }
      }
      const id = this.streamingId;
      if (id && isNetworkError(error) && this.#messages[id]?.status === 'streaming') {
        // The server finishes the reply anyway: keep what arrived, follow it again later (resume).
        this.#flush();
        this.sendError = DETACHED;
        return error;
      }
      this.sendError = errorText(error);
      if (id && this.#messages[id]?.status === 'streaming') this.#messages[id]!.status = 'error';
      return error;
    } finally {
      this.#cutOff = false;
      this.#flush();
      this.#sending = false;
      if (this.#abort?.signal === signal) {
        this.streamingId = null;
        this.#abort = null;
      }
      threads.touch(this.id);
      void this.#refreshThread();
      // The reply's final state (and anything else that changed) into the mirror.
      void offline.sync();
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
        if (e.event === 'user') {
          this.#stored.add(m.id);
          this.#onStored.get(m.id)?.();
        }
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

/** Delivers an outbox entry of a thread that is not open: posted, its reply followed to the end. */
async function deliverDirect(entry: OutboxEntry, stored: () => Promise<void>): Promise<Delivery> {
  let sent = false;
  try {
    for await (const e of api.threads.send(entry.threadId, postBody(entry))) {
      if (e.event === 'user' && !sent) {
        sent = true;
        await stored();
      }
    }
    return sent ? 'sent' : 'offline';
  } catch (error) {
    if (sent) return 'sent'; // the reply goes on at the server
    if (error instanceof ApiError && refusedForGood(error.status)) return { error: error.message };
    return 'offline';
  }
}

/** One Conversation per thread, kept while the app is open. */
class Conversations {
  #open = new SvelteMap<string, Conversation>();

  constructor() {
    session.onSignOut(() => this.#open.clear());
    offline.setDeliverer((entry, stored) => {
      const open = this.#open.get(entry.threadId);
      return open ? open.deliver(entry, stored) : deliverDirect(entry, stored);
    });
    offline.onPage((page) => this.#synced(page));
    if (typeof window !== 'undefined') {
      // Back online, or back in front: replies that went on without us are followed again.
      const resume = () => {
        for (const c of this.#open.values()) c.resume();
      };
      window.addEventListener('online', resume);
      window.addEventListener('offline', () => {
        for (const c of this.#open.values()) c.detach();
      });
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') resume();
      });
    }
  }

  /** A sync page reaches the threads open in memory. */
  #synced(page: SyncPage) {
    if (!this.#open.size) return;
    const byThread = new Map<string, Message[]>();
    for (const m of page.messages) byThread.set(m.threadId, [...(byThread.get(m.threadId) ?? []), m]);
    const gone = new Set(page.deletedThreadIds);
    for (const [id, c] of this.#open) {
      const thread = page.threads.find((t) => t.id === id);
      if (thread) c.thread = thread;
      const messages = byThread.get(id);
      if (messages) c.applySynced(messages);
      if (gone.has(id)) c.status = 'missing';
    }
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
