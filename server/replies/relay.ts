/**
 * Replies across instances, over the bus (server/infra/notify.ts: PostgreSQL LISTEN/NOTIFY).
 *
 * Following a reply that generates in another instance:
 *   1. the follower sends its text so far from the row, then publishes
 *      `parley_events {kind: 'follow', m, from}` (`from` = characters it has);
 *   2. the instance generating `m` starts relaying it (once per reply, only when followed):
 *      the text from `from` on, then every delta as `parley_replies {m, o, t}` (o = the
 *      offset of t in the reply, t ≤ 1000 characters), the final state as `{m, f: 1}`
 *      (the follower reads the final row), events after it (`title`) as `{m, e}`, and `{m, end: 1}`;
 *   3. the follower puts pieces in order by offset: a piece already had is skipped, a piece
 *      past a gap (a notification lost while the database was away) is held and the
 *      follower asks again from where it is. After the listener reconnects it asks again too.
 * A reply whose instance died ends through its lease (server/replies/lease.ts), which
 * publishes `{m, end: 1}`; the follower then reads the row. A follower also reads the row
 * every LEASE_CHECK_MS as a safety net, so nothing it waits for can be missed for long.
 *
 * Tool approvals across instances: `tool_approval {m, c, a}` reaches the instance generating
 * `m`, which answers call `c` (a = approve); that instance acknowledges with
 * `tool_approved {m, c, ok}` so the asking instance can tell whether the call still waited.
 *
 * Stopping across instances: `cancel`, `stop_thread`, `stop_user` events reach the
 * instance generating the reply; `session_ended` and `user_disabled` (published by
 * triggers on the sessions and users tables, whoever wrote them) end the open streams.
 */
import { getMessage } from '../conversations/queries';
import type { Sql } from '../db';
import { EVENTS, REPLIES, type Bus, type Payload } from '../infra/notify';
import type { Message } from '../threads/model';
import type { Generation, Generations } from './generations';
import type { Streams } from './streams';
import type { FinalEvent, ReplyEvent, Send } from './types';

/** Characters of reply text per notification (JSON-escaped, well under NOTIFY's 8000 bytes). */
const PIECE = 1000;
/** How often a follower reads the row anyway (the lease's heartbeat). */
export const LEASE_CHECK_MS = 2000;

type Piece = { m: string; o: number; t: string };

interface Follower {
  onPiece(o: number, t: string): void;
  onFinal(): void;
  onEvent(e: ReplyEvent): void;
  onEnd(): void;
  /** The listener reconnected: notifications may have been lost meanwhile. */
  resync(): void;
}

export function finalEventOf(message: Message): FinalEvent {
  return message.status === 'error'
    ? { event: 'error', data: { message, error: { code: 'provider_error', message: message.error ?? 'The reply failed' } } }
    : { event: 'done', data: { message } };
}

export class Relay {
  readonly #bus: Bus;
  readonly #generations: Generations;
  readonly #streams: Streams;
  readonly #sql: Sql;
  /** Replies of this instance being relayed: id → characters published so far. */
  #relayed = new Map<string, { published: number }>();
  /** Followers here of replies elsewhere. */
  #followers = new Map<string, Set<Follower>>();
  /** Approvals relayed from here, waiting for the generating instance's word: `m/c` → resolvers. */
  #approvals = new Map<string, Set<(ok: boolean) => void>>();
  /** Cancels waiting for a reply elsewhere to end. */
  #waiting = new Map<string, Set<() => void>>();

  constructor(deps: { bus: Bus; generations: Generations; streams: Streams; sql: Sql }) {
    this.#bus = deps.bus;
    this.#generations = deps.generations;
    this.#streams = deps.streams;
    this.#sql = deps.sql;
    this.#bus.subscribe(EVENTS, (p) => this.#onEvent(p));
    this.#bus.subscribe(REPLIES, (p) => this.#onReply(p));
    this.#bus.onReconnect(() => this.#reconnected());
  }

  get shared() {
    return this.#bus.shared;
  }

  // ── Stopping, wherever the reply runs ──────────────────────────────────────

  /** Stops a thread's replies; call only after checking that `userId` owns the thread. */
  stopThread(userId: string, threadId: string) {
    this.#generations.cancelThread(userId, threadId);
    if (this.#bus.shared) this.#bus.publish(EVENTS, { kind: 'stop_thread', userId, threadId });
  }

  stopUser(userId: string) {
    this.#generations.cancelUser(userId);
    if (this.#bus.shared) this.#bus.publish(EVENTS, { kind: 'stop_user', userId });
  }

  /** Asks the instance generating `messageId` to cancel it; resolves when it ended, or after `timeoutMs`. */
  async cancelRemote(messageId: string, timeoutMs = 3000): Promise<boolean> {
    if (!this.#bus.shared) return false;
    const ended = Promise.withResolvers<boolean>();
    let set = this.#waiting.get(messageId);
    if (!set) this.#waiting.set(messageId, (set = new Set()));
    const done = () => ended.resolve(true);
    set.add(done);
    const timer = setTimeout(() => ended.resolve(false), timeoutMs);
    this.#bus.publish(EVENTS, { kind: 'cancel', m: messageId });
    try {
      return await ended.promise;
    } finally {
      clearTimeout(timer);
      set.delete(done);
      if (!set.size) this.#waiting.delete(messageId);
    }
  }

  /**
   * Relays the user's answer to a tool call waiting in another instance's reply; resolves
   * true once that instance took it, false when nobody did within `timeoutMs` (the call no
   * longer waits, or the instance is gone).
   */
  async answerApproval(messageId: string, callId: string, approve: boolean, timeoutMs = 3000): Promise<boolean> {
    if (!this.#bus.shared) return false;
    const key = `${messageId}/${callId}`;
    const taken = Promise.withResolvers<boolean>();
    let set = this.#approvals.get(key);
    if (!set) this.#approvals.set(key, (set = new Set()));
    const done = (ok: boolean) => taken.resolve(ok);
    set.add(done);
    const timer = setTimeout(() => taken.resolve(false), timeoutMs);
    this.#bus.publish(EVENTS, { kind: 'tool_approval', m: messageId, c: callId, a: approve });
    try {
      return await taken.promise;
    } finally {
      clearTimeout(timer);
      set.delete(done);
      if (!set.size) this.#approvals.delete(key);
    }
  }

  /** A reply ended here without its generation (its lease ran out): followers everywhere read the row. */
  announceEnded(messageId: string) {
    this.#bus.publish(REPLIES, { m: messageId, end: 1 });
  }

  // ── The instance generating a reply ────────────────────────────────────────

  #onEvent(p: Payload) {
    switch (p.kind) {
      case 'follow': {
        const g = this.#generations.get(String(p.m));
        if (g) this.#serve(g, Math.max(0, Number(p.from) || 0));
        return;
      }
      case 'cancel': {
        const g = this.#generations.get(String(p.m));
        if (!g) return;
        this.#serve(g, g.text.length); // so the canceller hears the end
        g.cancel();
        return;
      }
      case 'tool_approval': {
        const g = this.#generations.get(String(p.m));
        if (!g) return; // not ours (or already ended): the asking instance times out and answers 404
        const ok = g.answerApproval(String(p.c), p.a === true);
        this.#bus.publish(EVENTS, { kind: 'tool_approved', m: p.m, c: p.c, ok });
        return;
      }
      case 'tool_approved':
        for (const done of this.#approvals.get(`${String(p.m)}/${String(p.c)}`) ?? []) done(p.ok === true);
        return;
      case 'stop_thread':
        if (p.from !== this.#bus.instanceId) this.#generations.cancelThread(String(p.userId), String(p.threadId));
        return;
      case 'stop_user':
        if (p.from !== this.#bus.instanceId) this.#generations.cancelUser(String(p.userId));
        return;
      case 'session_ended':
        this.#streams.endSession(String(p.sessionId));
        return;
      case 'user_disabled':
        this.#generations.cancelUser(String(p.userId), 'account disabled');
        this.#streams.endUser(String(p.userId));
        return;
    }
  }

  #publishText(m: string, offset: number, text: string) {
    for (let i = 0; i < text.length; i += PIECE) this.#bus.publish(REPLIES, { m, o: offset + i, t: text.slice(i, i + PIECE) });
  }

  /** Relays `g` from character `from` on (its text so far, then live), once per reply. */
  #serve(g: Generation, from: number) {
    const known = this.#relayed.get(g.messageId);
    if (known) {
      // Already relayed: the text this follower lacks, then it hears the rest with the others.
      if (from < known.published) this.#publishText(g.messageId, from, g.text.slice(from, known.published));
      return;
    }
    const state = { published: 0 };
    this.#relayed.set(g.messageId, state);
    let first = true;
    g.attach(
      (event) => {
        if (event.event === 'delta') {
          if (first) {
            // The text so far (attach's catch-up): what this follower lacks.
            first = false;
            if (event.data.text.length > from) this.#publishText(g.messageId, from, event.data.text.slice(from));
            state.published = event.data.text.length;
            return;
          }
          this.#publishText(g.messageId, state.published, event.data.text);
          state.published += event.data.text.length;
        } else if (event.event === 'done' || event.event === 'error') {
          first = false;
          this.#bus.publish(REPLIES, { m: g.messageId, f: 1 });
        } else if (event.event === 'title') {
          this.#bus.publish(REPLIES, { m: g.messageId, e: event });
        } else if (event.event === 'start') {
          // nothing: the follower has the row
        }
      },
      () => {
        this.#relayed.delete(g.messageId);
        this.#bus.publish(REPLIES, { m: g.messageId, end: 1 });
      },
    );
  }

  // ── An instance following a reply generating elsewhere ────────────────────

  #onReply(p: Payload) {
    const m = String(p.m);
    if ((p.f || p.end) && this.#waiting.has(m)) for (const w of [...this.#waiting.get(m)!]) w();
    const set = this.#followers.get(m);
    if (!set) return;
    for (const f of [...set]) {
      if (typeof p.o === 'number' && typeof p.t === 'string') f.onPiece(p.o, p.t);
      if (p.f) f.onFinal();
      if (p.e) f.onEvent(p.e as ReplyEvent);
      if (p.end) f.onEnd();
    }
  }

  #reconnected() {
    for (const set of this.#followers.values()) for (const f of set) f.resync();
  }

  /**
   * Follows `message` (streaming, generated elsewhere) for one client: `start`, the
   * row's text, then each piece in order, the final event from the final row, then the
   * end. Returns the cleanup.
   */
  follow(userId: string, message: Message, send: Send, close: () => void): () => void {
    const id = message.id;
    let sent = message.content.length;
    let final = false;
    let ended = false; // `{end}` heard: close as soon as the final event is out
    let over = false;
    const held = new Map<number, string>();
    let askedAt = -1; // `sent` when we last asked because of a gap
    send({ event: 'start', data: { message: { ...message, content: '' } } });
    if (message.content) send({ event: 'delta', data: { id, text: message.content } });

    const ask = () => this.#bus.publish(EVENTS, { kind: 'follow', m: id, from: sent });
    const deliver = (o: number, t: string) => {
      if (final || o + t.length <= sent) return;
      send({ event: 'delta', data: { id, text: t.slice(sent - o) } });
      sent = o + t.length;
    };
    const stop = () => {
      if (over) return;
      over = true;
      clearInterval(check);
      clearTimeout(endTimer);
      this.#followers.get(id)?.delete(follower);
      if (!this.#followers.get(id)?.size) this.#followers.delete(id);
      close();
    };
    let endTimer: ReturnType<typeof setTimeout> | undefined;
    /**
     * The final row: what text is missing, then the final event. After `{f}` its instance
     * may still send events (a title) before `{end}`; found otherwise, the stream closes.
     */
    const readFinal = async (why: 'final' | 'end' | 'check') => {
      if (why === 'end') ended = true;
      const thenClose = why !== 'final' || ended;
      if (final) {
        if (why === 'end') stop(); // a check after `{f}` waits for `{end}` (or the bound)
        return;
      }
      const row = await getMessage(this.#sql, userId, id).catch(() => undefined);
      if (over) return;
      if (final) {
        if (ended) stop(); // `{end}` came while this read was under way
        return;
      }
      if (row === undefined) return; // the database is away: the next check tries again
      if (row === null) {
        final = true;
        send({ event: 'error', data: { message, error: { code: 'not_found', message: 'The reply was deleted' } } });
        return stop();
      }
      if (row.status === 'streaming') {
        if (why === 'end') ask(); // ended without a final row? ask again; the lease will settle it
        return;
      }
      if (row.content.length > sent) send({ event: 'delta', data: { id, text: row.content.slice(sent) } });
      sent = row.content.length;
      final = true;
      send(finalEventOf(row));
      if (thenClose || ended) return stop();
      // Events after the final one (a title) come next; the end closes. Bounded, should the end be lost.
      endTimer = setTimeout(stop, 20_000);
    };
    const follower: Follower = {
      onPiece(o, t) {
        if (o > sent) {
          held.set(o, t);
          // A gap: something was lost; ask once from where we are (the check asks again if it stays).
          if (askedAt !== sent) {
            askedAt = sent;
            ask();
          }
          return;
        }
        deliver(o, t);
        for (let again = true; again; ) {
          again = false;
          for (const [ho, ht] of held) {
            if (ho <= sent) {
              held.delete(ho);
              deliver(ho, ht);
              again = true;
            }
          }
        }
      },
      onFinal: () => void readFinal('final'),
      onEvent(e) {
        if (final) send(e);
      },
      onEnd: () => void readFinal('end'),
      resync() {
        ask();
        void readFinal('check');
      },
    };
    let set = this.#followers.get(id);
    if (!set) this.#followers.set(id, (set = new Set()));
    set.add(follower);
    ask();
    // The reply may have ended before our request arrived: read the row once our request is out.
    void this.#bus.flushed().then(() => readFinal('check'));
    const check = setInterval(() => {
      if (held.size) ask(); // a gap still open: our request or its answer was lost
      void readFinal('check');
    }, LEASE_CHECK_MS);
    return stop;
  }
}
