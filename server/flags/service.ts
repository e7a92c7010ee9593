/**
 * Flags: a user reports an assistant reply (in their own threads, or in a room they can read)
 * with a reason; admins review them (open → resolved | dismissed). Flagging the same
 * message twice updates the reason instead of adding a second flag.
 */
import type { Sql } from '../db';
import { badRequest, notFound } from '../errors';
import { keyset, parseCursor, takePage } from '../infra/paging';
import { branch, getMessage } from '../conversations/queries';
import type { Flag, FlagDetail } from '../admin/model';
import { findRoom, type Viewer } from '../rooms/queries';

const columns = (sql: Sql) => sql`
  f.id, f.message_id, f.thread_id, f.room_id, f.user_id, f.reason, f.status, f.created_at,
  left(coalesce(m.content, rm.content, ''), 280) as excerpt`;

/** Flags joined to what they name: a thread's message or a room's. */
const flagged = (sql: Sql) => sql`
  flags f left join messages m on m.id = f.message_id left join room_messages rm on rm.id = f.message_id`;

/**
 * An assistant reply in one of the user's threads, or in a room they can read (a private
 * room they are not in is as absent as an unknown id).
 */
export async function flagMessage(sql: Sql, user: Viewer, messageId: string, reason: string): Promise<Flag> {
  const message = await getMessage(sql, user.id, messageId);
  let place: { threadId: string | null; roomId: string | null };
  if (message) {
    if (message.role !== 'assistant') throw badRequest({ id: 'only assistant replies can be flagged' });
    place = { threadId: message.threadId, roomId: null };
  } else {
    const [inRoom] = await sql<{ roomId: string; role: string }[]>`select room_id, role from room_messages where id = ${messageId}`;
    if (!inRoom || !(await findRoom(sql, user, inRoom.roomId))) throw notFound('Message');
    if (inRoom.role !== 'assistant') throw badRequest({ id: 'only assistant replies can be flagged' });
    place = { threadId: null, roomId: inRoom.roomId };
  }
  const [row] = await sql<{ id: string }[]>`
    insert into flags (message_id, thread_id, room_id, user_id, reason)
    values (${messageId}, ${place.threadId}, ${place.roomId}, ${user.id}, ${reason.trim()})
    on conflict (message_id, user_id) do update set reason = excluded.reason, status = 'open', updated_at = now()
    returning id`;
  return (await getFlag(sql, row!.id))!;
}

export async function getFlag(sql: Sql, id: string) {
  const [row] = await sql<Flag[]>`
    select ${columns(sql)} from ${flagged(sql)} where f.id = ${id}`;
  return row ?? null;
}

export async function listFlags(sql: Sql, query: { status?: Flag['status']; limit?: number; before?: string }) {
  const limit = query.limit ?? 50;
  const page = keyset(sql, 'f.created_at', 'f.id');
  const rows = await sql<(Flag & { cursor: string })[]>`
    select ${columns(sql)}, ${page.cursor}
    from ${flagged(sql)}
    where f.status = ${query.status ?? 'open'} ${page.after(query.before ? parseCursor(query.before) : null)}
    order by f.created_at desc, f.id desc
    limit ${limit + 1}`;
  const { page: flags, nextCursor } = takePage(rows, limit);
  return { flags, nextCursor };
}

/** The flag with the message in context: its branch's last turns, as the reporter saw them. */
export async function flagDetail(sql: Sql, id: string): Promise<FlagDetail | null> {
  const flag = await getFlag(sql, id);
  if (!flag) return null;
  let context: FlagDetail['context'] = [];
  if (flag.roomId) {
    // In a room: the last messages up to it, as everyone there saw them (names attributed).
    context = (
      await sql<FlagDetail['context']>`
        select id, role, case when role = 'user' then author_name || ': ' || content else content end as content, model, created_at
        from room_messages
        where room_id = ${flag.roomId} and status <> 'removed'
          and created_at <= (select created_at from room_messages where id = ${flag.messageId})
        order by created_at desc, seq desc limit 6` // a question and its queued answer share one time; seq orders them
    ).reverse();
  } else {
    const [owner] = await sql<{ userId: string }[]>`select user_id from messages where id = ${flag.messageId}`;
    const path = owner ? await branch(sql, owner.userId, flag.messageId) : [];
    const ids = path.slice(-6).map((m) => m.id);
    context = ids.length
      ? await sql<FlagDetail['context']>`
          select id, role, content, model, created_at from messages where id = any(${ids}::uuid[]) order by created_at, id`
      : [];
  }
  const [reporter] = await sql<{ id: string; email: string; name: string }[]>`
    select id, email, name from users where id = ${flag.userId}`;
  return { flag, reporter: reporter ?? null, context };
}

export async function setFlagStatus(sql: Sql, id: string, status: Flag['status'], adminId: string) {
  const [row] = await sql`
    update flags set status = ${status}, reviewed_by = ${adminId}, updated_at = now() where id = ${id} returning id`;
  if (!row) throw notFound('Flag');
  return (await getFlag(sql, id))!;
}
