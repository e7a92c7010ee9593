/**
 * Rooms kept on this device for offline reading, in the account's mirror (offline/db.ts,
 * stores `rooms` and `roomMessages`): the rooms list as last fetched, and for each room
 * the user is in, its newest messages (KEEP), its members and the room `seq` those
 * messages are current to. An open room (room.svelte.ts) saves what its live stream
 * brought; a list fetch brings rooms whose seq moved up to date (`refreshRooms`). Opened
 * offline, a room shows this copy, and its stream resumes from the saved seq when the
 * network is back: no gap, no duplicate. Loaded lazily (vite.config.ts LAZY): the first
 * screen never pays for it.
 */
import type { Mirror } from '$lib/offline/mirror';
import type { IDBPTransaction } from 'idb';
import type { MirroredRoom, MirrorSchema } from '$lib/offline/db';
import { roomsApi, type Member, type Room, type RoomMessage } from './api';

/** Messages kept per room. */
export const KEEP = 200;

export interface SavedRoom {
  room: Room;
  seq: number;
  members: Member[];
  /** Oldest first. */
  messages: RoomMessage[];
}

/** The rooms as last listed. */
export async function savedRooms(mirror: Mirror): Promise<Room[]> {
  const db = await mirror.db();
  return ((await db?.getAll('rooms')) ?? []).map((r) => r.room);
}

/**
 * A fresh list from the server: each room's description is replaced (its messages kept), and
 * rooms no longer listed (deleted, or left) go with their messages.
 */
export async function saveRoomList(mirror: Mirror, rooms: Room[]) {
  const db = await mirror.db();
  if (!db) return;
  const tx = db.transaction(['rooms', 'roomMessages'], 'readwrite');
  const store = tx.objectStore('rooms');
  const listed = new Set(rooms.map((r) => r.id));
  const work: Promise<unknown>[] = [];
  for (const known of await store.getAll()) if (!listed.has(known.id)) work.push(dropRoom(tx, known.id));
  for (const room of rooms) {
    work.push(
      store.get(room.id).then((known) => store.put({ id: room.id, room, seq: known?.seq ?? 0, members: known?.members ?? [] })),
    );
  }
  await Promise.all([...work, tx.done]);
}

/** A room's saved copy, or null when this device has none. */
export async function savedRoom(mirror: Mirror, id: string): Promise<SavedRoom | null> {
  const db = await mirror.db();
  const known = await db?.get('rooms', id);
  if (!db || !known) return null;
  const messages = await db.getAllFromIndex('roomMessages', 'roomId', id);
  return { room: known.room, seq: known.seq, members: known.members, messages: order(messages) };
}

/**
 * Saves an open room's state: the newest KEEP of `messages` (all of them current to `seq`),
 * replacing what was kept; older ones go.
 */
export async function saveRoom(mirror: Mirror, state: SavedRoom) {
  const db = await mirror.db();
  if (!db) return;
  const id = state.room.id;
  const keep = order(state.messages).slice(-KEEP);
  const tx = db.transaction(['rooms', 'roomMessages'], 'readwrite');
  const messages = tx.objectStore('roomMessages');
  const keepIds = new Set(keep.map((m) => m.id));
  const stored = await messages.index('roomId').getAllKeys(id);
  const work: Promise<unknown>[] = stored.filter((k) => !keepIds.has(k)).map((k) => messages.delete(k));
  for (const m of keep) work.push(messages.put(m));
  const record: MirroredRoom = { id, room: state.room, seq: state.seq, members: state.members };
  work.push(tx.objectStore('rooms').put(record));
  await Promise.all([...work, tx.done]);
}

/** The room is gone for this account (deleted, removed from it): its copy goes too. */
export async function forgetRoom(mirror: Mirror, id: string) {
  const db = await mirror.db();
  if (!db) return;
  const tx = db.transaction(['rooms', 'roomMessages'], 'readwrite');
  await Promise.all([dropRoom(tx, id), tx.done]);
}

/**
 * After a list fetch: each room the user is in whose seq moved past the saved copy gets its
 * newest messages (one request per room, one room at a time, in the background).
 */
export async function refreshRooms(mirror: Mirror, rooms: Room[], skip?: string) {
  for (const room of rooms) {
    if (!room.joined || room.id === skip || mirror.closed) continue;
    const known = await savedRoom(mirror, room.id);
    if (known && known.seq >= room.seq) continue;
    try {
      // The list (read before this page) gave the seq: the page holds at least everything up to it.
      const [page, { members }] = await Promise.all([roomsApi.messages(room.id, null, KEEP), roomsApi.members(room.id)]);
      await saveRoom(mirror, { room, seq: room.seq, members, messages: page.messages });
    } catch {
      return; // offline again, or the room went: the next list fetch tries again
    }
  }
}

async function dropRoom(tx: IDBPTransaction<MirrorSchema, ('rooms' | 'roomMessages')[], 'readwrite'>, id: string) {
  const messages = tx.objectStore('roomMessages');
  const keys = await messages.index('roomId').getAllKeys(id);
  await Promise.all([tx.objectStore('rooms').delete(id), ...keys.map((k) => messages.delete(k))]);
}

/** Oldest first, by creation time then id (as the server pages them). */
export function order(messages: RoomMessage[]) {
  return [...messages].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}
