/**
 * The local mirror's database: one IndexedDB database per account, `parley-<userId>`, so
 * one account's code never opens another's data, and signing out deletes the whole thing
 * (security item 13). Plain TypeScript without runes: the service worker imports it too.
 */
import { deleteDB, openDB, unwrap, type DBSchema, type IDBPDatabase } from 'idb';
import type { User } from '$server/auth/model';
import type { PostMessageBody } from '$server/replies/model';
import type { Attachment, CreateThreadBody, Message, Thread } from '$server/threads/model';
import type { Folder } from '$server/folders/model';
import type { Member, Room, RoomMessage } from '$server/rooms/model';

export const DB_PREFIX = 'parley-';
const VERSION = 3;

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

/** Transactions begun on this page's mirror connections (the upgrade included) and not yet over. */
const unfinished = new Set<IDBTransaction>();

function track(tx: IDBTransaction): IDBTransaction {
  unfinished.add(tx);
  const over = () => unfinished.delete(tx);
  tx.addEventListener('complete', over);
  tx.addEventListener('abort', over);
  return tx;
}

/** Every transaction of this connection (idb's shortcuts included: they call `transaction`) is tracked. */
function tracked(db: MirrorDB): MirrorDB {
  const native = unwrap(db) as IDBDatabase;
  const begin = native.transaction;
  native.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    return track(begin.apply(this, args));
  } as IDBDatabase['transaction'];
  return db;
}

/**
 * Aborts what this page's mirror connections have not finished. Called when the page goes into
 * the back/forward cache: WebKit suspends such a page with its transactions (even a database
 * upgrade) still open, and every other page of the app then waits behind them for good: the
 * mirror never opens, or its writes never end (a new chat's message never leaves). What was
 * aborted is written again by the next sync; the outbox entry of a send cut short is kept by
 * the request that is still on its way, or typed again.
 */
export function abortUnfinished(): void {
  for (const tx of unfinished) {
    try {
      tx.abort();
    } catch {
      // Already committing or over.
    }
  }
  unfinished.clear();
}

/**
 * Opens (creating on first use) an account's database. `onClose` hears when it had to let go
 * (another tab or the worker deletes it at sign-out).
 */
export async function openMirrorDB(userId: string, onClose?: () => void): Promise<MirrorDB> {
  const open = () =>
    openDB<MirrorSchema>(dbName(userId), VERSION, {
      upgrade(db, _old, _new, transaction) {
        track(unwrap(transaction) as IDBTransaction);
        const has = (name: string) => db.objectStoreNames.contains(name as never);
        if (!has('threads')) db.createObjectStore('threads', { keyPath: 'id' });
        if (!has('messages')) db.createObjectStore('messages', { keyPath: 'id' }).createIndex('threadId', 'threadId');
        if (!has('outbox')) db.createObjectStore('outbox', { keyPath: 'id' });
        if (!has('files')) db.createObjectStore('files', { keyPath: 'id' }).createIndex('threadId', 'threadId');
        if (!has('meta')) db.createObjectStore('meta');
        if (!has('folders')) db.createObjectStore('folders', { keyPath: 'id' });
        if (!has('rooms')) db.createObjectStore('rooms', { keyPath: 'id' });
        if (!has('roomMessages')) db.createObjectStore('roomMessages', { keyPath: 'id' }).createIndex('roomId', 'roomId');
      },
      blocking(_current, _next, event) {
        (event.target as IDBDatabase).close();
        onClose?.();
      },
      terminated: () => onClose?.(),
    });
  const db = tracked(await open());
  if (db.objectStoreNames.contains('meta')) return db;
  // Made empty by someone who only meant to look (at this version, without our stores): start over.
  db.close();
  await deleteDB(dbName(userId));
  return tracked(await open());
}

/**
 * Opens an account's database only if it exists (the service worker must never create one:
 * a database made after sign-out would outlive the wipe).
 */
export async function openExistingMirrorDB(name: string): Promise<MirrorDB | null> {
  if (!(await mirrorNames()).includes(name)) return null;
  const db = await openDB<MirrorSchema>(name, undefined, {
    blocking(_current, _next, event) {
      (event.target as IDBDatabase).close();
    },
  });
  if (!db.objectStoreNames.contains('outbox')) {
    db.close();
    await deleteDB(name);
    return null;
  }
  return db;
}

/** Every mirror database in this browser profile (all accounts). */
export async function mirrorNames(): Promise<string[]> {
  if (typeof indexedDB === 'undefined' || !indexedDB.databases) return [];
  const all = await indexedDB.databases();
  return all.map((d) => d.name ?? '').filter((n) => n.startsWith(DB_PREFIX));
}

/**
 * Deletes mirror databases (all of them, or all but one account's). Resolves once gone, or
 * after a few seconds at most: another tab may hold one open (its deletion then completes as
 * soon as that tab lets go, as every connection does when asked, see `blocking`), and while
 * the browser applies the server's Clear-Site-Data even listing databases can wait.
 */
export async function deleteMirrorDBs(keepUserId?: string): Promise<void> {
  const work = (async () => {
    const names = await mirrorNames().catch(() => [] as string[]);
    await Promise.all(names.filter((n) => !keepUserId || n !== dbName(keepUserId)).map((n) => deleteDB(n).catch(() => {})));
  })();
  await Promise.race([work, new Promise((resolve) => setTimeout(resolve, 3000))]);
}

/** Image attachments are what the mirror keeps bytes for. */
export const isImage = (a: Attachment) => !!a.id && (a.mime ?? '').startsWith('image/');

export type { User };
