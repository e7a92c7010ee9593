/**
 * The folders table: read and written here only. Every statement carries the owner.
 * Threads filed in a folder are written by conversations/writes.ts (unfileThreads).
 */
import type { Sql, Tx } from '../db';
import { nextSeq } from '../infra/seq';
import { unfileThreads } from '../conversations/writes';
import type { Folder } from './model';

type Db = Sql | Tx;

const columns = (sql: Db) => sql`id, name, model, system_prompt, created_at, updated_at`;

/** At most this many folders per account: a list a person scans, not a database. */
export const MAX_FOLDERS = 500;

export async function listFolders(sql: Db, userId: string) {
  return sql<Folder[]>`select ${columns(sql)} from folders where user_id = ${userId} order by lower(name), id limit ${MAX_FOLDERS}`;
}

export async function getFolder(sql: Db, userId: string, id: string) {
  const [row] = await sql<Folder[]>`select ${columns(sql)} from folders where id = ${id} and user_id = ${userId}`;
  return row ?? null;
}

export async function insertFolder(tx: Tx, userId: string, f: { name: string; model: string | null; systemPrompt: string }) {
  const seq = await nextSeq(tx, userId);
  const [counted] = await tx<{ count: number }[]>`select count(*)::int as count from folders where user_id = ${userId}`;
  const count = counted?.count ?? 0;
  if (count >= MAX_FOLDERS) return 'full' as const;
  const [row] = await tx<Folder[]>`
    insert into folders (user_id, name, model, system_prompt, seq)
    values (${userId}, ${f.name}, ${f.model}, ${f.systemPrompt}, ${seq})
    returning ${columns(tx)}`;
  return row!;
}

export async function updateFolder(
  tx: Tx,
  userId: string,
  id: string,
  patch: { name?: string; model?: string | null; systemPrompt?: string },
) {
  const seq = await nextSeq(tx, userId);
  const set: Record<string, unknown> = { seq, updated_at: new Date() };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.model !== undefined) set.model = patch.model;
  if (patch.systemPrompt !== undefined) set.system_prompt = patch.systemPrompt;
  const [row] = await tx<Folder[]>`
    update folders set ${tx(set)} where id = ${id} and user_id = ${userId} returning ${columns(tx)}`;
  return row ?? null;
}

/** Deletes the folder; its threads stay, unfiled. Leaves a tombstone for sync. False when not the user's. */
export async function deleteFolder(tx: Tx, userId: string, id: string) {
  const seq = await nextSeq(tx, userId); // the user's lock before any thread's
  const [own] = await tx`select 1 from folders where id = ${id} and user_id = ${userId} for update`;
  if (!own) return false;
  await unfileThreads(tx, userId, id);
  await tx`delete from folders where id = ${id} and user_id = ${userId}`;
  await tx`
    insert into deleted_folders (folder_id, user_id, seq) values (${id}, ${userId}, ${seq})
    on conflict (folder_id) do update set seq = excluded.seq`;
  return true;
}
