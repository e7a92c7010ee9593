/**
 * The local mirror's database: one IndexedDB database per account, `parley-<userId>`, so
 * one account's code never opens another's data, and signing out deletes the whole thing
 * (security item 13). Plain TypeScript without runes: the service worker imports it too.
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Attachment, Message, Thread, User } from '$lib/types';

export const DB_PREFIX = 'parley-';
const VERSION = 1;

/** A message written while the network was gone, waiting to be posted (same `id` on every try). */
export interface OutboxEntry {
  /** The client-made UUID the message is posted with: the server deduplicates on it. */
  id: string;
  threadId: string;
  content: string;
  /** Absent: after the thread's latest message when it is sent (the reply to the one before it). */
  parentId?: string | null;
  createdAt: string;
  attachments?: { id: string }[];
  /** Why the server refused it (4xx): kept so the user can read it and remove the message. */
  error?: string;
}

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

export interface MirrorSchema extends DBSchema {
  threads: { key: string; value: Thread };
  messages: { key: string; value: Message; indexes: { threadId: string } };
  outbox: { key: string; value: OutboxEntry };
  files: { key: string; value: FileRecord; indexes: { threadId: string } };
  /** 'cursor' (the sync cursor), 'complete' (a sync reached the end once), 'user' (the profile, for offline starts). */
  meta: { key: string; value: unknown };
}

export type MirrorDB = IDBPDatabase<MirrorSchema>;

export const dbName = (userId: string) => `${DB_PREFIX}${userId}`;

/** Opens (creating on first use) an account's database. */
export function openMirrorDB(userId: string): Promise<MirrorDB> {
  return openDB<MirrorSchema>(dbName(userId), VERSION, {
    upgrade(db) {
      db.createObjectStore('threads', { keyPath: 'id' });
      db.createObjectStore('messages', { keyPath: 'id' }).createIndex('threadId', 'threadId');
      db.createObjectStore('outbox', { keyPath: 'id' });
      db.createObjectStore('files', { keyPath: 'id' }).createIndex('threadId', 'threadId');
      db.createObjectStore('meta');
    },
    // Another tab (or the worker) wants to delete it (sign-out): let go at once.
    blocking(_current, _next, event) {
      (event.target as IDBDatabase).close();
    },
  });
}

/**
 * Opens an account's database only if it exists (the service worker must never create one:
 * a database made after sign-out would outlive the wipe).
 */
export async function openExistingMirrorDB(name: string): Promise<MirrorDB | null> {
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

/** Deletes mirror databases (all of them, or all but one account's). Resolves once gone. */
export async function deleteMirrorDBs(keepUserId?: string): Promise<void> {
  const names = await mirrorNames().catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => !keepUserId || n !== dbName(keepUserId))
      .map((n) => deleteDB(n, { blocked: () => {} }).catch(() => {})),
  );
}

/** Image attachments are what the mirror keeps bytes for. */
export const isImage = (a: Attachment) => !!a.id && (a.mime ?? '').startsWith('image/');

export type { User };
