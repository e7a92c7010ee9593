/**
 * One thread: its messages (a MessageTree, walked along the branches the user picked), the
 * reply being written (a ReplyStream), and what the user does to it: send, edit, regenerate,
 * retry, stop, make an image. State is private; screens read getters and call methods.
 *
 * Offline (src/lib/offline/, docs/offline.md): `load` answers from the account's mirror
 * first, then the network. A message is in the outbox from the moment it is sent until the
 * server has stored it (its `user` event): a send without an answer (SEND_TIMEOUT_MS), or
 * without a network, shows as "Waiting to send" and is delivered when the network returns,
 * into this thread when it is open (so its reply streams in). A reply whose connection drops
 * keeps what arrived and is picked up again when the network is back or the app is visible.
 */
import { api, ApiError, messagesPath, prefetching } from '$lib/api';
import { errorText, imageErrorText, isNetworkError, needsNetwork } from '$lib/errors';
import type { OutboxEntry } from '$lib/offline/db';
import { deliverEntry } from '$lib/offline/deliver';
import { offline } from '$lib/offline/offline.svelte';
import { refusedForGood, type Delivery } from '$lib/offline/outbox';
import { ReplyStream, SEND_TIMEOUT_MS, type ReplyHandlers } from '$lib/thread/reply-stream';
import { imagePlaceholder, messageBody, outboxEntry, userMessage } from '$lib/thread/outgoing';
import { ThreadMessages } from '$lib/thread/thread-messages.svelte';
import type { Attachment, Message, Thread } from '$server/threads/model';
import { connectivity } from './connectivity.svelte';
import { threads } from './threads.svelte';

/** Said while a reply goes on at the server but the network is gone. */
const DETACHED =
  "Connection lost. The reply is still being written on the server: it appears here when you're back online.";

export type ConversationStatus = 'loading' | 'ready' | 'error' | 'missing';

/** A message's own choices: search the web before answering (when the server offers it). */
export interface SendOptions {
  webSearch?: boolean;
  /** Ask for more reasoning (models that take an effort setting). */
  reasoningEffort?: 'high';
}

export class Conversation {
  readonly id: string;
  #thread = $state<Thread | null>(null);
  #status = $state<ConversationStatus>('loading');
  #error = $state<string | null>(null);
  #sendError = $state<string | null>(null);
  #streamingId = $state<string | null>(null);
  #sending = $state(false);
  #generatingImage = $state(false);
  #messages: ThreadMessages;
  #stream: ReplyStream | null = null;

  constructor(id: string, thread?: Thread) {
    this.id = id;
    this.#messages = new ThreadMessages(id);
    if (thread) this.#thread = thread;
  }

  get thread() {
    return this.#thread;
  }
  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }
  /** A failure to send (network, 4xx) shown above the composer. */
  get sendError() {
    return this.#sendError;
  }
  /** The assistant message being written, if any. */
  get streamingId() {
    return this.#streamingId;
  }
  /** An image is being generated for this thread (POST /api/images). */
  get generatingImage() {
    return this.#generatingImage;
  }
  /** True from the moment a message is sent until its reply ends. */
  get busy() {
    return this.#sending || this.#streamingId !== null || this.#generatingImage;
  }
  /** The visible conversation. */
  get path(): Message[] {
    return this.#messages.path;
  }
  /** Messages of this thread waiting in the outbox (oldest first), not those being sent from here now. */
  get queued(): OutboxEntry[] {
    return offline.outbox.filter((e) => e.threadId === this.id && !offline.inflight.has(e.id));
  }

  /** "2 / 3": where a message sits among its siblings. */
  branchOf(m: Message) {
    return this.#messages.branchOf(m);
  }

  /** Shows the branch holding the message (opening a search result); false until it is loaded. */
  reveal(id: string): boolean {
    return this.#messages.reveal(id);
  }

  switchBranch(m: Message, step: -1 | 1) {
    this.#messages.switchBranch(m, step);
  }

  /** A thread just created here (new chat): nothing to load. */
  created() {
    this.#status = 'ready';
  }

  /** The thread's fields changed (its settings, a sync). */
  setThread(thread: Thread) {
    this.#thread = thread;
  }

  /** The thread was deleted (here or elsewhere). */
  gone() {
    this.#status = 'missing';
  }

  async load() {
    this.#status = this.#messages.path.length ? 'ready' : 'loading';
    this.#error = null;
    // On a cold start index.html has already asked the server for this thread: its answer and
    // this device's copy race, and whichever comes first shows (on a first visit the copy's
    // database is still being made; with the server unreachable its answer may take long).
    const early = prefetching(messagesPath(this.id)) ? api.threads.open(this.id) : null;
    early?.catch(() => {});
    const mirror = offline.mirror();
    let local = false;
    if (mirror) {
      const fromCopy = Promise.all([
        mirror.thread(this.id),
        mirror.messages(this.id),
        mirror.complete(),
        offline.loaded(), // which chats were started here (read at start, like the outbox)
      ]).catch(() => [undefined, [] as Message[], false] as const);
      // The server answered first: its answer is shown (a failure waits for the copy).
      const serverFirst = early
        ? await Promise.race([fromCopy.then(() => false), early.then(() => true, () => fromCopy.then(() => false))])
        : false;
      const [thread, messages, complete] = serverFirst ? [undefined, [], false] : await fromCopy;
      if (thread) {
        local = true;
        this.#thread = thread;
        this.#merge(messages);
        this.#status = 'ready';
        this.resume();
        // The copy holds the whole account: a sync brings this thread's changes (applySynced).
        // A chat started on this device may not be on the server yet (it would answer 404):
        // its outbox creates it, and a sync brings it.
        if (complete || offline.isNewThread(this.id)) {
          void offline.sync();
          return;
        }
      }
    }
    try {
      const { thread, messages } = await (early ?? api.threads.open(this.id));
      this.#thread = thread;
      threads.upsert(thread);
      // Keep what is streaming locally: the server's copy may lag behind our deltas.
      this.#messages.replace(messages, this.#streamingId);
      this.#status = 'ready';
      this.resume();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.#status = 'missing';
      else if (local && isNetworkError(error)) {
        // Offline: the copy is what there is, without an error.
      } else {
        this.#error = isNetworkError(error) ? "You're offline, and this thread isn't saved on this device yet." : errorText(error);
        this.#status = 'error';
      }
    }
  }

  /** Changes from a sync (src/lib/offline/): merged, and a reply still being written is followed. */
  applySynced(messages: Message[]) {
    this.#merge(messages);
    if (this.#status === 'loading' && this.#messages.path.length) this.#status = 'ready';
    this.resume();
  }

  #merge(messages: Message[]) {
    this.#messages.merge(messages, this.#streamingId);
  }

  /**
   * Follows a reply of this thread that is still being written (opened mid-reply, or the
   * connection dropped): attaches to its stream when online, else says it will come.
   */
  resume() {
    if (this.busy) return;
    const live = this.#messages.live();
    if (!live || connectivity.online) {
      if (this.#sendError === DETACHED) this.#sendError = null;
      if (live) void this.#run((stream) => ((this.#streamingId = live.id), stream.follow(live.id)));
      return;
    }
    this.#sendError = DETACHED;
  }

  /**
   * The network went away mid-reply: stop listening now (a dead connection can hang for
   * minutes) and keep what arrived; the server finishes the reply, and `resume` follows it
   * again when the network is back.
   */
  detach() {
    if (!this.#stream || (!this.#streamingId && !this.#sending)) return;
    this.#stream.cancel(true);
    if (this.#streamingId) this.#sendError = DETACHED;
  }

  /** Posts an outbox entry here, so its reply streams into the open thread. Resolves when the reply is over. */
  async deliver(entry: OutboxEntry, stored: () => Promise<void>): Promise<Delivery> {
    // A reply in progress here (sent online meanwhile) ends first: order is kept.
    for (let i = 0; this.busy && i < 1200; i++) await new Promise((r) => setTimeout(r, 250));
    if (this.busy) return 'offline';
    const result = await this.#run((stream) => deliverEntry(entry, stored, stream));
    // Not stored: the entry says so itself ("Waiting to send" or why it was refused).
    if (result !== 'sent') this.#sendError = null;
    return result;
  }

  /**
   * Sends a message (text, uploaded images or both) after the last one shown (a new turn).
   * Without a network, or behind messages still waiting, it joins the outbox instead.
   */
  send(content: string, attachments: Attachment[] = [], options: SendOptions = {}) {
    const last = this.#messages.last;
    // A chat started on this device goes through the outbox too: it creates the thread first.
    if (!connectivity.online || this.queued.length || offline.isNewThread(this.id)) return this.#queue(content, last?.id ?? null, attachments);
    return this.#post(content, last?.id, attachments, true, options);
  }

  /** Keeps a message in the outbox, to be sent once the network is back (see offline.svelte.ts). */
  async #queue(content: string, parentId: string | null, attachments: Attachment[]) {
    const entry = outboxEntry(this.id, crypto.randomUUID(), content, parentId, attachments, !this.queued.length);
    if (!entry) return false;
    try {
      await offline.queue(entry);
      this.#sendError = null;
      return true;
    } catch (error) {
      this.#sendError = errorText(error);
      return false;
    }
  }

  /** Edits an earlier user message: a new sibling branch with its own reply (same images). */
  edit(original: Message, content: string) {
    if (!connectivity.online) {
      this.#sendError = needsNetwork('editing a message');
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
    const placeholder = imagePlaceholder(this.id, this.#messages.last?.id ?? null, text);
    this.#sendError = null;
    this.#generatingImage = true;
    this.#messages.show(placeholder);
    try {
      const { message } = await api.images.generate({ prompt: text, threadId: this.id });
      if (message) this.#messages.show(message);
      threads.touch(this.id);
      return true;
    } catch (error) {
      this.#sendError = imageErrorText(error);
      return false;
    } finally {
      this.#messages.unshow(placeholder);
      this.#generatingImage = false;
    }
  }

  /** A new reply beside an assistant message (same parent), by `model` when given ("Regenerate with…"). */
  async regenerate(assistant: Message, model?: string) {
    if (this.busy) return;
    if (!connectivity.online) {
      this.#sendError = needsNetwork('a new reply');
      return;
    }
    await this.#run((stream) => stream.run((signal) => api.messages.regenerate(assistant.id, signal, model)));
  }

  /** The user's answer to a tool call waiting for approval (the reply goes on, or learns it was denied). */
  async approveTool(reply: Message, callId: string, approve: boolean) {
    try {
      await api.messages.approveTool(reply.id, callId, approve);
    } catch (error) {
      this.#sendError = `Could not answer the tool call: ${errorText(error)}`;
    }
  }

  /** Retry after a provider error: a fresh reply to the same message. */
  retry(failed: Message) {
    return this.regenerate(failed);
  }

  /** Stops the reply: the server keeps the partial text, marked `cancelled`. */
  async stop() {
    const id = this.#streamingId;
    const stream = this.#stream;
    if (!id) {
      stream?.cancel();
      return;
    }
    stream?.flush();
    try {
      await api.messages.cancel(id);
      const m = this.#messages.get(id);
      if (m && m.status === 'streaming') m.status = 'cancelled';
    } catch (error) {
      this.#sendError = `Could not stop the reply: ${errorText(error)}`;
      return;
    }
    // The server ends the stream with `done`; don't wait on a slow connection for it.
    setTimeout(() => {
      if (this.#streamingId === id) {
        stream?.cancel();
        this.#streamingId = null;
      }
    }, 2500);
  }

  /**
   * A user message and its reply. `newTurn`: the message is held in the outbox until the
   * server stores it, so no answer (or no network) leaves it "Waiting to send", never lost;
   * an edit that fails comes back to the composer instead.
   */
  async #post(content: string, parentId: string | null | undefined, attachments: Attachment[] = [], newTurn = false, options: SendOptions = {}) {
    const text = content.trim();
    if ((!text && !attachments.length) || this.busy) return false;
    const id = crypto.randomUUID();
    const local = userMessage(this.id, id, text, parentId ?? null, attachments);
    this.#messages.show(local);
    threads.touch(this.id);
    const entry = newTurn ? outboxEntry(this.id, id, text, parentId ?? null, attachments, true) : null;
    const body = {
      ...messageBody(id, text, parentId, attachments),
      ...(options.webSearch ? { webSearch: true } : {}),
      ...(options.reasoningEffort ? { reasoningEffort: options.reasoningEffort } : {}),
    };
    let held = false;
    const { stored, error, stopped } = await this.#run(async (stream) => {
      held = !!entry && (await offline.hold(entry));
      // Sending the same id again attaches to the same reply (the server deduplicates), so a
      // retry after a dropped connection is safe.
      await stream.run((signal) => api.threads.send(this.id, body, signal), {
        again: true,
        storedWithin: held ? SEND_TIMEOUT_MS : undefined,
        onStored: (storedId) => {
          if (held && storedId === id) void offline.release(id, 'stored');
        },
      });
      // Stopped on purpose (Stop, Esc) before the server answered: taken back, as before.
      return { stored: stream.stored(id), error: stream.error, stopped: stream.signal.aborted && !stream.error };
    });
    if (stored) return true;
    if (held && !offline.outbox.some((e) => e.id === id)) {
      // A sync showed meanwhile that the server has it (the request landed, its answer was
      // lost): it stays as sent, and a reply still being written is followed.
      await offline.release(id, 'stored');
      this.#sendError = null;
      this.resume();
      return true;
    }
    this.#messages.unshow(local);
    const refused = stopped || (error instanceof ApiError && refusedForGood(error.status, error.code));
    if (held) {
      await offline.release(id, refused ? 'refused' : 'waiting');
      // Not refused: it waits in the outbox under the same id (harmless if it did arrive).
      if (!refused) {
        this.#sendError = null;
        return true;
      }
    }
    // Refused (or nowhere to keep it): take the message back so the composer can offer it again.
    return false;
  }

  /** Runs one reply stream here: busy meanwhile, its events applied, its failure said. */
  async #run<T>(work: (stream: ReplyStream) => Promise<T>): Promise<T> {
    const stream = new ReplyStream(this.#handlers);
    this.#stream = stream;
    this.#sendError = null;
    this.#sending = true;
    try {
      const result = await work(stream);
      if (stream.error) this.#failed(stream.error);
      return result;
    } finally {
      stream.flush();
      this.#sending = false;
      if (this.#stream === stream) {
        this.#streamingId = null;
        this.#stream = null;
      }
      threads.touch(this.id);
      // Until the server sends `title` (before the stream closes), one later look at a new thread.
      if (!stream.titled && this.#messages.path.length <= 2) threads.titleLater(this.id);
      // The reply's final state (and anything else that changed) into the mirror.
      void offline.sync();
    }
  }

  #failed(error: unknown) {
    const id = this.#streamingId;
    const live = id ? this.#messages.get(id) : undefined;
    if (live?.status === 'streaming' && isNetworkError(error)) {
      // The server finishes the reply anyway: keep what arrived, follow it again later (resume).
      this.#sendError = DETACHED;
      return;
    }
    this.#sendError = errorText(error);
    if (live?.status === 'streaming') live.status = 'error';
  }

  #handlers: ReplyHandlers = {
    user: (m) => {
      this.#messages.show({ ...this.#messages.get(m.id), ...m });
      this.#sending = false;
    },
    start: (m) => {
      this.#messages.show({ ...this.#messages.get(m.id), ...m });
      this.#streamingId = m.id;
      this.#sending = false;
    },
    text: (id, text) => {
      this.#streamingId ??= id;
      this.#messages.appendText(id, text);
    },
    end: (m, error) => {
      this.#messages.set({ ...m, ...(error ? { error } : {}) });
      if (this.#streamingId === m.id) this.#streamingId = null;
    },
    reasoning: (id, text) => this.#messages.appendReasoning(id, text),
    tool: ({ id, call, status, output, ms }) =>
      this.#messages.setToolCall(id, { ...call, status, ...(output !== undefined ? { output } : {}), ...(ms !== undefined ? { ms } : {}) }),
    sources: (id, sources) => this.#messages.setSources(id, sources),
    title: (threadId, title) => {
      if (threadId !== this.id) return;
      if (this.#thread) this.#thread = { ...this.#thread, title };
      threads.retitle(threadId, title);
    },
  };
}
