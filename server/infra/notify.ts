/**
 * The message bus between instances: PostgreSQL LISTEN/NOTIFY on real PostgreSQL, an
 * in-process bus on the embedded database (one process, nobody else to tell).
 *
 * One channel per purpose, each payload a small JSON object (NOTIFY caps a payload at
 * 8000 bytes: send ids and offsets, and text only in small pieces):
 *   parley_events   {kind, ...}: 'follow', 'cancel' (a reply on another instance),
 *                   'session_ended', 'user_disabled' (sent by triggers, see sql/), 'stop_thread', 'stop_user'
 *   parley_replies  a reply's deltas and end for instances following it (server/replies/relay.ts)
 *
 * Receiving: postgres.js keeps ONE dedicated LISTEN connection per `sql` and reconnects
 * it by itself (re-listening); `onReconnect` callbacks run after every reconnection, so
 * followers can catch up on what was sent while it was down. Publishing: payloads are
 * queued and sent in one statement per round trip, one round trip at a time, so an
 * instance's notifications arrive everywhere in the order it published them (PostgreSQL
 * delivers in commit order) and a burst costs one query, not one per payload.
 * Every instance hears its own notifications too: handlers must be idempotent.
 */
import postgres from 'postgres';
import type { Sql } from '../db';
import { log } from '../log';

export type Payload = Record<string, unknown>;
type Handler = (payload: Payload) => void;

export interface Bus {
  /** This process's id (also in every payload as `from`). */
  readonly instanceId: string;
  /** True when other instances can hear us (PostgreSQL); false for the in-process bus. */
  readonly shared: boolean;
  publish(channel: string, payload: Payload): void;
  /** Resolves once everything published so far was sent (or failed). */
  flushed(): Promise<void>;
  subscribe(channel: string, handler: Handler): () => void;
  /** Resolves once the channels subscribed so far are listened to (at start-up). */
  ready(): Promise<void>;
  onReconnect(handler: () => void): () => void;
  close(): Promise<void>;
}

export const EVENTS = 'parley_events';
export const REPLIES = 'parley_replies';

/** Largest payload we send (bytes of JSON), under PostgreSQL's 8000. */
export const MAX_PAYLOAD = 7000;

class Subscribers {
  #byChannel = new Map<string, Set<Handler>>();
  #reconnect = new Set<() => void>();

  add(channel: string, handler: Handler) {
    let set = this.#byChannel.get(channel);
    const first = !set;
    if (!set) this.#byChannel.set(channel, (set = new Set()));
    set.add(handler);
    return { first, remove: () => set!.delete(handler) };
  }

  dispatch(channel: string, payload: Payload) {
    for (const h of [...(this.#byChannel.get(channel) ?? [])]) {
      try {
        h(payload);
      } catch (error) {
        log.error('a bus handler failed', { channel, error: String(error) });
      }
    }
  }

  onReconnect(handler: () => void) {
    this.#reconnect.add(handler);
    return () => void this.#reconnect.delete(handler);
  }

  reconnected() {
    for (const h of [...this.#reconnect]) h();
  }
}

/** One process: payloads go straight to this process's subscribers (next microtask, like a round trip). */
export function localBus(): Bus {
  const subs = new Subscribers();
  const instanceId = crypto.randomUUID();
  return {
    instanceId,
    shared: false,
    publish(channel, payload) {
      const p = { ...payload, from: instanceId };
      queueMicrotask(() => subs.dispatch(channel, p));
    },
    flushed: () => Promise.resolve(),
    subscribe: (channel, handler) => subs.add(channel, handler).remove,
    ready: () => Promise.resolve(),
    onReconnect: (h) => subs.onReconnect(h),
    close: () => Promise.resolve(),
  };
}

/**
 * PostgreSQL LISTEN/NOTIFY: one dedicated listener connection (opened from `url`), kept
 * listening by a loop that re-issues LISTEN after any loss (database restart, network);
 * publishing goes through the app's pool (`sql`).
 */
export function postgresBus(sql: Sql, url: string): Bus {
  const subs = new Subscribers();
  const instanceId = crypto.randomUUID();
  const channels = new Set<string>();
  const queue: { channel: string; payload: string }[] = [];
  let sending: Promise<void> | null = null;
  let closed = false;
  const listened = new Set<string>(); // channels LISTENed on the current connection
  let lost = false; // the connection dropped since: subscribers must catch up
  const ready = Promise.withResolvers<void>();
  let retry: ReturnType<typeof setTimeout> | undefined;

  const listener = postgres(url, {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: 5,
    fetch_types: false,
    onnotice: () => {},
    // postgres.js calls it for every NOTIFY on this connection (its own `listen` uses it; not in its types).
    onnotify(channel: string, raw: string) {
      let payload: Payload;
      try {
        payload = JSON.parse(raw);
      } catch {
        return;
      }
      subs.dispatch(channel, payload);
    },
    onclose() {
      if (!listened.size) return;
      listened.clear();
      lost = true;
      schedule(250);
    },
  } as postgres.Options<{}>);

  let running: Promise<void> | null = null;
  const relisten = () => {
    retry = undefined;
    running ??= (async () => {
      try {
        for (;;) {
          const missing = [...channels].filter((c) => !listened.has(c));
          if (closed || !missing.length) return;
          for (const channel of missing) {
            await listener.unsafe(`listen "${channel.replace(/"/g, '""')}"`);
            listened.add(channel);
          }
          if (lost) subs.reconnected();
          lost = false;
          ready.resolve();
        }
      } catch {
        schedule(1000);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const schedule = (ms: number) => {
    if (closed || retry) return;
    retry = setTimeout(() => void relisten(), ms);
  };

  const send = async () => {
    while (queue.length && !closed) {
      const batch = queue.splice(0, 500);
      try {
        await sql`select pg_notify(c, p) from unnest(${batch.map((b) => b.channel)}::text[], ${batch.map((b) => b.payload)}::text[]) as x(c, p)`;
      } catch (error) {
        // The database is away: these are lost, and receivers notice the gap (offsets) and catch up.
        log.warn('could not publish to other instances', { count: batch.length, error: String(error) });
      }
    }
    sending = null;
  };

  return {
    instanceId,
    shared: true,
    publish(channel, payload) {
      if (closed) return;
      queue.push({ channel, payload: JSON.stringify({ ...payload, from: instanceId }) });
      sending ??= send();
    },
    flushed: () => sending ?? Promise.resolve(),
    subscribe(channel, handler) {
      const { remove } = subs.add(channel, handler);
      if (!channels.has(channel)) {
        channels.add(channel);
        void relisten();
      }
      return remove;
    },
    ready: () => ready.promise,
    onReconnect: (h) => subs.onReconnect(h),
    async close() {
      await (sending ?? Promise.resolve());
      closed = true;
      clearTimeout(retry);
      await listener.end({ timeout: 1 }).catch(() => {});
    },
  };
}
