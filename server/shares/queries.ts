/** The SQL of share links. Owner-side queries carry the owner in their WHERE. */
import type { Sql, Tx } from '../db';
import { nextSeq } from '../sync/seq';
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

export interface SourceMessage {
  id: string;
  parentId: string | null;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: 'complete' | 'streaming' | 'cancelled' | 'error';
  model: string | null;
  createdAt: string;
  attachments: { id?: unknown }[];
}

export async function getOwnThread(db: Db, userId: string, threadId: string) {
  const [row] = await db<{ title: string; model: string | null; createdAt: string }[]>`
    select title, model, created_at from threads where id = ${threadId} and user_id = ${userId}`;
  return row ?? null;
}

export async function threadMessages(db: Db, userId: string, threadId: string) {
  return db<SourceMessage[]>`
    select id, parent_id, role, content, status, model, created_at, attachments
    from messages where thread_id = ${threadId} and user_id = ${userId}
    order by created_at, id`;
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

export async function deleteShareByCode(db: Db, userId: string, code: string) {
  const rows = await db`delete from shares where code = ${code} and user_id = ${userId} returning 1`;
  return rows.length > 0;
}

export async function getShare(db: Db, code: string) {
  const [row] = await db<ShareRow[]>`
    select thread_id, user_id, code, snapshot, file_ids, created_at, updated_at from shares where code = ${code}`;
  return row ?? null;
}

const cursorOf = (db: Db) =>
  db`((extract(epoch from created_at) * 1000000)::bigint)::text || '_' || thread_id::text as cursor`;

export async function listShares(db: Db, userId: string, limit: number, before: [string, string] | null) {
  const where = before
    ? db`and (created_at, thread_id) < ('epoch'::timestamptz + ${before[0]}::bigint * interval '1 microsecond', ${before[1]}::uuid)`
    : db``;
  const rows = await db<{ code: string; threadId: string; title: string; createdAt: string; updatedAt: string; cursor: string }[]>`
    select code, thread_id, snapshot->'thread'->>'title' as title, created_at, updated_at, ${cursorOf(db)}
    from shares where user_id = ${userId} ${where}
    order by created_at desc, thread_id desc
    limit ${limit + 1}`;
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? page[page.length - 1]!.cursor : null };
}

/** The file of a share's owner, if the share shows it. */
export async function sharedFile(db: Db, code: string, fileId: string) {
  const [row] = await db<{ id: string; userId: string }[]>`
    select f.id, f.user_id from shares s
    join files f on f.id = ${fileId} and f.user_id = s.user_id
    where s.code = ${code} and ${fileId}::uuid = any(s.file_ids)`;
  return row ?? null;
}

export async function insertMessage(
  tx: Tx,
  userId: string,
  m: {
    id: string;
    threadId: string;
    parentId: string | null;
    role: string;
    content: string;
    status: string;
    model: string | null;
    attachments: unknown[];
    /** The original message's time, and its place in the snapshot (see forkShare). */
    createdAt: string;
    order: number;
  },
) {
  const seq = await nextSeq(tx, userId);
  await tx`
    insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq, created_at, updated_at)
    values (${m.id}, ${m.threadId}, ${userId}, ${m.parentId}, ${m.role}, ${m.content}, ${m.status}, ${m.model},
            ${tx.json(m.attachments as never)}, ${seq},
            ${m.createdAt}::timestamptz + ${m.order} * interval '1 microsecond',
            ${m.createdAt}::timestamptz + ${m.order} * interval '1 microsecond')`;
}
