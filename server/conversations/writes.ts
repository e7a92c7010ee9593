/**
 * The conversation store (server/conversations/): writes.ts is the ONLY code that
 * inserts, updates or deletes `threads` and `messages` rows; queries.ts reads them;
 * tree.ts holds pure helpers over the message tree. Threads, replies, images and
 * shares call it (and so should importers and rooms).
 *
 * The sync discipline lives here, once. GET /api/sync returns the rows whose `seq`
 * passed the client's cursor, so:
 * - every change a client must see takes a new `seq` from the user's counter
 *   (infra/seq.ts; insertExchange takes its three in its one statement), inside the
 *   write's transaction, so changes commit in `seq` order;
 * - a new message, or a reply that ends, also "touches" its thread (updated_at moves
 *   it up the list, and the thread takes a `seq` too).
 * One deliberate exception: appendReplyTexts writes a streaming reply's text without a
 * `seq` (every 250 ms, all replies in flight in one statement). A streaming reply
 * always ends through finishReply, cancelStreaming or failOrphans, which stamp it.
 *
 * Lock order: a transaction here takes its first `seq` (the user's row lock) before it
 * locks or writes a thread or message, so two writes of one user queue on that row and
 * never wait on each other in a cycle (a reply finishing while its thread is deleted,
 * or while an image lands in the thread, used to be able to deadlock).
 */
import type { Sql, Tx } from '../db';
import { nextSeq } from '../infra/seq';
import type { Attachment, Message, Thread } from '../threads/model';
import { messageColumns, ownsThread, threadColumns } from './queries';
import { parentsFirst } from './tree';

/** New activity: moves the thread up the list and into the next sync. */
async function touchThread(tx: Tx, userId: string, threadId: string) {
  const seq = await nextSeq(tx, userId);
  await tx`update threads set updated_at = now(), seq = ${seq} where id = ${threadId} and user_id = ${userId}`;
}

// ── Threads ────────────────────────────────────────────────────────────────────

/**
 * A new thread. `id` is the client's (a chat started offline, POST /api/threads `id`) or
 * made here. Creation is idempotent per id: the user's own thread with that id is answered
 * as it is (`created: false`, nothing written, no seq spent); an id that is someone else's,
 * or was deleted (its tombstone must keep telling offline copies it is gone), is 'taken'.
 */
export async function insertThread(
  tx: Tx,
  userId: string,
  input: { id?: string; title: string; model: string | null; systemPrompt: string; folderId?: string | null },
): Promise<{ thread: Thread; created: boolean } | 'taken'> {
  const id = input.id ?? crypto.randomUUID();
  if (input.id) {
    // A plain read first: a retry costs no seq and takes no lock.
    const known = await threadIdUse(tx, userId, id);
    if (known) return known;
  }
  const seq = await nextSeq(tx, userId); // the user's row lock: a retry racing this one waits here
  const [row] = await tx<Thread[]>`
    insert into threads (id, user_id, title, model, system_prompt, folder_id, seq)
    values (${id}, ${userId}, ${input.title}, ${input.model}, ${input.systemPrompt}, ${input.folderId ?? null}, ${seq})
    on conflict (id) do nothing
    returning ${threadColumns(tx)}`;
  if (row) return { thread: row, created: true };
  // Taken meanwhile: by the same user's retry (committed before our seq lock was ours), or not.
  return (await threadIdUse(tx, userId, id)) ?? 'taken';
}

/**
 * Who holds a thread id: this user's thread, 'taken' (another user's, or deleted), or null
 * (free). One statement, so one snapshot: a creation committing meanwhile is seen whole.
 */
async function threadIdUse(tx: Tx, userId: string, id: string) {
  // Always one row (the left join), whatever the thread's columns are: no UNION to keep in step.
  const [row] = await tx<(Thread & { mine: boolean | null; deleted: boolean })[]>`
    select ${threadColumns(tx)}, threads.user_id = ${userId} as mine,
      exists (select 1 from deleted_threads where thread_id = ${id}) as deleted
    from (select 1) as one left join threads on threads.id = ${id}`;
  if (row?.mine) {
    const { mine: _, deleted: __, ...thread } = row;
    return { thread: thread as Thread, created: false };
  }
  return row && (row.mine === false || row.deleted) ? ('taken' as const) : null;
}

/** The user's edit (title, model, system prompt, pinned); null when not the user's thread. */
export async function patchThread(
  tx: Tx,
  userId: string,
  id: string,
  patch: {
    title?: string;
    model?: string | null;
    systemPrompt?: string;
    pinned?: boolean;
    folderId?: string | null;
    archived?: boolean;
  },
) {
  const seq = await nextSeq(tx, userId);
  const set: Record<string, unknown> = { seq };
  if (patch.title !== undefined) set.title = patch.title;
  if (patch.model !== undefined) set.model = patch.model;
  if (patch.systemPrompt !== undefined) set.system_prompt = patch.systemPrompt;
  if (patch.pinned !== undefined) set.pinned = patch.pinned;
  if (patch.folderId !== undefined) set.folder_id = patch.folderId;
  if (patch.archived !== undefined) set.archived = patch.archived;
  const [row] = await tx<Thread[]>`
    update threads set ${tx(set)}
    where id = ${id} and user_id = ${userId}
    returning ${threadColumns(tx)}`;
  return row ?? null;
}

/** The model's title, unless the thread lost its provisional title meanwhile (a rename by the user wins). */
export async function setGeneratedTitle(sql: Sql, userId: string, threadId: string, title: string, provisional: string) {
  return sql.begin(async (tx) => {
    const seq = await nextSeq(tx, userId);
    const rows = await tx`
      update threads set title = ${title}, seq = ${seq}
      where id = ${threadId} and user_id = ${userId} and title = ${provisional}
      returning 1`;
    return rows.length > 0;
  });
}

/** Deletes the thread (its messages cascade) and leaves a tombstone for sync; false when not the user's. */
export async function deleteThread(tx: Tx, userId: string, id: string) {
  if (!(await ownsThread(tx, userId, id))) return false; // a plain read: no lock, no seq spent
  const seq = await nextSeq(tx, userId); // before the delete locks the thread: see the lock order above
  const [row] = await tx<{ id: string }[]>`delete from threads where id = ${id} and user_id = ${userId} returning id`;
  if (!row) return false;
  await tx`
    insert into deleted_threads (thread_id, user_id, seq) values (${id}, ${userId}, ${seq})
    on conflict (thread_id) do update set seq = excluded.seq`;
  return true;
}

// ── An exchange: the user's message and its reply ─────────────────────────────

/**
 * The user's message, its assistant reply (streaming) and the thread's activity in
 * one statement (one round trip, no transaction around it): atomic, and the user row's
 * lock (sync_seq) keeps the three seq values in commit order. Returns null when the user
 * message id already exists.
 *
 * Two posts of the same id (a retry racing the original, here or in another instance)
 * are taken one at a time without a lock of their own: the second waits for the first
 * on the user's row (same account) or on the id's unique index (`on conflict do
 * nothing` waits for an insert in progress), then inserts nothing, and the caller
 * replays the first's committed rows. The user's row is its first lock, as the lock
 * order above wants.
 */
export async function insertExchange(
  sql: Sql,
  userId: string,
  x: {
    threadId: string;
    userMessageId: string;
    assistantId: string;
    parentId: string | null;
    content: string;
    attachments: Attachment[];
    model: string | null;
    provisionalTitle: string;
  },
) {
  type Row = Message & { kind: 'user' | 'assistant'; threadTitle: string };
  const rows = await sql<Row[]>`
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
  const strip = ({ kind: _, threadTitle: __, ...m }: Row) => m as Message;
  return { user: strip(user), assistant: strip(assistant), threadTitle: user.threadTitle };
}

/** Another reply to an existing message (regenerate): an empty streaming row; the thread is touched. */
export async function insertReply(sql: Sql, userId: string, r: { threadId: string; parentId: string; model: string | null }) {
  return sql.begin(async (tx) => {
    const seq = await nextSeq(tx, userId);
    const [row] = await tx<Message[]>`
      insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq)
      values (${crypto.randomUUID()}, ${r.threadId}, ${userId}, ${r.parentId}, 'assistant', '', 'streaming', ${r.model},
              ${tx.json([] as never)}, ${seq})
      returning ${messageColumns(tx)}`;
    await touchThread(tx, userId, r.threadId);
    return row!;
  });
}

// ── A reply's life: streamed text, then one final state ───────────────────────

/**
 * Appends streamed text to replies still streaming, many in one statement (no `seq`: see
 * the header). Returns the ids stored; an id missing from it is 'gone': the row is no
 * longer streaming, or the message, thread or account was deleted or the account
 * disabled, and its generation should stop.
 */
export async function appendReplyTexts(sql: Sql, pieces: { id: string; text: string }[]): Promise<Set<string>> {
  if (!pieces.length) return new Set();
  // The rows are locked in id order first: every statement that writes many replies' rows
  // locks them in that order (renewReplyLeases skips the locked ones), so none deadlocks.
  const rows = await sql<{ id: string }[]>`
    with p as (select * from unnest(${pieces.map((p) => p.id)}::uuid[], ${pieces.map((p) => p.text)}::text[]) as p(id, text)),
    locked as (
      select m.id from messages m join p on p.id = m.id join users u on u.id = m.user_id
      where m.status = 'streaming' and not u.disabled
      order by m.id
      for update of m)
    update messages m set content = m.content || p.text, updated_at = now()
    from p join locked l on l.id = p.id
    where m.id = p.id
    returning m.id`;
  return new Set(rows.map((r) => r.id));
}

/**
 * A streaming reply's tool calls as they are now (no `seq`, like the streamed text): so
 * every instance can tell which call waits for the user's approval. The final state
 * (finishReply) writes them again.
 */
export async function storeStreamingToolCalls(sql: Sql, userId: string, messageId: string, toolCalls: Message['toolCalls']) {
  await sql`
    update messages set tool_calls = ${sql.json(toolCalls as never)}, updated_at = now()
    where id = ${messageId} and user_id = ${userId} and status = 'streaming'`;
}

/** A reply's final state (complete, cancelled or error), usage included; touches the thread. Null when gone. */
export async function finishReply(
  sql: Sql,
  userId: string,
  r: {
    messageId: string;
    threadId: string;
    content: string;
    status: Message['status'];
    error: string | null;
    usage: { inputTokens: number; outputTokens: number } | null;
    /** What the reply kept besides its text (reasoning models, tool calls, cited sources). */
    reasoning?: string;
    toolCalls?: Message['toolCalls'];
    sources?: Message['sources'];
  },
) {
  // One statement (one round trip, no transaction around it), like insertExchange: the user's
  // row first (two seq values: the message's, then the thread's touch), then the message, then
  // its thread when the message is still there.
  const [row] = await sql<Message[]>`
    with s as (
      update users set sync_seq = sync_seq + 2 where id = ${userId} returning sync_seq
    ), m as (
      update messages set content = ${r.content}, status = ${r.status}, error = ${r.error},
        tokens_in = ${r.usage?.inputTokens ?? null}, tokens_out = ${r.usage?.outputTokens ?? null},
        reasoning = ${r.reasoning ?? ''}, tool_calls = ${sql.json((r.toolCalls ?? []) as never)},
        sources = ${sql.json((r.sources ?? []) as never)},
        updated_at = now(), seq = s.sync_seq - 1
      from s
      where messages.id = ${r.messageId} and messages.user_id = ${userId}
      returning ${messageColumns(sql)}
    ), t as (
      update threads set updated_at = now(), seq = s.sync_seq
      from s
      where threads.id = ${r.threadId} and threads.user_id = ${userId} and exists (select 1 from m)
    )
    select * from m`;
  return row ?? null;
}

/** A streaming reply no process here is generating (another instance's, or orphaned): cancelled. */
export async function cancelStreaming(sql: Sql, userId: string, messageId: string) {
  const [row] = await sql.begin(async (tx) => {
    const seq = await nextSeq(tx, userId);
    return tx<Message[]>`
      update messages set status = 'cancelled', updated_at = now(), seq = ${seq}
      where id = ${messageId} and user_id = ${userId} and status = 'streaming'
      returning ${messageColumns(tx)}`;
  });
  return row ?? null;
}

/** Streaming rows left behind by a process that stopped (no write for a while): no one will finish them. */
export async function failOrphans(sql: Sql, olderThanSeconds: number) {
  return (await failStaleReplies(sql, olderThanSeconds, [], 'Interrupted: the server restarted')).length;
}

/**
 * A reply's lease: the instance generating it renews its row's `updated_at` every few
 * seconds (no seq: nothing a client syncs changes). A streaming row whose lease ran out
 * belongs to an instance that died (SIGKILL, crash, lost machine).
 */
export async function renewReplyLeases(sql: Sql, messageIds: string[]) {
  if (!messageIds.length) return;
  // A row locked by another write is skipped, never waited for: that write is the reply's
  // writer (or its end), which moves updated_at itself. Waiting could deadlock with the writer.
  await sql`
    update messages m set updated_at = now()
    from (select id from messages where id = any(${messageIds}::uuid[]) and status = 'streaming'
          order by id for update skip locked) s
    where m.id = s.id`;
}

/**
 * Streaming rows whose lease ran out (`olderThanSeconds` without a write), except the
 * ones this process is generating (`mine`), end as `error` with what they had; each is
 * stamped with a seq so offline copies learn it. Returns the ids that were ended here.
 */
export async function failStaleReplies(sql: Sql, olderThanSeconds: number, mine: string[], error: string) {
  const rows = await sql<{ id: string; userId: string }[]>`
    select id, user_id from messages
    where status = 'streaming' and updated_at < now() - make_interval(secs => ${olderThanSeconds})
      and not (id = any(${mine}::uuid[]))`;
  const ended: string[] = [];
  for (const row of rows) {
    const done = await sql.begin(async (tx) => {
      const seq = await nextSeq(tx, row.userId);
      return tx`
        update messages set status = 'error', error = ${error}, updated_at = now(), seq = ${seq}
        where id = ${row.id} and status = 'streaming'
          and updated_at < now() - make_interval(secs => ${olderThanSeconds})
        returning id`;
    });
    if (done.length) ended.push(row.id);
  }
  return ended;
}

// ── Messages made elsewhere: generated images, forks ──────────────────────────

/**
 * For a transaction that locks other rows of the user's before it calls a write here
 * (POST /api/images inserts the file row, which references the thread, before the
 * image's message): takes the user's write lock first, as the lock order above wants.
 * No seq is spent.
 */
/**
 * A change the thread's row shows without storing it (its share link was made or revoked): a
 * new seq so sync sends the thread again, with no new activity time (the list order stays).
 */
export async function markThreadChanged(tx: Tx, userId: string, threadId: string) {
  const seq = await nextSeq(tx, userId); // first: see the lock order above
  await tx`update threads set seq = ${seq} where id = ${threadId} and user_id = ${userId}`;
}

export async function lockUserWrites(tx: Tx, userId: string) {
  await tx`select 1 from users where id = ${userId} for no key update`;
}

/** The assistant message holding a generated image: a Message like any other. */
export type ImageMessage = Message;

/**
 * An assistant message carrying a generated image, under the thread's latest message;
 * the thread is touched. Runs in the caller's transaction (the file is saved in it:
 * call lockUserWrites at that transaction's start). Null when the thread is gone (or
 * not the user's).
 */
export async function addImageMessage(
  tx: Tx,
  userId: string,
  threadId: string,
  m: { content: string; model: string; attachment: Attachment; titleIfUntitled?: string },
): Promise<ImageMessage | null> {
  const seq = await nextSeq(tx, userId); // first: see the lock order above
  // The thread's lock keeps "the latest message" the latest until this one is in.
  const [thread] = await tx`select id from threads where id = ${threadId} and user_id = ${userId} for update`;
  if (!thread) return null;
  const [latest] = await tx<{ id: string }[]>`
    select id from messages where thread_id = ${threadId} and user_id = ${userId}
    order by created_at desc, id desc limit 1`;
  const [message] = await tx<ImageMessage[]>`
    insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq)
    values (${crypto.randomUUID()}, ${threadId}, ${userId}, ${latest?.id ?? null}, 'assistant', ${m.content},
            'complete', ${m.model}, ${tx.json([m.attachment] as never)}, ${seq})
    returning ${messageColumns(tx)}`;
  // A chat started by generating an image is named after its prompt, as a text chat is after
  // its first message (a title the user or a model gave stays).
  if (m.titleIfUntitled) {
    await tx`update threads set title = ${m.titleIfUntitled} where id = ${threadId} and user_id = ${userId} and title = ''`;
  }
  await touchThread(tx, userId, threadId);
  return message!;
}

export interface CopiedMessage {
  id: string;
  parentId: string | null;
  role: 'user' | 'assistant';
  content: string;
  status: Message['status'];
  model: string | null;
  attachments: Attachment[];
  /** The original's time (ISO), kept by the copy. */
  createdAt: string;
}

/**
 * Copies messages, given in conversation order, into a (new) thread of the user's.
 * Parents are written before their children (parent_id is a foreign key). They keep
 * their times; the snapshot's are milliseconds (and the embedded database's clock is
 * too), so a microsecond per position keeps the order strict: messages list by
 * (created_at, id) and ids are random.
 */
export async function copyMessages(tx: Tx, userId: string, threadId: string, messages: CopiedMessage[]) {
  const position = new Map(messages.map((m, i) => [m.id, i]));
  for (const m of parentsFirst(messages)) {
    const order = position.get(m.id)!;
    const seq = await nextSeq(tx, userId);
    await tx`
      insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq, created_at, updated_at)
      values (${m.id}, ${threadId}, ${userId}, ${m.parentId}, ${m.role}, ${m.content}, ${m.status}, ${m.model},
              ${tx.json(m.attachments as never)}, ${seq},
              ${m.createdAt}::timestamptz + ${order} * interval '1 microsecond',
              ${m.createdAt}::timestamptz + ${order} * interval '1 microsecond')`;
  }
}

// ── Folders and imports ──────────────────────────────────────────────────────

/**
 * Unfiles every thread of a folder about to be deleted, each with its own seq (sync pages
 * cut at a seq, so two rows must never share one), so offline copies learn they moved.
 * Call after the user's seq lock is held (the folder's deletion takes it first).
 */
export async function unfileThreads(tx: Tx, userId: string, folderId: string) {
  const rows = await tx<{ id: string }[]>`
    select id from threads where user_id = ${userId} and folder_id = ${folderId} order by id for update`;
  if (!rows.length) return 0;
  const [range] = await tx<{ last: string }[]>`
    update users set sync_seq = sync_seq + ${rows.length} where id = ${userId} returning sync_seq as last`;
  const first = BigInt(range!.last) - BigInt(rows.length) + 1n;
  await tx`
    update threads set folder_id = null, seq = ${first.toString()}::bigint + numbered.n - 1
    from (select id, row_number() over (order by id) as n from threads
          where user_id = ${userId} and folder_id = ${folderId}) as numbered
    where threads.id = numbered.id`;
  return rows.length;
}

export interface ImportedMessage {
  /** The source's own id: parents refer to it. */
  sourceId: string;
  parentSourceId: string | null;
  role: 'user' | 'assistant' | 'system';
  content: string;
  model: string | null;
  createdAt: string;
  attachments: Attachment[];
}

/**
 * A thread brought in from an export, with its messages (a tree: branches stay
 * branches). `importKey` names the source thread: when the user already has a thread
 * with it, nothing is written and 'skipped' is answered (importing a file twice adds
 * nothing). Message ids are made here (the source's may be someone else's rows);
 * parents are written before children, times are kept (a microsecond per position
 * keeps the order strict where the source's times tie).
 */
export async function insertImportedThread(
  tx: Tx,
  userId: string,
  t: {
    importKey: string;
    title: string;
    model: string | null;
    systemPrompt: string;
    createdAt: string;
    updatedAt: string;
    pinned?: boolean;
    archived?: boolean;
    messages: ImportedMessage[];
  },
  /** Runs once the thread row exists, before its messages (to store files that belong to it). */
  onThread?: (threadId: string) => Promise<void>,
): Promise<{ threadId: string; messages: number } | 'skipped'> {
  await lockUserWrites(tx, userId); // the user's lock first (see the lock order above); no seq spent on a skip
  const [known] = await tx`select 1 from threads where user_id = ${userId} and import_key = ${t.importKey}`;
  if (known) return 'skipped';
  const threadId = crypto.randomUUID();
  const ids = new Map(t.messages.map((m) => [m.sourceId, crypto.randomUUID()]));
  const position = new Map(t.messages.map((m, i) => [m.sourceId, i]));
  const ordered = parentsFirst(t.messages.map((m) => ({ ...m, id: m.sourceId, parentId: m.parentSourceId })));
  const count = ordered.length;
  // One seq per row, taken at once: the thread's, then one per message.
  const [range] = await tx<{ last: string }[]>`
    update users set sync_seq = sync_seq + ${count + 1} where id = ${userId} returning sync_seq as last`;
  let seq = BigInt(range!.last) - BigInt(count);
  await tx`
    insert into threads (id, user_id, title, model, system_prompt, pinned, archived, import_key, created_at, updated_at, seq)
    values (${threadId}, ${userId}, ${t.title}, ${t.model}, ${t.systemPrompt}, ${t.pinned ?? false}, ${t.archived ?? false},
            ${t.importKey}, ${t.createdAt}, ${t.updatedAt}, ${seq.toString()})`;
  await onThread?.(threadId);
  const rows = ordered.map((m) => {
    seq += 1n;
    const at = new Date(new Date(m.createdAt).getTime()).toISOString();
    return {
      id: ids.get(m.sourceId)!,
      thread_id: threadId,
      user_id: userId,
      parent_id: m.parentSourceId ? (ids.get(m.parentSourceId) ?? null) : null,
      role: m.role,
      content: m.content,
      status: 'complete',
      model: m.model,
      attachments: m.attachments,
      seq: seq.toString(),
      created_at: at,
      order: position.get(m.sourceId)!,
    };
  });
  // In slices: one statement's parameters are capped (65,535).
  for (let i = 0; i < rows.length; i += 500) {
    const slice = rows.slice(i, i + 500);
    await tx`
      insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq, created_at, updated_at)
      select r.id, r.thread_id, r.user_id, r.parent_id, r.role, r.content, r.status, r.model, r.attachments, r.seq,
             r.created_at + r.ord * interval '1 microsecond', r.created_at + r.ord * interval '1 microsecond'
      from jsonb_to_recordset(${tx.json(slice.map(({ order, ...r }) => ({ ...r, ord: order })) as never)})
        as r(id uuid, thread_id uuid, user_id uuid, parent_id uuid, role text, content text, status text, model text,
             attachments jsonb, seq bigint, created_at timestamptz, ord int)`;
  }
  return { threadId, messages: count };
}
