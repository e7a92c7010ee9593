/**
 * Replies in flight in this process. A Generation runs independently of any HTTP
 * connection: the runner feeds it (append, finish, note, end) and it fans events
 * out to whoever is attached (zero or more SSE clients), replaying what they missed.
 * Its state is private: other modules read it through getters and change it through
 * these methods only.
 */
import type { Message } from '../threads/model';
import type { FinalEvent, ReplyEvent, Send } from './types';

interface Subscriber {
  onEvent: Send;
  onEnd: () => void;
  viewer?: string;
}

export class Generation {
  readonly messageId: string;
  readonly threadId: string;
  readonly userId: string;
  #message: Message;
  #text = '';
  #final: FinalEvent | null = null;
  /** Events after the final one (e.g. `title`), for late attachers. */
  #after: ReplyEvent[] = [];
  #ended = false;
  #cancelled = false;
  readonly #abort = new AbortController();
  #subscribers = new Set<Subscriber>();
  readonly #finished = Promise.withResolvers<void>();
  readonly #settled = Promise.withResolvers<void>();

  constructor(userId: string, draft: Message) {
    this.messageId = draft.id;
    this.threadId = draft.threadId;
    this.userId = userId;
    this.#message = draft;
  }

  /** The assistant message: the draft, the stored row, then its final state. */
  get message() {
    return this.#message;
  }

  /** The text streamed so far. */
  get text() {
    return this.#text;
  }

  /** Aborted when the reply must stop (cancel, timeout, thread or account gone). */
  get signal() {
    return this.#abort.signal;
  }

  /** Whether the user stopped it. */
  get cancelled() {
    return this.#cancelled;
  }

  get isFinished() {
    return this.#final !== null;
  }

  get listenerCount() {
    return this.#subscribers.size;
  }

  /** The sessions of the attached clients (one per client that said whose it is). */
  get viewers(): string[] {
    return [...this.#subscribers].flatMap((s) => (s.viewer ? [s.viewer] : []));
  }

  /** Resolves once the final state is known (done or error). */
  get finished() {
    return this.#finished.promise;
  }

  /** Resolves once everything is over, completion steps included. */
  get settled() {
    return this.#settled.promise;
  }

  /** The row as written (same id and fields as the draft, the database's time). */
  stored(row: Message) {
    this.#message = row;
  }

  append(text: string) {
    this.#text += text;
    this.#emit({ event: 'delta', data: { id: this.messageId, text } });
  }

  /** The final state; after it, only `note` and `end`. */
  finish(event: FinalEvent) {
    if (this.#final) return;
    this.#message = event.data.message;
    this.#final = event;
    this.#emit(event);
    this.#finished.resolve();
  }

  /** An event after the final one, before the stream ends (e.g. the thread's new title). */
  note(event: ReplyEvent) {
    if (this.#ended) return;
    this.#after.push(event);
    this.#emit(event);
  }

  /** Nothing more will come: attached streams close, and the registry lets go. */
  end() {
    if (this.#ended) return;
    this.#ended = true;
    const subscribers = [...this.#subscribers];
    this.#subscribers.clear();
    for (const s of subscribers) s.onEnd();
    this.#settled.resolve();
  }

  /** The user's stop: the reply ends as cancelled with what arrived. */
  cancel() {
    this.#cancelled = true;
    this.#abort.abort('cancelled');
  }

  /** Stop for another reason (thread or account deleted, duplicate post, timeout...). */
  stop(reason: string) {
    this.#abort.abort(reason);
  }

  /**
   * Attach a client: it gets `start`, one `delta` with the text so far, the final
   * event and what followed it, then live events until the end. Returns the detacher.
   */
  attach(onEvent: Send, onEnd: () => void, viewer?: string): () => void {
    onEvent({ event: 'start', data: { message: { ...this.#message, content: '' } } });
    if (this.#text) onEvent({ event: 'delta', data: { id: this.messageId, text: this.#text } });
    if (this.#final) onEvent(this.#final);
    for (const event of this.#after) onEvent(event);
    if (this.#ended) {
      onEnd();
      return () => {};
    }
    const subscriber: Subscriber = { onEvent, onEnd, viewer };
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  #emit(event: ReplyEvent) {
    for (const s of [...this.#subscribers]) {
      try {
        s.onEvent(event);
      } catch {
        this.#subscribers.delete(s);
      }
    }
  }
}

export class Generations {
  #active = new Map<string, Generation>();

  get(messageId: string) {
    return this.#active.get(messageId) ?? null;
  }

  add(generation: Generation) {
    this.#active.set(generation.messageId, generation);
    void generation.settled.then(() => this.#active.delete(generation.messageId));
  }

  /** Stop every reply of one of the user's threads (it is being deleted); never another user's. */
  cancelThread(userId: string, threadId: string) {
    for (const g of this.#active.values()) if (g.threadId === threadId && g.userId === userId) g.stop('thread deleted');
  }

  cancelUser(userId: string, reason = 'account deleted') {
    for (const g of this.#active.values()) if (g.userId === userId) g.stop(reason);
  }

  /** Stop every reply in flight (a shutdown whose drain ran out of time). */
  stopAll(reason: string) {
    for (const g of this.#active.values()) g.stop(reason);
  }

  /** The ids of the replies in flight here (their rows' lease is renewed by this process). */
  ids() {
    return [...this.#active.keys()];
  }

  get size() {
    return this.#active.size;
  }

  /** An account disabled by an admin: its replies end now, as `cancelled` (partial text kept). */
  cancelUserReplies(userId: string) {
    for (const g of this.#active.values()) if (g.userId === userId) g.cancel();
  }

  /** Wait for every reply in flight (graceful shutdown, tests). */
  async drain() {
    await Promise.all([...this.#active.values()].map((g) => g.settled));
  }
}
