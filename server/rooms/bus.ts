/**
 * How a room's events reach every instance: the app's bus (server/infra/notify.ts:
 * LISTEN/NOTIFY on PostgreSQL, reconnecting by itself; in-process on the embedded
 * database) on the channel `parley_rooms`. A write publishes a small note after its
 * transaction; each instance hands it to its hub for that room (hub.ts), which reads
 * the data from the tables unless it fits in the note (a delta's few words).
 */
import { MAX_PAYLOAD, type Bus } from '../infra/notify';
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
  /** After the bus reconnected (notes may have been missed meanwhile). */
  onReconnect(handler: () => void): () => void;
}

export const ROOMS_CHANNEL = 'parley_rooms';

/** The rooms' view of the app bus: one subscription to the channel, dispatched by room. */
export function createRoomBus(bus: Bus): RoomBus {
  const byRoom = new Map<string, Set<(note: RoomNote) => void>>();
  // Subscribed at once, so the channel is listened to with the others at start-up.
  bus.subscribe(ROOMS_CHANNEL, (payload) => {
    const note = payload as unknown as RoomNote;
    for (const listener of [...(byRoom.get(note.room) ?? [])]) {
      try {
        listener(note);
      } catch (error) {
        log.warn('a room listener failed', { error: String(error) });
      }
    }
  });
  return {
    async publish(note) {
      const fits = JSON.stringify(note).length <= MAX_PAYLOAD - 100;
      bus.publish(ROOMS_CHANNEL, fits || note.k !== 'd' ? note : { ...note, text: undefined });
    },
    subscribe(roomId, listener) {
      let set = byRoom.get(roomId);
      if (!set) byRoom.set(roomId, (set = new Set()));
      set.add(listener);
      return () => {
        set!.delete(listener);
        if (!set!.size) byRoom.delete(roomId);
      };
    },
    ready: () => bus.ready(),
    onReconnect: (handler) => bus.onReconnect(handler),
  };
}
