/**
 * Flags: a user reports an assistant reply (in their own threads; room messages once rooms
 * exist) with a reason; admins review them (open → resolved | dismissed). Flagging the same
 * message twice updates the reason instead of adding a second flag.
 */
import type { Sql } from '../db';
import { badRequest, notFound } from '../errors';
import { keyset, parseCursor, takePage } from '../infra/paging';
import { branch, getMessage } from '../conversations/queries';
import type { Flag, FlagDetail } from '../admin/model';

const columns = (sql: Sql) => sql`
  f.id, f.message_id, f.thread_id, f.room_id, f.user_id, f.reason, f.status, f.created_at,
  left(coalesce(m.content, ''), 280) as excerpt`;

export async function flagMessage(sql: Sql, userId: string, messageId: string, reason: string): Promise<Flag> {
  const message = await getMessage(sql, userId, messageId);
  if (!message) throw notFound('Message');
  if (message.role !== 'assistant') throw badRequest({ id: 'only assistant replies can be flagged' });
  const [row] = await sql<{ id: string }[]>`
    insert into flags (message_id, thread_id, user_id, reason)
    values (${messageId}, ${message.threadId}, ${userId}, ${reason.trim()})
    on conflict (message_id, user_id) do update set reason = excluded.reason, status = 'open', updated_at = now()
    returning id`;
  return (await getFlag(sql, row!.id))!;
}

export async function getFlag(sql: Sql, id: string) {
  const [row] = await sql<Flag[]>`
    select ${columns(sql)} from flags f left join messages m on m.id = f.message_id where f.id = ${id}`;
  return row ?? null;
}

export async function listFlags(sql: Sql, query: { status?: Flag['status']; limit?: number; before?: string }) {
  const limit = query.limit ?? 50;
  const page = keyset(sql, 'f.created_at', 'f.id');
  const rows = await sql<(Flag & { cursor: string })[]>`
    select ${columns(sql)}, ${page.cursor}
    from flags f left join messages m on m.id = f.message_id
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
  const [owner] = await sql<{ userId: string }[]>`select user_id from messages where id = ${flag.messageId}`;
  const path = owner ? await branch(sql, owner.userId, flag.messageId) : [];
  const ids = path.slice(-6).map((m) => m.id);
  const context = ids.length
    ? await sql<FlagDetail['context']>`
        select id, role, content, model, created_at from messages where id = any(${ids}::uuid[]) order by created_at, id`
    : [];
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
