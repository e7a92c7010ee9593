/**
 * Replies in flight in this process. A Generation runs independently of any HTTP
 * connection: it reads the provider's stream, keeps the text, persists it in
 * batches, and fans events out to whoever is attached (zero or more SSE clients).
 */
import type { Message } from '../threads/model';
import type { ReplyEvent } from './model';

export type { ReplyEvent } from './model';

type Listener = (event: ReplyEvent) => void;

export class Generation {
  text = '';
  finished = false;
  /** The final event, once there is one (for late attachers). */
  final: ReplyEvent | null = null;
  readonly abort = new AbortController();
  cancelled = false;
  #listeners = new Set<Listener>();
  #done: PromiseWithResolvers<void> = Promise.withResolvers<void>();

  constructor(
    readonly messageId: string,
    readonly threadId: string,
    readonly userId: string,
    public message: Message,
  ) {}

  get listenerCount() {
    return this.#listeners.size;
  }

  get settled() {
    return this.#done.promise;
  }

  /** Attach: you get `onEvent` calls for everything after this moment; returns the detacher. */
  subscribe(onEvent: Listener): () => void {
    this.#listeners.add(onEvent);
    return () => this.#listeners.delete(onEvent);
  }

  emit(event: ReplyEvent) {
    if (event.event === 'delta') this.text += event.data.text;
    if (event.event === 'done' || event.event === 'error') {
      this.finished = true;
      this.final = event;
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        this.#listeners.delete(listener);
      }
    }
    if (this.finished) {
      this.#listeners.clear();
      this.#done.resolve();
    }
  }
}

export class Generations {
  #active = new Map<string, Generation>();

  get size() {
    return this.#active.size;
  }

  get(messageId: string) {
    return this.#active.get(messageId) ?? null;
  }

  add(generation: Generation) {
    this.#active.set(generation.messageId, generation);
    void generation.settled.then(() => this.#active.delete(generation.messageId));
  }

  /** Stop every reply of a thread (it is being deleted). */
  cancelThread(threadId: string) {
    for (const g of this.#active.values()) if (g.threadId === threadId) g.abort.abort('thread deleted');
  }

  cancelUser(userId: string) {
    for (const g of this.#active.values()) if (g.userId === userId) g.abort.abort('account deleted');
  }

  /** Wait for every reply in flight (graceful shutdown, tests). */
  async drain() {
    await Promise.all([...this.#active.values()].map((g) => g.settled));
  }
}
