/** The SQL of threads and messages. Every query on user data carries the owner. */
import type { Sql, Tx } from '../db';
import { nextSeq } from '../infra/seq';
import type { Message, Thread } from './model';

type Db = Sql | Tx;

export const threadColumns = (sql: Db) => sql`id, title, model, system_prompt, pinned, created_at, updated_at`;
export const messageColumns = (sql: Db) =>
  sql`id, thread_id, parent_id, role, content, status, model, error, created_at, attachments, tokens_in, tokens_out`;

/** Page cursors: "<microseconds since epoch>_<id>", exact to PostgreSQL's precision. */
const cursorOf = (sql: Db, column: string) =>
  sql`((extract(epoch from ${sql(column)}) * 1000000)::bigint)::text || '_' || id::text as cursor`;

function parseCursor(cursor: string): [string, string] {
  const [micros, id] = cursor.split('_') as [string, string];
  return [micros, id];
}

export async function listThreads(sql: Db, userId: string, limit: number, before?: string) {
  const where = before
    ? (() => {
        const [micros, id] = parseCursor(before);
        return sql`and (updated_at, id) < ('epoch'::timestamptz + ${micros}::bigint * interval '1 microsecond', ${id}::uuid)`;
      })()
    : sql``;
  const rows = await sql<(Thread & { cursor: string })[]>`
    select ${threadColumns(sql)}, ${cursorOf(sql, 'updated_at')}
    from threads where user_id = ${userId} ${where}
    order by updated_at desc, id desc
    limit ${limit + 1}`;
  const page = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? page[page.length - 1]!.cursor : null;
  return { threads: page.map(({ cursor: _, ...t }) => t), nextCursor };
}

export async function getThread(sql: Db, userId: string, id: string) {
  const [row] = await sql<Thread[]>`select ${threadColumns(sql)} from threads where id = ${id} and user_id = ${userId}`;
  return row ?? null;
}

export async function insertThread(
  tx: Tx,
  userId: string,
  input: { title: string; model: string | null; systemPrompt: string },
) {
  const seq = await nextSeq(tx, userId);
  const [row] = await tx<Thread[]>`
    insert into threads (user_id, title, model, system_prompt, seq)
    values (${userId}, ${input.title}, ${input.model}, ${input.systemPrompt}, ${seq})
    returning ${threadColumns(tx)}`;
  return row!;
}

export async function updateThread(
  tx: Tx,
  userId: string,
  id: string,
  patch: { title?: string; model?: string | null; systemPrompt?: string; pinned?: boolean },
) {
  const seq = await nextSeq(tx, userId);
  const set: Record<string, unknown> = { seq };
  if (patch.title !== undefined) set.title = patch.title;
  if (patch.model !== undefined) set.model = patch.model;
  if (patch.systemPrompt !== undefined) set.system_prompt = patch.systemPrompt;
  if (patch.pinned !== undefined) set.pinned = patch.pinned;
  const [row] = await tx<Thread[]>`
    update threads set ${tx(set)}
    where id = ${id} and user_id = ${userId}
    returning ${threadColumns(tx)}`;
  return row ?? null;
}

/** New activity: moves the thread up the list and into the next sync. */
export async function touchThread(tx: Tx, userId: string, id: string) {
  const seq = await nextSeq(tx, userId);
  await tx`update threads set updated_at = now(), seq = ${seq} where id = ${id} and user_id = ${userId}`;
}

export async function deleteThread(tx: Tx, userId: string, id: string) {
  const [row] = await tx<{ id: string }[]>`delete from threads where id = ${id} and user_id = ${userId} returning id`;
  if (!row) return false;
  const seq = await nextSeq(tx, userId);
  await tx`
    insert into deleted_threads (thread_id, user_id, seq) values (${id}, ${userId}, ${seq})
    on conflict (thread_id) do update set seq = excluded.seq`;
  return true;
}

export async function listMessages(sql: Db, userId: string, threadId: string, limit: number, before?: string) {
  const where = before
    ? (() => {
        const [micros, id] = parseCursor(before);
        return sql`and (created_at, id) < ('epoch'::timestamptz + ${micros}::bigint * interval '1 microsecond', ${id}::uuid)`;
      })()
    : sql``;
  // Newest first to page backwards through history, then oldest first within the page.
  const rows = await sql<(Message & { cursor: string })[]>`
    select ${messageColumns(sql)}, ${cursorOf(sql, 'created_at')}
    from messages where thread_id = ${threadId} and user_id = ${userId} ${where}
    order by created_at desc, id desc
    limit ${limit + 1}`;
  const page = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? page[page.length - 1]!.cursor : null;
  return { messages: page.reverse().map(({ cursor: _, ...m }) => m), nextCursor };
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

export async function latestMessageId(sql: Db, userId: string, threadId: string) {
  const [row] = await sql<{ id: string }[]>`
    select id from messages where thread_id = ${threadId} and user_id = ${userId}
    order by created_at desc, id desc limit 1`;
  return row?.id ?? null;
}

export async function latestChild(sql: Db, userId: string, parentId: string, role: 'assistant' | 'user') {
  const [row] = await sql<Message[]>`
    select ${messageColumns(sql)} from messages
    where parent_id = ${parentId} and user_id = ${userId} and role = ${role}
    order by created_at desc, id desc limit 1`;
  return row ?? null;
}

export async function insertMessage(
  tx: Tx,
  userId: string,
  m: {
    id: string;
    threadId: string;
    parentId: string | null;
    role: 'user' | 'assistant';
    content: string;
    status: Message['status'];
    model: string | null;
    attachments?: unknown[];
  },
) {
  const seq = await nextSeq(tx, userId);
  const [row] = await tx<Message[]>`
    insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq)
    values (${m.id}, ${m.threadId}, ${userId}, ${m.parentId}, ${m.role}, ${m.content}, ${m.status}, ${m.model},
            ${tx.json((m.attachments ?? []) as never)}, ${seq})
    on conflict (id) do nothing
    returning ${messageColumns(tx)}`;
  return row ?? null;
}

/** The branch ending at `leafId`, root first. */
export async function branch(sql: Db, userId: string, leafId: string) {
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

/**
 * Everything POST /messages must know before writing, in one round trip: the
 * thread (owner-checked), who owns the client's message id if it exists, the
 * thread of the requested parent, and the latest message (the default parent).
 */
export async function postLookup(sql: Db, userId: string, threadId: string, messageId: string, parentId: string | null) {
  const [row] = await sql<
    (Thread & {
      existingUserId: string | null;
      existingThreadId: string | null;
      existingRole: string | null;
      parentThreadId: string | null;
      latestId: string | null;
    })[]
  >`
    select t.id, t.title, t.model, t.system_prompt, t.pinned, t.created_at, t.updated_at,
      e.user_id as existing_user_id, e.thread_id as existing_thread_id, e.role as existing_role,
      (select p.thread_id from messages p where p.id = ${parentId}::uuid and p.user_id = ${userId}) as parent_thread_id,
      (select l.id from messages l where l.thread_id = t.id and l.user_id = ${userId}
        order by l.created_at desc, l.id desc limit 1) as latest_id
    from threads t left join messages e on e.id = ${messageId}
    where t.id = ${threadId} and t.user_id = ${userId}`;
  if (!row) return null;
  const { existingUserId, existingThreadId, existingRole, parentThreadId, latestId, ...thread } = row;
  return {
    thread: thread as Thread,
    existing: existingUserId ? { userId: existingUserId, threadId: existingThreadId!, role: existingRole! } : null,
    parentThreadId,
    latestId,
  };
}

/**
 * The user's message, its assistant reply (streaming) and the thread's activity in
 * ONE statement: atomic, one round trip, and the user row's lock (sync_seq) keeps
 * the three seq values in commit order. Returns null when the user message id
 * already existed (a concurrent retry won).
 */
export async function insertExchange(
  sql: Db,
  userId: string,
  x: {
    threadId: string;
    userMessageId: string;
    assistantId: string;
    parentId: string | null;
    content: string;
    attachments: unknown[];
    model: string | null;
    provisionalTitle: string;
  },
) {
  const rows = await sql<(Message & { kind: 'user' | 'assistant'; threadTitle: string })[]>`
    with s as (
      update users set sync_seq = sync_seq + 3 where id = ${userId} returning sync_seq
    ), u as (
      insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq)
      select ${x.userMessageId}, ${x.threadId}, ${userId}, ${x.parentId}, 'user', ${x.content}, 'complete', null,
             ${sql.json(x.attachments as never)}, s.sync_seq - 2
      from s
      on conflict (id) do nothing
      returning ${messageColumns(sql)}
    ), a as (
      insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, seq, created_at)
      select ${x.assistantId}, ${x.threadId}, ${userId}, u.id, 'assistant', '', 'streaming', ${x.model}, s.sync_seq - 1,
             u.created_at + interval '1 microsecond'
      from u, s
      returning ${messageColumns(sql)}
    ), t as (
      update threads set updated_at = now(), seq = s.sync_seq,
        title = case when threads.title = '' then ${x.provisionalTitle} else threads.title end
      from s
      where threads.id = ${x.threadId} and threads.user_id = ${userId} and exists (select 1 from u)
      returning threads.title
    )
    select 'user' as kind, u.*, (select title from t) as thread_title from u
    union all
    select 'assistant' as kind, a.*, (select title from t) as thread_title from a`;
  const user = rows.find((r) => r.kind === 'user');
  const assistant = rows.find((r) => r.kind === 'assistant');
  if (!user || !assistant) return null;
  const strip = ({ kind: _, threadTitle: __, ...m }: (typeof rows)[number]) => m as Message;
  return { user: strip(user), assistant: strip(assistant), threadTitle: user.threadTitle };
}
