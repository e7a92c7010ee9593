/** The SQL of stored files. Every read of a user's file has the owner in its WHERE. */
import type { Sql, Tx } from '../db';
import type { StoredMime } from './sniff';

type Db = Sql | Tx;

export type FileSource = 'upload' | 'generated' | 'fork';

export interface FileRow {
  id: string;
  userId: string;
  threadId: string | null;
  sha256: string;
  mime: StoredMime;
  size: number;
  name: string;
  source: FileSource;
  createdAt: string;
  /** Documents: what reading their text gave (null for images). */
  textStatus: 'ready' | 'failed' | 'none' | null;
  pages: number | null;
  textError: string | null;
}

/** A document's text as read at upload (null for images). */
export interface DocumentFields {
  textStatus: 'ready' | 'failed' | 'none';
  text: string | null;
  pages: number | null;
  textError: string | null;
}

const columns = (sql: Db) =>
  sql`id, user_id, thread_id, sha256, mime, size::int as size, name, source, created_at, text_status, pages, text_error`;

/**
 * Serializes everything that adds or removes a reference to these blobs (in a
 * stable order, so two transactions never wait on each other in a cycle): an
 * upload of identical bytes cannot slip in between the orphan check and the
 * deletion of the bytes.
 */
export async function lockBlobs(tx: Tx, shas: string[]) {
  for (const sha of [...new Set(shas)].sort()) {
    await tx`select pg_advisory_xact_lock(7261012, hashtext(${sha}))`;
  }
}

export async function insertBlob(tx: Tx, sha256: string, size: number) {
  await tx`insert into blobs (sha256, size) values (${sha256}, ${size}) on conflict (sha256) do nothing`;
}

export async function blobExists(db: Db, sha256: string) {
  const [row] = await db`select 1 from blobs where sha256 = ${sha256}`;
  return Boolean(row);
}

export async function insertFile(
  tx: Tx,
  f: { userId: string; threadId: string | null; sha256: string; mime: StoredMime; size: number; name: string; source: FileSource; document?: DocumentFields | null },
) {
  const d = f.document ?? null;
  const [row] = await tx<FileRow[]>`
    insert into files (user_id, thread_id, sha256, mime, size, name, source, text_status, text, pages, text_error)
    values (${f.userId}, ${f.threadId}, ${f.sha256}, ${f.mime}, ${f.size}, ${f.name}, ${f.source},
      ${d?.textStatus ?? null}, ${d?.text ?? null}, ${d?.pages ?? null}, ${d?.textError?.slice(0, 500) ?? null})
    returning ${columns(tx)}`;
  return row!;
}

export async function getFile(db: Db, userId: string, fileId: string) {
  const [row] = await db<FileRow[]>`select ${columns(db)} from files where id = ${fileId} and user_id = ${userId}`;
  return row ?? null;
}

export async function getFiles(db: Db, userId: string, fileIds: string[]) {
  if (!fileIds.length) return [];
  return db<FileRow[]>`select ${columns(db)} from files where user_id = ${userId} and id = any(${fileIds}::uuid[])`;
}

/** The stored text of the user's documents among these files (id → text); others' files and images are left out. */
export async function getDocumentTexts(db: Db, userId: string, fileIds: string[]) {
  if (!fileIds.length) return new Map<string, string>();
  const rows = await db<{ id: string; text: string }[]>`
    select id, text from files
    where user_id = ${userId} and id = any(${fileIds}::uuid[]) and text is not null`;
  return new Map(rows.map((r) => [r.id, r.text]));
}

export async function copyFile(tx: Tx, fromUserId: string, fileId: string, toUserId: string, threadId: string) {
  const [row] = await tx<FileRow[]>`
    insert into files (user_id, thread_id, sha256, mime, size, name, source, text_status, text, pages, text_error)
    select ${toUserId}, ${threadId}, sha256, mime, size, name, 'fork', text_status, text, pages, text_error from files
    where id = ${fileId} and user_id = ${fromUserId}
    returning ${columns(tx)}`;
  return row ?? null;
}

/** Blobs no file refers to any more (bounded batch). */
export async function orphanBlobs(db: Db, limit = 500) {
  const rows = await db<{ sha256: string }[]>`
    select b.sha256 from blobs b
    where not exists (select 1 from files f where f.sha256 = b.sha256)
    limit ${limit}`;
  return rows.map((r) => r.sha256);
}

/** Deletes the blob's row if it is still unreferenced; true when it did. Call under lockBlobs. */
export async function deleteBlobIfOrphan(tx: Tx, sha256: string) {
  const rows = await tx`
    delete from blobs b where b.sha256 = ${sha256}
    and not exists (select 1 from files f where f.sha256 = b.sha256)
    returning 1`;
  return rows.length > 0;
}

export async function deleteUserFiles(db: Db, userId: string) {
  await db`delete from files where user_id = ${userId}`;
}

/**
 * Before a thread is deleted: its messages' uploads that no other thread refers to
 * become the thread's, so the delete's cascade takes them along.
 */
export async function claimThreadUploads(db: Db, userId: string, threadId: string) {
  await db`
    update files f set thread_id = ${threadId}
    where f.user_id = ${userId} and f.thread_id is null
      and exists (
        select 1 from messages m
        where m.thread_id = ${threadId} and m.user_id = ${userId}
          and m.attachments @> jsonb_build_array(jsonb_build_object('id', f.id::text)))
      and not exists (
        select 1 from messages m
        where m.thread_id <> ${threadId} and m.user_id = ${userId}
          and m.attachments @> jsonb_build_array(jsonb_build_object('id', f.id::text)))`;
}

/** Uploads never sent with a message (the composer was abandoned) after a grace period. */
export async function deleteStaleUploads(db: Db, userId: string | null, olderThanSeconds: number) {
  const rows = await db`
    delete from files f
    where f.source = 'upload' and f.thread_id is null
      ${userId ? db`and f.user_id = ${userId}` : db``}
      and f.created_at < now() - make_interval(secs => ${olderThanSeconds})
      and not exists (
        select 1 from messages m
        where m.user_id = f.user_id
          and m.attachments @> jsonb_build_array(jsonb_build_object('id', f.id::text)))
    returning 1`;
  return rows.length;
}
