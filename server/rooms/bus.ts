/**
 * How a room's events reach every instance. On PostgreSQL, one LISTEN connection
 * per instance on the channel `parley_rooms` (postgres.js keeps it open and
 * reconnects it); a write publishes a small note with `pg_notify` after its
 * transaction, and each instance hands it to the streams of that room it serves.
 * The data itself is read from the tables unless it fits in the note (a delta's
 * few words). With the embedded database there is one process: an in-process bus.
 */
import type { Sql } from '../db';
import { log } from '../log';

export type RoomNote =
  /** A message changed (new, finished, removed): read it from the table at `seq`. */
  | { k: 'm'; room: string; seq: number; id: string }
  /** Streamed text appended at `seq` (absent text: too long for a note, read the row). */
  | { k: 'd'; room: string; seq: number; id: string; text?: string }
  | { k: 'p'; room: string; userId: string; name: string; online: boolean }
  | { k: 't'; room: string; userId: string; name: string }
  /** Someone lost access (removed; no userId: the room was deleted): their streams end. */
  | { k: 'g'; room: string; userId?: string };

export interface RoomBus {
  publish(note: RoomNote): Promise<void>;
  subscribe(roomId: string, listener: (note: RoomNote) => void): () => void;
  /** Resolves once notes published from now on will be delivered (the LISTEN is in place). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL = 'parley_rooms';
/** NOTIFY payloads are limited to 8000 bytes; keep well under. */
const MAX_NOTE = 6000;

class LocalListeners {
  private readonly byRoom = new Map<string, Set<(note: RoomNote) => void>>();
  subscribe(roomId: string, listener: (note: RoomNote) => void) {
    let set = this.byRoom.get(roomId);
    if (!set) this.byRoom.set(roomId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (!set!.size) this.byRoom.delete(roomId);
    };
  }
  deliver(note: RoomNote) {
    for (const listener of this.byRoom.get(note.room) ?? []) {
      try {
        listener(note);
      } catch (error) {
        log.warn('a room listener failed', { error: String(error) });
      }
    }
  }
}

/** The bus for this database: LISTEN/NOTIFY on a server, in-process on the embedded one. */
export function createRoomBus(sql: Sql, embedded: boolean): RoomBus {
  const local = new LocalListeners();
  if (embedded) {
    return {
      async publish(note) {
        queueMicrotask(() => local.deliver(note));
      },
      subscribe: (roomId, listener) => local.subscribe(roomId, listener),
      async ready() {},
      async close() {},
    };
  }
  let listening: Promise<{ unlisten(): Promise<void> }> | null = null;
  const listen = () => {
    listening ??= sql
      .listen(CHANNEL, (payload) => {
        try {
          local.deliver(JSON.parse(payload) as RoomNote);
        } catch {
          /* not ours */
        }
      })
      .catch((error: unknown) => {
        listening = null;
        throw error;
      });
    return listening;
  };
  return {
    async publish(note) {
      let payload = JSON.stringify(note);
      if (payload.length > MAX_NOTE && note.k === 'd') payload = JSON.stringify({ ...note, text: undefined });
      await listen();
      await sql`select pg_notify(${CHANNEL}, ${payload})`;
    },
    subscribe(roomId, listener) {
      void listen().catch((error) => log.warn('room events: LISTEN failed', { error: String(error) }));
      return local.subscribe(roomId, listener);
    },
    async ready() {
      await listen();
    },
    async close() {
      if (listening) await (await listening.catch(() => null))?.unlisten().catch(() => {});
    },
  };
}
