/**
 * Replies in flight in this process. A Generation runs independently of any HTTP
 * connection: the runner feeds it (append, finish, note, end) and it fans events
 * out to whoever is attached (zero or more SSE clients), replaying what they missed.
 * Its state is private: other modules read it through getters and change it through
 * these methods only.
 */
import type { Message, Source, ToolCall } from '../threads/model';
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
  #reasoning = '';
  #toolCalls = new Map<string, ToolCall>();
  #sources: Source[] = [];
  /** Tool calls waiting for the user's approval: callId → resolve(approved). */
  #approvals = new Map<string, (approved: boolean) => void>();
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

  get reasoning() {
    return this.#reasoning;
  }

  get toolCalls(): ToolCall[] {
    return [...this.#toolCalls.values()];
  }

  get sources(): Source[] {
    return this.#sources;
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

  appendReasoning(text: string) {
    this.#reasoning += text;
    this.#emit({ event: 'reasoning', data: { id: this.messageId, text } });
  }

  /** A tool call's new state (running, approval, done, error, denied). */
  toolCall(call: ToolCall) {
    this.#toolCalls.set(call.id, call);
    this.#emit({ event: 'tool', data: this.#toolData(call) });
  }

  /** Sources the reply may cite; the event carries all of them so far. */
  addSources(sources: Source[]) {
    if (!sources.length) return;
    this.#sources = [...this.#sources, ...sources];
    this.#emit({ event: 'sources', data: { id: this.messageId, sources: this.#sources } });
  }

  /**
   * Waits for the user's answer to a tool call (answerApproval), at most `timeoutMs`;
   * false when they deny, the time runs out or the reply stops.
   */
  awaitApproval(callId: string, timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (approved: boolean) => {
        clearTimeout(timer);
        this.signal.removeEventListener('abort', onAbort);
        this.#approvals.delete(callId);
        resolve(approved);
      };
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.signal.addEventListener('abort', onAbort, { once: true });
      this.#approvals.set(callId, done);
    });
  }

  /** The user's answer; false when no call of that id is waiting. */
  answerApproval(callId: string, approved: boolean): boolean {
    const waiting = this.#approvals.get(callId);
    if (!waiting) return false;
    waiting(approved);
    return true;
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
    onEvent({ event: 'start', data: { message: { ...this.#message, content: '', reasoning: '', toolCalls: [], sources: [] } } });
    if (this.#reasoning) onEvent({ event: 'reasoning', data: { id: this.messageId, text: this.#reasoning } });
    for (const call of this.#toolCalls.values()) onEvent({ event: 'tool', data: this.#toolData(call) });
    if (this.#sources.length) onEvent({ event: 'sources', data: { id: this.messageId, sources: this.#sources } });
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

  #toolData(call: ToolCall) {
    const { id, name, input, status, output, ms } = call;
    return { id: this.messageId, call: { id, name, input }, status, ...(output !== undefined ? { output } : {}), ...(ms !== undefined ? { ms } : {}) };
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
