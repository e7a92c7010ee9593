/**
 * One reader per room per instance: the bus's notes for a room are turned into events
 * once, here, and fanned out to every stream of that room this instance serves. A note
 * that says "message N changed" costs one query per instance, not one per stream; a
 * delta that follows on from the last seq is passed on as it is; anything out of order
 * (a note lost while the LISTEN connection was re-made) is repaired by reading the table
 * from the last seq this hub delivered.
 */
import type { Sql } from '../db';
import type { RoomBus, RoomNote } from './bus';
import type { RoomEvent } from './model';
import * as q from './queries';

/** What a stream receives: a room event with its seq (ephemeral events carry the current one), or the end. */
export type HubEvent = { kind: 'event'; event: RoomEvent; id?: number } | { kind: 'gone'; userId?: string };
type Listener = (e: HubEvent) => void;

interface Hub {
  last: number;
  listeners: Set<Listener>;
  chain: Promise<void>;
  unsubscribe: () => void;
}

export class RoomHubs {
  private readonly hubs = new Map<string, Hub>();
  constructor(
    private readonly sql: Sql,
    private readonly bus: RoomBus,
  ) {
    // Notes sent while the LISTEN connection was down are lost: read what changed meanwhile.
    bus.onReconnect(() => {
      for (const [roomId, hub] of this.hubs) {
        hub.chain = hub.chain.then(() => this.catchUp(roomId, hub)).catch(() => {});
      }
    });
  }

  /** Listens to the room; resolves once notes are flowing (so a catch-up read after it misses nothing). */
  async join(roomId: string, listener: Listener): Promise<() => void> {
    let hub = this.hubs.get(roomId);
    if (!hub) {
      const created: Hub = { last: 0, listeners: new Set(), chain: Promise.resolve(), unsubscribe: () => {} };
      hub = created;
      this.hubs.set(roomId, created);
      created.unsubscribe = this.bus.subscribe(roomId, (note) => {
        created.chain = created.chain.then(() => this.handle(roomId, created, note)).catch(() => {});
      });
      // The starting point: notes queue behind this, so none is judged against a stale seq.
      created.chain = created.chain.then(async () => {
        await this.bus.ready();
        created.last = (await q.roomSeq(this.sql, roomId)) ?? 0;
      });
    }
    hub.listeners.add(listener);
    await hub.chain;
    const h = hub;
    return () => {
      h.listeners.delete(listener);
      if (!h.listeners.size && this.hubs.get(roomId) === h) {
        h.unsubscribe();
        this.hubs.delete(roomId);
      }
    };
  }

  private emit(hub: Hub, e: HubEvent) {
    for (const l of hub.listeners) l(e);
  }

  private async handle(roomId: string, hub: Hub, note: RoomNote) {
    if (note.k === 'g') return this.emit(hub, { kind: 'gone', userId: note.userId });
    if (note.k === 'p') {
      return this.emit(hub, {
        kind: 'event',
        event: { event: 'presence', data: { seq: hub.last, userId: note.userId, name: note.name, online: note.online } },
      });
    }
    if (note.k === 't') {
      return this.emit(hub, { kind: 'event', event: { event: 'typing', data: { seq: hub.last, userId: note.userId, name: note.name } } });
    }
    if (note.seq <= hub.last) return;
    if (note.k === 'd' && note.seq === hub.last + 1 && note.text !== undefined) {
      hub.last = note.seq;
      return this.emit(hub, { kind: 'event', event: { event: 'delta', data: { seq: note.seq, id: note.id, text: note.text } }, id: note.seq });
    }
    await this.catchUp(roomId, hub, note.k === 'm' ? note.id : undefined);
  }

  /** Everything changed after the hub's last seq, from the table, in order; `doneId`'s end is a `done`. */
  private async catchUp(roomId: string, hub: Hub, doneId?: string) {
    for (;;) {
      const rows = await q.changesSince(this.sql, roomId, hub.last, 500);
      for (const message of rows) {
        hub.last = Math.max(hub.last, message.seq);
        const finished =
          message.id === doneId && message.role === 'assistant' && (message.status === 'complete' || message.status === 'error');
        this.emit(hub, { kind: 'event', event: { event: finished ? 'done' : 'message', data: { seq: message.seq, message } }, id: message.seq });
      }
      if (rows.length < 500) return;
    }
  }
}
