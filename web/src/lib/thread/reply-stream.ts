/**
 * One reply's server-sent events, applied through handlers: the user's message stored, the
 * reply started, its text (batched to one update per animation frame where there are
 * frames), its end, and the thread's title. Used by the thread view, the call screen and the
 * outbox (page and service worker alike), so "stored" means one thing everywhere: the
 * server's `user` event for the message's id.
 *
 * - A dropped connection is survived: a post is tried once more (same client id, which the
 *   server deduplicates), then the reply is re-attached (GET /api/messages/:id/stream).
 * - `storedWithin` bounds the wait for the `user` event: a request that gets no answer ends
 *   as `NoAnswer` (a network failure), and the outbox keeps the message.
 * - `cancel` stops listening; stopping the reply at the server is the caller's (api.messages.cancel).
 */
import { api, ApiError } from '$lib/api';
import { describeProviderError } from '$lib/errors';
import type { Message, Source } from '$server/threads/model';
import type { ReplyEvent, ToolEvent } from '$server/replies/model';

export interface ReplyHandlers {
  /** The server has stored the user's message. */
  user?(message: Message): void;
  start?(message: Message): void;
  /** More text for a message. */
  text?(id: string, text: string): void;
  /** The final message; `error` in plain words when the provider failed. */
  end?(message: Message, error: string | null): void;
  title?(threadId: string, title: string): void;
  /** More reasoning ("Thinking") for a message: shown apart, never spoken. */
  reasoning?(id: string, text: string): void;
  /** A tool call's new state. */
  tool?(data: ToolEvent['data']): void;
  /** Every source the reply may cite so far. */
  sources?(id: string, sources: Source[]): void;
}

export interface RunOptions {
  /** A post that may be sent again after a dropped connection (the same client id). */
  again?: boolean;
  /** Ms to wait for the `user` event before giving up (posts only). */
  storedWithin?: number;
  /** Called with the id of each user message the server confirms, as soon as it does. */
  onStored?: (id: string) => void;
}

/** How long a send waits for the server to say it stored the message. */
export const SEND_TIMEOUT_MS = 15_000;

/** The request got no answer in time; nothing is known to be stored. */
export class NoAnswer extends ApiError {
  constructor() {
    super(0, 'no_answer', "The server didn't answer in time.");
  }
}

type Open = (signal: AbortSignal) => AsyncGenerator<ReplyEvent>;

export class ReplyStream {
  readonly #handlers: ReplyHandlers;
  readonly #batch: boolean;
  readonly #abort = new AbortController();
  readonly #pending = new Map<string, string>();
  readonly #stored = new Set<string>();
  #frame = 0;
  #assistantId: string | null = null;
  #titled = false;
  #cutOff = false;
  #error: unknown = null;
  #onStored: ((id: string) => void) | undefined;

  constructor(handlers: ReplyHandlers = {}, opts: { batch?: boolean } = {}) {
    this.#handlers = handlers;
    this.#batch = (opts.batch ?? true) && typeof requestAnimationFrame === 'function';
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
  /** The reply's message id, once the server said it (`start`) or the caller attached to it. */
  get assistantId(): string | null {
    return this.#assistantId;
  }
  /** The server sent the thread's title during this reply. */
  get titled(): boolean {
    return this.#titled;
  }
  /** What ended the last run early (null: it ran to its end, or was cancelled on purpose). */
  get error(): unknown {
    return this.#error;
  }
  stored(id: string): boolean {
    return this.#stored.has(id);
  }

  /** Stops listening now. `cutOff`: because the network went away (the run then ends with a network error). */
  cancel(cutOff = false) {
    this.flush();
    if (cutOff) this.#cutOff = true;
    this.#abort.abort();
  }

  /** Follows a reply already being written (re-attach). */
  follow(assistantId: string): Promise<unknown> {
    this.#assistantId = assistantId;
    return this.run((signal) => api.messages.stream(assistantId, signal));
  }

  /** Reads the events `open` gives; resolves with what ended it early (also kept in `error`). */
  async run(open: Open, opts: RunOptions = {}): Promise<unknown> {
    const signal = this.#abort.signal;
    this.#onStored = opts.onStored;
    let timedOut = false;
    const timer = opts.storedWithin
      ? setTimeout(() => {
          if (this.#stored.size || signal.aborted) return;
          timedOut = true;
          this.#abort.abort();
        }, opts.storedWithin)
      : undefined;
    const early = (): unknown => (timedOut ? new NoAnswer() : this.#cutOff ? new ApiError(0, 'offline', 'The network went away') : null);
    try {
      this.#error = await this.#attempts(open, signal, !!opts.again, early);
    } finally {
      clearTimeout(timer);
      this.flush();
    }
    return this.#error;
  }

  async #attempts(open: Open, signal: AbortSignal, again: boolean, early: () => unknown): Promise<unknown> {
    let error: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#read(open(signal));
        return null;
      } catch (e) {
        if (signal.aborted) return early();
        error = e;
      }
      // The connection dropped: the reply goes on at the server without us. Pick it up again once.
      const dropped = error instanceof ApiError && error.status === 0;
      if (attempt > 0 || !again || !dropped) break;
    }
    if (this.#assistantId) {
      try {
        await this.#read(api.messages.stream(this.#assistantId, signal));
        return null;
      } catch {
        if (signal.aborted) return early();
      }
    }
    return error;
  }

  async #read(events: AsyncGenerator<ReplyEvent>) {
    for await (const e of events) this.#apply(e);
  }

  #apply(e: ReplyEvent) {
    const h = this.#handlers;
    switch (e.event) {
      case 'user':
        this.flush();
        this.#stored.add(e.data.message.id);
        h.user?.(e.data.message);
        this.#onStored?.(e.data.message.id);
        break;
      case 'start':
        this.flush();
        this.#assistantId = e.data.message.id;
        h.start?.(e.data.message);
        break;
      case 'delta':
        if (!this.#batch) {
          h.text?.(e.data.id, e.data.text);
          break;
        }
        this.#pending.set(e.data.id, (this.#pending.get(e.data.id) ?? '') + e.data.text);
        this.#frame ||= requestAnimationFrame(() => this.flush());
        break;
      case 'done':
      case 'error':
        // The final message carries the whole text: what waits for the next frame is in it.
        this.#pending.delete(e.data.message.id);
        this.flush();
        h.end?.(e.data.message, e.event === 'error' ? describeProviderError(e.data.error) : null);
        break;
      case 'title':
        this.#titled = true;
        h.title?.(e.data.threadId, e.data.title);
        break;
      case 'reasoning':
        h.reasoning?.(e.data.id, e.data.text);
        break;
      case 'tool':
        this.flush();
        h.tool?.(e.data);
        break;
      case 'sources':
        h.sources?.(e.data.id, e.data.sources);
        break;
    }
  }

  /** Applies the text waiting for the next frame now. */
  flush() {
    if (this.#frame) cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    if (!this.#pending.size) return;
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [id, text] of pending) this.#handlers.text?.(id, text);
  }
}
