/**
 * One account's local copy of its threads and messages (plus the outbox and mirrored
 * images), over the database in db.ts. Reads answer the screens at once; writes come from
 * /api/sync pages, each applied in one transaction with its cursor, so the copy is never
 * half a page ahead of the cursor it records.
 *
 * `close()` makes every later call a no-op: a sync or a flush still in flight when the
 * account signs out must not write into (and so re-create) a wiped database.
 */
import type { User } from '$server/auth/model';
import type { SyncPage } from '$server/sync/model';
import type { Attachment, Message, Thread } from '$server/threads/model';
import type { Folder } from '$server/folders/model';
import type { IDBPTransaction } from 'idb';
import { sortOutbox } from './outbox';
import { isImage, loadStore, type FileRecord, type MirrorDB, type MirrorSchema, type OutboxEntry } from './db';

export type { SyncPage };

export interface MirrorCounts {
  threads: number;
  messages: number;
  files: number;
  fileBytes: number;
  outbox: number;
}

const attachmentSize = (a: Attachment) => Number((a as { size?: unknown }).size ?? 0) || 0;

export class Mirror {
  readonly userId: string;
  #db: Promise<MirrorDB | null>;
  #closed = false;

  constructor(userId: string) {
    this.userId = userId;
    this.#db = loadStore()
      .then((store) =>
        store.openMirrorDB(userId, () => {
          this.#closed = true;
        }),
      )
      .catch(() => null);
  }

  get closed() {
    return this.#closed;
  }

  /** The database, or null once closed (or when IndexedDB is unavailable, e.g. private modes). */
  async db(): Promise<MirrorDB | null> {
    const db = await this.#db;
    return this.#closed ? null : db;
  }

  async close() {
    this.#closed = true;
    (await this.#db)?.close();
  }

  // ---- reads ----

  async threads(): Promise<Thread[]> {
    return (await (await this.db())?.getAll('threads')) ?? [];
  }

  async folders(): Promise<Folder[]> {
    return (await (await this.db())?.getAll('folders')) ?? [];
  }

  /** Every mirrored message (offline search indexes them). */
  async allMessages(): Promise<Message[]> {
    return (await (await this.db())?.getAll('messages')) ?? [];
  }

  async putFolder(folder: Folder) {
    await (await this.db())?.put('folders', folder);
  }

  async deleteFolder(id: string) {
    await (await this.db())?.delete('folders', id);
  }

  async thread(id: string): Promise<Thread | undefined> {
    return (await this.db())?.get('threads', id);
  }

  async messages(threadId: string): Promise<Message[]> {
    return (await (await this.db())?.getAllFromIndex('messages', 'threadId', threadId)) ?? [];
  }

  async meta<T>(key: string): Promise<T | undefined> {
    return (await (await this.db())?.get('meta', key)) as T | undefined;
  }

  async setMeta(key: string, value: unknown) {
    await (await this.db())?.put('meta', value, key);
  }

  /** Whether a sync has reached the end at least once: the copy then holds everything. */
  async complete(): Promise<boolean> {
    return (await this.meta<boolean>('complete')) === true;
  }

  async cursor(): Promise<string> {
    return (await this.meta<string>('cursor')) ?? '0';
  }

  async user(): Promise<User | undefined> {
    return this.meta<User>('user');
  }

  async counts(): Promise<MirrorCounts> {
    const db = await this.db();
    if (!db) return { threads: 0, messages: 0, files: 0, fileBytes: 0, outbox: 0 };
    let files = 0;
    let fileBytes = 0;
    for (const f of await db.getAll('files')) {
      if (!f.blob) continue;
      files++;
      fileBytes += f.blob.size;
    }
    return {
      threads: await db.count('threads'),
      messages: await db.count('messages'),
      files,
      fileBytes,
      outbox: await db.count('outbox'),
    };
  }

  // ---- sync ----

  /** One /api/sync page: upserts, then tombstones (a thread's messages and images go with it), then the cursor. */
  async apply(page: SyncPage) {
    const db = await this.db();
    if (!db) return;
    const work0: Promise<unknown>[] = [];
    // Relaxed: a page lost to a crash before it reached the disk is fetched again (its cursor went with it).
    const tx = db.transaction(['threads', 'messages', 'files', 'meta', 'folders'], 'readwrite', { durability: 'relaxed' });
    const threads = tx.objectStore('threads');
    const folders = tx.objectStore('folders');
    for (const f of page.folders ?? []) work0.push(folders.put(f));
    for (const id of page.deletedFolderIds ?? []) work0.push(folders.delete(id));
    const messages = tx.objectStore('messages');
    const files = tx.objectStore('files');
    const work: Promise<unknown>[] = work0;
    for (const t of page.threads) work.push(threads.put(t));
    for (const m of page.messages) {
      work.push(messages.put(m));
      for (const a of m.attachments ?? []) {
        if (!isImage(a)) continue;
        // Known images get a record without bytes; files.ts fetches them after the sync.
        work.push(
          files.get(a.id!).then((known) =>
            known
              ? undefined
              : files.put({ id: a.id!, threadId: m.threadId, mime: a.mime!, size: attachmentSize(a), createdAt: m.createdAt, blob: null }),
          ),
        );
      }
    }
    for (const id of page.deletedThreadIds) {
      work.push(threads.delete(id));
      work.push(deleteByThread(tx, 'messages', id));
      work.push(deleteByThread(tx, 'files', id));
    }
    work.push(tx.objectStore('meta').put(page.cursor, 'cursor'));
    if (!page.more) work.push(tx.objectStore('meta').put(true, 'complete'));
    await Promise.all([...work, tx.done]);
  }

  /** A thread the app created or learned about outside a sync (shown offline before the next sync). */
  async putThread(thread: Thread) {
    await (await this.db())?.put('threads', thread);
  }

  async deleteThread(id: string) {
    const db = await this.db();
    if (!db) return;
    const tx = db.transaction(['threads', 'messages', 'files', 'meta'], 'readwrite');
    await Promise.all([tx.objectStore('threads').delete(id), deleteByThread(tx, 'messages', id), deleteByThread(tx, 'files', id), tx.done]);
  }

  /** "Remove offline copy": threads, messages, images, rooms and the cursor go; the outbox stays (it is unsent writing). */
  async clearCopy() {
    const db = await this.db();
    if (!db) return;
    const tx = db.transaction(['threads', 'messages', 'files', 'meta', 'folders', 'rooms', 'roomMessages'], 'readwrite');
    await Promise.all([
      tx.objectStore('rooms').clear(),
      tx.objectStore('roomMessages').clear(),
      tx.objectStore('folders').clear(),
      tx.objectStore('threads').clear(),
      tx.objectStore('messages').clear(),
      tx.objectStore('files').clear(),
      tx.objectStore('meta').delete('cursor'),
      tx.objectStore('meta').delete('complete'),
      tx.done,
    ]);
  }

  // ---- outbox ----

  async outbox(): Promise<OutboxEntry[]> {
    return sortOutbox((await (await this.db())?.getAll('outbox')) ?? []);
  }

  async queue(entry: OutboxEntry) {
    await (await this.db())?.put('outbox', entry);
  }

  async unqueue(id: string) {
    await (await this.db())?.delete('outbox', id);
  }

  // ---- images ----

  async file(id: string): Promise<FileRecord | undefined> {
    return (await this.db())?.get('files', id);
  }

  async files(): Promise<FileRecord[]> {
    return (await (await this.db())?.getAll('files')) ?? [];
  }

  async putFile(record: FileRecord) {
    const db = await this.db();
    // Only if the thread is still mirrored: a tombstone may have come in while it downloaded.
    if (!db || !(await db.get('threads', record.threadId))) return;
    await db.put('files', record);
  }
}

/** Deletes a thread's rows from a store indexed by `threadId`, inside the caller's transaction. */
async function deleteByThread(
  tx: IDBPTransaction<MirrorSchema, ('threads' | 'messages' | 'files' | 'meta' | 'folders')[], 'readwrite'>,
  store: 'messages' | 'files',
  threadId: string,
) {
  const keys = await tx.objectStore(store).index('threadId').getAllKeys(threadId);
  await Promise.all(keys.map((key) => tx.objectStore(store).delete(key)));
}
