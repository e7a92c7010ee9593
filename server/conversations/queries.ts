/**
 * Reading threads and messages. Every query on user data carries the owner in its WHERE.
 * (Writing them is writes.ts's alone.)
 */
import type { Sql, Tx } from '../db';
import { keyset, parseCursor, takePage } from '../infra/paging';
import type { Message, Thread } from '../threads/model';
import { permissionsOfRow, type RolePermissionsRow } from '../auth/permissions';
import { unlimitedSql } from '../quota/service';

type Db = Sql | Tx;

/** A thread's wire columns. `shared` is derived (a share row exists), so it needs `threads` unaliased. */
export const threadColumns = (sql: Db) =>
  sql`id, title, model, system_prompt, pinned, folder_id, archived, exists (select 1 from shares where shares.thread_id = threads.id) as shared, created_at, updated_at`;
export const messageColumns = (sql: Db) =>
  sql`id, thread_id, parent_id, role, content, status, model, error, created_at, attachments, tokens_in, tokens_out, reasoning, tool_calls, sources`;

/** The one ownership check: whether the thread exists and is the user's. */
export async function ownsThread(sql: Db, userId: string, threadId: string) {
  const [row] = await sql`select 1 from threads where id = ${threadId} and user_id = ${userId}`;
  return Boolean(row);
}

export async function getThread(sql: Db, userId: string, id: string) {
  const [row] = await sql<Thread[]>`select ${threadColumns(sql)} from threads where id = ${id} and user_id = ${userId}`;
  return row ?? null;
}

/** The user's threads, most recently active first. `before` is a cursor from a previous page. */
export async function listThreads(
  sql: Db,
  userId: string,
  limit: number,
  before?: string,
  filter: { folderId?: string; archived?: boolean } = {},
) {
  const keys = keyset(sql, 'updated_at', 'id');
  const folder =
    filter.folderId === undefined ? sql`` : filter.folderId === 'none' ? sql`and folder_id is null` : sql`and folder_id = ${filter.folderId}`;
  const archived = filter.archived === undefined ? sql`` : sql`and archived = ${filter.archived}`;
  const rows = await sql<(Thread & { cursor: string })[]>`
    select ${threadColumns(sql)}, ${keys.cursor}
    from threads where user_id = ${userId} ${folder} ${archived} ${keys.after(before ? parseCursor(before) : null)}
    order by updated_at desc, id desc
    limit ${limit + 1}`;
  const { page, nextCursor } = takePage(rows, limit);
  return { threads: page as Thread[], nextCursor };
}

/** A page of a thread's messages: newest first to page backwards, oldest first within the page. */
export async function listMessages(sql: Db, userId: string, threadId: string, limit: number, before?: string) {
  const keys = keyset(sql, 'created_at', 'id');
  const rows = await sql<(Message & { cursor: string })[]>`
    select ${messageColumns(sql)}, ${keys.cursor}
    from messages where thread_id = ${threadId} and user_id = ${userId} ${keys.after(before ? parseCursor(before) : null)}
    order by created_at desc, id desc
    limit ${limit + 1}`;
  const { page, nextCursor } = takePage(rows, limit);
  return { messages: (page as Message[]).reverse(), nextCursor };
}

export async function getMessage(sql: Db, userId: string, id: string) {
  const [row] = await sql<Message[]>`select ${messageColumns(sql)} from messages where id = ${id} and user_id = ${userId}`;
  return row ?? null;
}

/** Any owner: used to tell "your retry" from "someone else's id" without revealing it. */
export async function messageOwner(sql: Db, id: string) {
  const [row] = await sql<{ userId: string; threadId: string; role: string }[]>`
    select user_id, thread_id, role from messages where id = ${id}`;
  return row ?? null;
}

export async function latestChild(sql: Db, userId: string, parentId: string, role: 'assistant' | 'user') {
  const [row] = await sql<Message[]>`
    select ${messageColumns(sql)} from messages
    where parent_id = ${parentId} and user_id = ${userId} and role = ${role}
    order by created_at desc, id desc limit 1`;
  return row ?? null;
}

/** The branch ending at `leaf` (a message id, or the latest message of a thread), root first. */
export async function branch(sql: Db, userId: string, leaf: string | { latestOf: string }) {
  // `latestOf`: the branch ending at the thread's latest message (as postLookup's latest_id picks it).
  const leafId =
    typeof leaf === 'string'
      ? sql`${leaf}::uuid`
      : sql`(select l.id from messages l where l.thread_id = ${leaf.latestOf} and l.user_id = ${userId} order by l.created_at desc, l.id desc limit 1)`;
  return sql<Pick<Message, 'id' | 'role' | 'content' | 'status' | 'attachments'>[]>`
    with recursive path as (
      select id, parent_id, role, content, status, attachments, 0 as depth
      from messages where id = ${leafId} and user_id = ${userId}
      union all
      select m.id, m.parent_id, m.role, m.content, m.status, m.attachments, p.depth + 1
      from messages m join path p on m.id = p.parent_id
      where m.user_id = ${userId}
    )
    select id, role, content, status, attachments from path order by depth desc`;
}

/** Every message of a thread, oldest first, as a share snapshot reads them. */
export async function threadMessages(sql: Db, userId: string, threadId: string) {
  return sql<ThreadMessage[]>`
    select id, parent_id, role, content, status, model, created_at, attachments
    from messages where thread_id = ${threadId} and user_id = ${userId}
    order by created_at, id`;
}

export interface ThreadMessage {
  id: string;
  parentId: string | null;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: 'complete' | 'streaming' | 'cancelled' | 'error';
  model: string | null;
  createdAt: string;
  /** As stored (jsonb): read defensively. */
  attachments: { id?: unknown }[];
}

/**
 * Everything POST /messages must know before writing, in one round trip: the
 * thread (owner-checked), who owns the client's message id if it exists, the
 * thread of the requested parent, the latest message (the default parent), the
 * account's permissions (auth/permissions.ts) and whether its quota is unlimited
 * now (quota/service.ts: then the reply sets nothing aside).
 */
export async function postLookup(sql: Db, userId: string, threadId: string, messageId: string, parentId: string | null) {
  const [row] = await sql<
    (Thread &
      RolePermissionsRow & {
        existingUserId: string | null;
        existingThreadId: string | null;
        existingRole: string | null;
        parentThreadId: string | null;
        latestId: string | null;
        unlimited: boolean;
      })[]
  >`
    select t.id, t.title, t.model, t.system_prompt, t.pinned, t.folder_id, t.archived, t.created_at, t.updated_at,
      e.user_id as existing_user_id, e.thread_id as existing_thread_id, e.role as existing_role,
      (select p.thread_id from messages p where p.id = ${parentId}::uuid and p.user_id = ${userId}) as parent_thread_id,
      (select l.id from messages l where l.thread_id = t.id and l.user_id = ${userId}
        order by l.created_at desc, l.id desc limit 1) as latest_id,
      u.role, rp.permissions, ${unlimitedSql(sql, userId)} as unlimited
    from threads t
      join users u on u.id = t.user_id
      left join role_permissions rp on rp.role = u.role
      left join messages e on e.id = ${messageId}
    where t.id = ${threadId} and t.user_id = ${userId}`;
  if (!row) return null;
  const { existingUserId, existingThreadId, existingRole, parentThreadId, latestId, role, permissions, unlimited, ...thread } = row;
  return {
    thread: thread as Thread,
    existing: existingUserId ? { userId: existingUserId, threadId: existingThreadId!, role: existingRole! } : null,
    parentThreadId,
    latestId,
    permissions: permissionsOfRow({ role, permissions }),
    unlimited,
  };
}
