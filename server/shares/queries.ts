/** The SQL of share links. Owner-side queries carry the owner in their WHERE. */
import type { Sql, Tx } from '../db';
import { keyset, takePage } from '../infra/paging';
import type { Snapshot } from './model';

type Db = Sql | Tx;

export interface ShareRow {
  threadId: string;
  userId: string;
  code: string;
  snapshot: Snapshot;
  fileIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** Creates the thread's share, or refreshes its snapshot keeping the code. */
export async function upsertShare(
  tx: Tx,
  s: { threadId: string; userId: string; code: string; snapshot: Snapshot; fileIds: string[] },
) {
  const [row] = await tx<Pick<ShareRow, 'code' | 'createdAt' | 'updatedAt'>[]>`
    insert into shares (thread_id, user_id, code, snapshot, file_ids)
    values (${s.threadId}, ${s.userId}, ${s.code}, ${tx.json(s.snapshot as never)}, ${s.fileIds}::uuid[])
    on conflict (thread_id) do update
      set snapshot = excluded.snapshot, file_ids = excluded.file_ids, updated_at = now()
      where shares.user_id = excluded.user_id
    returning code, created_at, updated_at`;
  return row ?? null;
}

export async function deleteThreadShare(db: Db, userId: string, threadId: string) {
  await db`delete from shares where thread_id = ${threadId} and user_id = ${userId}`;
}

/** Revokes a share by its code; the thread it shared, or null when there was none of the user's. */
export async function deleteShareByCode(db: Db, userId: string, code: string) {
  const [row] = await db<{ threadId: string }[]>`delete from shares where code = ${code} and user_id = ${userId} returning thread_id`;
  return row?.threadId ?? null;
}

export async function getShare(db: Db, code: string) {
  const [row] = await db<ShareRow[]>`
    select thread_id, user_id, code, snapshot, file_ids, created_at, updated_at from shares where code = ${code}`;
  return row ?? null;
}

export async function listShares(db: Db, userId: string, limit: number, before: [string, string] | null) {
  const keys = keyset(db, 'created_at', 'thread_id');
  const rows = await db<{ code: string; threadId: string; title: string; createdAt: string; updatedAt: string; cursor: string }[]>`
    select code, thread_id, snapshot->'thread'->>'title' as title, created_at, updated_at, ${keys.cursor}
    from shares where user_id = ${userId} ${keys.after(before)}
    order by created_at desc, thread_id desc
    limit ${limit + 1}`;
  return takePage(rows, limit);
}

/** The file of a share's owner, if the share shows it. */
export async function sharedFile(db: Db, code: string, fileId: string) {
  const [row] = await db<{ id: string; userId: string }[]>`
    select f.id, f.user_id from shares s
    join files f on f.id = ${fileId} and f.user_id = s.user_id
    where s.code = ${code} and ${fileId}::uuid = any(s.file_ids)`;
  return row ?? null;
}
