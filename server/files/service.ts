/**
 * Stored files: saving bytes under a user (content-addressed, deduplicated),
 * reading them back for their owner only, and deleting bytes nobody refers to
 * once threads and accounts go. Other features use these functions rather than
 * the tables.
 */
import type { Config } from '../config';
import type { Sql, Tx } from '../db';
import { log } from '../log';
import { notFound } from '../errors';
import { blobStore, sha256Hex } from './blob-store';
import { ownsThread } from '../conversations/queries';
import * as q from './queries';
import type { DocumentFields, FileRow, FileSource } from './queries';
import type { StoredMime } from './sniff';
import type { Attachment } from '../threads/model';

export type FileDeps = { sql: Sql; config: Pick<Config, 'dataDir' | 'files'> };

/** What a message stores about a file (messages.attachments[]). */
export type { Attachment };

export const fileUrl = (id: string) => `/api/files/${id}`;

export const toAttachment = (
  f: Pick<FileRow, 'id' | 'mime' | 'name' | 'size'> & Partial<Pick<FileRow, 'textStatus' | 'pages' | 'textError'>>,
  url = fileUrl(f.id),
): Attachment => ({
  id: f.id,
  mime: f.mime,
  name: f.name,
  size: f.size,
  url,
  ...(f.textStatus ? { textStatus: f.textStatus } : {}),
  ...(f.pages != null ? { pages: f.pages } : {}),
  ...(f.textError ? { textError: f.textError } : {}),
});

export interface NewFile {
  userId: string;
  bytes: Uint8Array;
  mime: StoredMime;
  name: string;
  threadId?: string | null;
  source: FileSource;
  /** Documents: their text as read at upload. */
  document?: DocumentFields | null;
}

/**
 * Stores the bytes and a file row for the user in one transaction; `within` runs
 * in that same transaction (e.g. to add the message showing the file), so either
 * both exist or neither; `before` runs first in it (e.g. to take a lock that must
 * come before the file row's). Bytes written for a transaction that then failed are
 * removed again.
 */
export async function saveFile<T = undefined>(
  deps: FileDeps,
  input: NewFile,
  within?: (tx: Tx, file: FileRow) => Promise<T>,
  before?: (tx: Tx) => Promise<void>,
): Promise<{ file: FileRow; extra: T }> {
  const store = blobStore(deps);
  const sha256 = sha256Hex(input.bytes);
  try {
    return await deps.sql.begin(async (tx) => {
      await before?.(tx);
      await q.lockBlobs(tx, [sha256]);
      await q.insertBlob(tx, sha256, input.bytes.length);
      await store.put(input.bytes, tx);
      const file = await q.insertFile(tx, {
        userId: input.userId,
        threadId: input.threadId ?? null,
        sha256,
        mime: input.mime,
        size: input.bytes.length,
        name: input.name,
        source: input.source,
        document: input.document ?? null,
      });
      const extra = within ? await within(tx, file) : (undefined as T);
      return { file, extra };
    });
  } catch (error) {
    await removeIfUnreferenced(deps, [sha256]).catch(() => {});
    throw error;
  }
}

async function removeIfUnreferenced(deps: FileDeps, shas: string[]) {
  const store = blobStore(deps);
  let removed = 0;
  for (const sha256 of shas) {
    await deps.sql.begin(async (tx) => {
      await q.lockBlobs(tx, [sha256]);
      const orphan = (await q.deleteBlobIfOrphan(tx, sha256)) || !(await q.blobExists(tx, sha256));
      // The bytes go while the lock is held: an upload of the same bytes waits for us, then writes them anew.
      if (orphan) {
        await store.delete(sha256, tx);
        removed++;
      }
    });
  }
  return removed;
}

/** A user's file with its bytes, or null when it is absent or someone else's. */
export async function readFileForUser(
  deps: FileDeps,
  userId: string,
  fileId: string,
): Promise<{ mime: StoredMime; bytes: Uint8Array; name: string; size: number; sha256: string } | null> {
  const file = await q.getFile(deps.sql, userId, fileId);
  if (!file) return null;
  return readRow(deps, file);
}

export async function readRow(deps: FileDeps, file: FileRow) {
  const bytes = await blobStore(deps).get(file.sha256);
  if (!bytes) {
    log.error('stored file has no bytes', { fileId: file.id, sha256: file.sha256 });
    return null;
  }
  return { mime: file.mime, bytes, name: file.name, size: file.size, sha256: file.sha256 };
}

/**
 * A file's bytes as a stream, for responses: a large file is never read whole.
 * Null when the store has lost the bytes (logged).
 */
export async function openRow(deps: FileDeps, file: FileRow) {
  const blob = await blobStore(deps).open(file.sha256);
  if (!blob) {
    log.error('stored file has no bytes', { fileId: file.id, sha256: file.sha256 });
    return null;
  }
  return { mime: file.mime, name: file.name, size: blob.size, sha256: file.sha256, body: blob.stream };
}

/** The user's file ready to send, or null when it is absent or someone else's. */
export async function openFileForUser(deps: FileDeps, userId: string, fileId: string) {
  const file = await q.getFile(deps.sql, userId, fileId);
  return file ? openRow(deps, file) : null;
}

/** What a message should store about the user's file, or null when it is not theirs. */
export async function describeFile(deps: FileDeps, userId: string, fileId: string): Promise<Attachment | null> {
  const file = await q.getFile(deps.sql, userId, fileId);
  return file ? toAttachment(file) : null;
}

/** The replies feature's view of files (server/replies/types.ts FileReader). */
export function fileReader(deps: FileDeps) {
  return {
    read: async (userId: string, fileId: string) => {
      const file = await readFileForUser(deps, userId, fileId);
      return file ? { mime: file.mime, bytes: file.bytes } : null;
    },
    describe: (userId: string, fileId: string) => describeFile(deps, userId, fileId),
    texts: (userId: string, fileIds: string[]) => q.getDocumentTexts(deps.sql, userId, fileIds),
  };
}

/** 404 unless the thread is the user's. */
export async function requireOwnThread(deps: FileDeps, userId: string, threadId: string) {
  if (!(await ownsThread(deps.sql, userId, threadId))) throw notFound('Thread');
}

/**
 * Copies files of `fromUserId` into `toUserId`'s thread (a fork): new rows, same
 * bytes. Returns old id → the new attachment; files that no longer exist are left out.
 */
export async function copyFiles(tx: Tx, fromUserId: string, fileIds: string[], toUserId: string, threadId: string) {
  const copies = new Map<string, Attachment>();
  const rows = await q.getFiles(tx, fromUserId, fileIds);
  await q.lockBlobs(
    tx,
    rows.map((r) => r.sha256),
  );
  for (const row of rows) {
    const copy = await q.copyFile(tx, fromUserId, row.id, toUserId, threadId);
    if (copy) copies.set(row.id, toAttachment(copy));
  }
  return copies;
}

/**
 * Deletes the bytes (and blob rows) no file refers to any more. Safe to call at any
 * time and from several instances; returns how many blobs went. Call it after
 * deleting a thread or files (the threads feature does, through afterThreadDelete).
 */
export async function deleteOrphanBlobs(deps: FileDeps): Promise<number> {
  let total = 0;
  for (;;) {
    const batch = await q.orphanBlobs(deps.sql);
    if (!batch.length) return total;
    const removed = await removeIfUnreferenced(deps, batch);
    total += removed;
    // Everything in the batch was re-referenced meanwhile: stop rather than spin.
    if (removed === 0) return total;
  }
}

/** Uploads older than a day that were never sent with a message. */
export async function deleteStaleUploads(deps: FileDeps, userId: string | null = null, olderThanSeconds = 24 * 3600) {
  const count = await q.deleteStaleUploads(deps.sql, userId, olderThanSeconds);
  if (count) await deleteOrphanBlobs(deps);
  return count;
}

/**
 * The file side of deleting threads and accounts, for createApp's hooks:
 * - before a thread is deleted, its uploads become the thread's, so they cascade with it;
 * - after, bytes no longer referenced are deleted;
 * - before an account is deleted, its files and then its unshared bytes go.
 */
export function fileHooks(deps: FileDeps) {
  return {
    async beforeAccountDelete(userId: string) {
      await q.deleteUserFiles(deps.sql, userId);
      await deleteOrphanBlobs(deps);
    },
    async beforeThreadDelete(userId: string, threadId: string) {
      await q.claimThreadUploads(deps.sql, userId, threadId);
    },
    async afterThreadDelete(userId: string, threadId: string) {
      void threadId;
      await deleteStaleUploads(deps, userId);
      await deleteOrphanBlobs(deps);
    },
  };
}
