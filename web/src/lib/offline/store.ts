/**
 * Opening, listing and deleting the mirror databases (db.ts has their shape and names): the
 * idb library's part of the offline engine. A chunk of its own, loaded by the first mirror to
 * open (db.ts's loadStore); the service worker imports it directly.
 */
import { deleteDB, openDB, unwrap } from 'idb';
import { DB_PREFIX, dbName, VERSION, type MirrorDB, type MirrorSchema } from './db';

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
 * Deletes mirror databases (all of them, or all but one account's). It may never resolve while
 * another tab holds one open, or while the browser applies the server's Clear-Site-Data: call it
 * through db.ts's deleteMirrorDBs, which waits a few seconds at most.
 */
export async function deleteMirrorDBs(keepUserId?: string): Promise<void> {
  const names = await mirrorNames().catch(() => [] as string[]);
  await Promise.all(names.filter((n) => !keepUserId || n !== dbName(keepUserId)).map((n) => deleteDB(n).catch(() => {})));
}
