/**
 * The local mirror's database: one IndexedDB database per account, `parley-<userId>`, so
 * one account's code never opens another's data, and signing out deletes the whole thing
 * (security item 13). Plain TypeScript without runes: the service worker imports it too.
 *
 * This file is the databases' shape and names. The code that opens and deletes them (store.ts,
 * with the idb library) is a chunk of its own (LAZY in web/vite.config.ts), loaded when the
 * first mirror opens: a thread's first screen shows the server's answer without waiting for it.
 */
import type { DBSchema, IDBPDatabase } from 'idb';
import type { User } from '$server/auth/model';
import type { PostMessageBody } from '$server/replies/model';
import type { Attachment, CreateThreadBody, Message, Thread } from '$server/threads/model';
import type { Folder } from '$server/folders/model';
import type { Member, Room, RoomMessage } from '$server/rooms/model';

export const DB_PREFIX = 'parley-';
/** The databases' version (store.ts's upgrade makes their stores). */
export const VERSION = 3;

/** A message written while the network was gone, waiting to be posted (same `id` on every try). */
/**
 * The body it is posted with (`id` is the client-made UUID the server deduplicates on; no
 * `parentId`: after the thread's latest message when it is sent), plus what the page needs.
 */
export interface OutboxEntry extends Omit<PostMessageBody, 'model'> {
  /** The thread; for a room message, `room:<roomId>` (its own chain: sent in order, apart from threads). */
  threadId: string;
  /** A message for a room (POST /api/rooms/:id/messages, idempotent on `id`), not a thread. */
  roomId?: string;
  createdAt: string;
  /** Why the server refused it (4xx): kept so the user can read it and remove the message. */
  error?: string;
  /**
   * Its thread was started on this device and may not exist on the server yet (a new chat
   * written offline): it is created first, with `threadId` as its id (POST /api/threads is
   * idempotent per id, so every entry of that thread can carry it and a retry, another tab
   * or the worker never makes two).
   */
  newThread?: NewThreadBody;
}

/** How a chat started on this device is created on the server (its id is the entry's threadId). */
export type NewThreadBody = Omit<CreateThreadBody, 'id'>;

/** An image of a mirrored message: its bytes once fetched (null until then, or when skipped). */
export interface FileRecord {
  id: string;
  threadId: string;
  mime: string;
  size: number;
  /** When the message carrying it was written: the newest images are fetched first. */
  createdAt: string;
  blob: Blob | null;
  /** Not fetched: larger than the per-image cap, or the total cap was reached. */
  skipped?: boolean;
}

/** A room kept for offline reading (lib/rooms/offline.ts): as last listed, and its messages' state. */
export interface MirroredRoom {
  id: string;
  room: Room;
  /** The room's seq the mirrored messages are current to (a live stream resumes from it); 0: none yet. */
  seq: number;
  members: Member[];
}

export interface MirrorSchema extends DBSchema {
  rooms: { key: string; value: MirroredRoom };
  /** The newest messages of each mirrored room (lib/rooms/offline.ts keeps the last 200). */
  roomMessages: { key: string; value: RoomMessage; indexes: { roomId: string } };
  threads: { key: string; value: Thread };
  folders: { key: string; value: Folder };
  messages: { key: string; value: Message; indexes: { threadId: string } };
  outbox: { key: string; value: OutboxEntry };
  files: { key: string; value: FileRecord; indexes: { threadId: string } };
  /** 'cursor' (the sync cursor), 'complete' (a sync reached the end once), 'user' (the profile, for offline starts). */
  meta: { key: string; value: unknown };
}

export type MirrorDB = IDBPDatabase<MirrorSchema>;

export const dbName = (userId: string) => `${DB_PREFIX}${userId}`;

let store: typeof import('./store') | undefined;
/** store.ts, loaded on first use (the service worker imports it directly). */
export async function loadStore(): Promise<typeof import('./store')> {
  return (store ??= await import('./store'));
}

/**
 * Deletes mirror databases (all of them, or all but one account's), loading the store's code if
 * no mirror has yet. Resolves once gone, or after a few seconds at most: another tab may hold one
 * open (its deletion then completes as soon as that tab lets go, as every connection does when
 * asked), and while the browser applies the server's Clear-Site-Data even listing databases can
 * wait. Should the code not load (no network, no worker), Clear-Site-Data at sign-out still wipes them.
 */
export async function deleteMirrorDBs(keepUserId?: string): Promise<void> {
  const work = loadStore().then((store) => store.deleteMirrorDBs(keepUserId));
  await Promise.race([work.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 3000))]);
}

/** store.ts's abortUnfinished, at once: before the store has loaded, no transaction can have begun. */
export function abortUnfinished(): void {
  store?.abortUnfinished();
}

/** Image attachments are what the mirror keeps bytes for. */
export const isImage = (a: Attachment) => !!a.id && (a.mime ?? '').startsWith('image/');

export type { User };
