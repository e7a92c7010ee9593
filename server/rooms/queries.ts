/**
 * The SQL of rooms: the only code that writes `rooms`, `room_members` and
 * `room_messages`. Every change to a room's messages takes the room's next `seq`
 * under the room row's lock (`bump`), so the sequence is gap-free per room and
 * `changesSince` replays exactly what a client missed, whichever instance wrote it.
 */
import type { Sql, Tx } from '../db';
import { keyset } from '../infra/paging';
import type { Member, Room, RoomMessage } from './model';

type Db = Sql | Tx;

/** Who is asking: visibility depends on membership and role. */
export interface Viewer {
  id: string;
  role: string;
}

const roomColumns = (db: Db, viewerId: string) => db`
  r.id, r.name, r.description, r.visibility, r.model, r.system_prompt, r.voice, r.owner_id,
  r.seq::float8 as seq, r.created_at, r.updated_at,
  (select count(*)::int from room_members m where m.room_id = r.id) as member_count,
  exists (select 1 from room_members m where m.room_id = r.id and m.user_id = ${viewerId}) as joined`;

/** A restricted account sees only rooms it was added to; others also see every public room. */
const visible = (db: Db, viewer: Viewer) =>
  viewer.role === 'restricted'
    ? db`exists (select 1 from room_members m where m.room_id = r.id and m.user_id = ${viewer.id})`
    : db`(r.visibility = 'public' or exists (select 1 from room_members m where m.room_id = r.id and m.user_id = ${viewer.id}))`;

export async function listRooms(db: Db, viewer: Viewer) {
  return db<Room[]>`
    select ${roomColumns(db, viewer.id)} from rooms r
    where ${visible(db, viewer)}
    order by r.updated_at desc, r.id desc
    limit 500`;
}

/** The room if the viewer may see it (a private room they are not in is absent, like an unknown id). */
export async function findRoom(db: Db, viewer: Viewer, roomId: string) {
  const [row] = await db<Room[]>`select ${roomColumns(db, viewer.id)} from rooms r where r.id = ${roomId} and ${visible(db, viewer)}`;
  return row ?? null;
}

export async function insertRoom(
  tx: Tx,
  ownerId: string,
  body: { name: string; description: string; visibility: string; model: string | null; systemPrompt: string | null; voice: string | null },
) {
  const [row] = await tx<{ id: string }[]>`
    insert into rooms (name, description, visibility, model, system_prompt, voice, owner_id)
    values (${body.name}, ${body.description}, ${body.visibility}, ${body.model}, ${body.systemPrompt}, ${body.voice}, ${ownerId})
    returning id`;
  await tx`insert into room_members (room_id, user_id, role) values (${row!.id}, ${ownerId}, 'owner')`;
  return row!.id;
}

export async function updateRoom(db: Db, roomId: string, patch: Record<string, string | null>) {
  const columns: Record<string, string | null> = {};
  const names: Record<string, string> = { name: 'name', description: 'description', visibility: 'visibility', model: 'model', systemPrompt: 'system_prompt', voice: 'voice' };
  for (const [key, value] of Object.entries(patch)) if (names[key] && value !== undefined) columns[names[key]!] = value;
  if (!Object.keys(columns).length) return;
  await db`update rooms set ${db(columns)}, updated_at = now() where id = ${roomId}`;
}

export async function deleteRoom(db: Db, roomId: string) {
  await db`delete from rooms where id = ${roomId}`;
}

export async function members(db: Db, roomId: string) {
  return db<Member[]>`
    select m.user_id, u.name, m.role, coalesce(m.online_until > now(), false) as online
    from room_members m join users u on u.id = m.user_id
    where m.room_id = ${roomId}
    order by m.role desc, u.name, m.user_id`;
}

/** The members as mentions name them (no name: the email's local part), and whether a stream of theirs is open. */
export async function mentionTargets(db: Db, roomId: string) {
  return db<{ userId: string; name: string; online: boolean }[]>`
    select m.user_id, coalesce(nullif(u.name, ''), split_part(u.email, '@', 1)) as name,
           coalesce(m.online_until > now(), false) as online
    from room_members m join users u on u.id = m.user_id
    where m.room_id = ${roomId} and not u.disabled`;
}

export async function isMember(db: Db, roomId: string, userId: string) {
  const [row] = await db`select 1 from room_members where room_id = ${roomId} and user_id = ${userId}`;
  return Boolean(row);
}

/** Adds a member; false when they already were one. */
export async function addMember(db: Db, roomId: string, userId: string) {
  const rows = await db`
    insert into room_members (room_id, user_id) values (${roomId}, ${userId})
    on conflict do nothing returning 1`;
  return rows.length > 0;
}

export async function removeMember(db: Db, roomId: string, userId: string) {
  const rows = await db`delete from room_members where room_id = ${roomId} and user_id = ${userId} and role <> 'owner' returning 1`;
  return rows.length > 0;
}

/** Marks the member online until `seconds` from now (refreshed while a stream is open), or offline. */
export async function setOnline(db: Db, roomId: string, userId: string, seconds: number) {
  await db`
    update room_members set online_until = ${seconds > 0 ? db`now() + ${seconds} * interval '1 second'` : db`null`}
    where room_id = ${roomId} and user_id = ${userId}`;
}

const messageColumns = (db: Db) => db`
  id, room_id, author_id, author_name, role, content, status, error, reply_to, model, seq::float8 as seq, created_at`;

/** The room's next sequence number, taking the room row's lock until the transaction ends. */
async function bump(tx: Tx, roomId: string): Promise<number> {
  const [row] = await tx<{ seq: number }[]>`update rooms set seq = seq + 1 where id = ${roomId} returning seq::float8 as seq`;
  if (!row) throw new Error('room gone');
  return row.seq;
}

export interface NewRoomMessage {
  id: string;
  authorId: string | null;
  authorName: string;
  role: 'user' | 'assistant';
  content: string;
  status: RoomMessage['status'];
  replyTo?: string | null;
  requestedBy?: string | null;
  model?: string | null;
}

/** Inserts a message with the room's next seq; null when the id exists already (a retry). */
export async function insertMessage(tx: Tx, roomId: string, m: NewRoomMessage) {
  const seq = await bump(tx, roomId);
  const [row] = await tx<RoomMessage[]>`
    insert into room_messages (id, room_id, author_id, author_name, role, content, status, reply_to, requested_by, model, seq)
    values (${m.id}, ${roomId}, ${m.authorId}, ${m.authorName}, ${m.role}, ${m.content}, ${m.status},
            ${m.replyTo ?? null}, ${m.requestedBy ?? null}, ${m.model ?? null}, ${seq})
    on conflict (id) do nothing
    returning ${messageColumns(tx)}`;
  return row ?? null;
}

export async function findMessage(db: Db, roomId: string, messageId: string) {
  const [row] = await db<(RoomMessage & { requestedBy: string | null })[]>`
    select ${messageColumns(db)}, requested_by from room_messages where id = ${messageId} and room_id = ${roomId}`;
  return row ?? null;
}

/** Appends streamed text to a reply; the new seq, or null when the reply or room is gone. */
export async function appendText(sql: Sql, roomId: string, messageId: string, text: string) {
  return sql.begin(async (tx) => {
    const [room] = await tx`select 1 from rooms where id = ${roomId}`;
    if (!room) return null;
    const seq = await bump(tx, roomId);
    const rows = await tx`
      update room_messages set content = content || ${text}, seq = ${seq}, updated_at = now()
      where id = ${messageId} and status = 'streaming' returning 1`;
    return rows.length ? seq : null;
  });
}

/** Keeps a silent reply's claim fresh (see claimNext). */
export async function touchMessage(sql: Sql, messageId: string) {
  await sql`update room_messages set updated_at = now() where id = ${messageId} and status = 'streaming'`;
}

/** A reply's final state (content is already in the row); the message, or null when gone. */
export async function finishMessage(sql: Sql, roomId: string, messageId: string, status: 'complete' | 'error', error: string | null) {
  return sql.begin(async (tx) => {
    const [room] = await tx`select 1 from rooms where id = ${roomId}`;
    if (!room) return null;
    const seq = await bump(tx, roomId);
    const [row] = await tx<RoomMessage[]>`
      update room_messages set status = ${status}, error = ${error}, seq = ${seq}, updated_at = now()
      where id = ${messageId} and status in ('streaming', 'queued')
      returning ${messageColumns(tx)}`;
    return row ?? null;
  });
}

/** Takes a message down (moderation): its text is gone for everyone. */
export async function removeMessage(tx: Tx, roomId: string, messageId: string) {
  const seq = await bump(tx, roomId);
  const [row] = await tx<RoomMessage[]>`
    update room_messages set status = 'removed', content = '', error = null, seq = ${seq}, updated_at = now()
    where id = ${messageId} and room_id = ${roomId} and status <> 'removed'
    returning ${messageColumns(tx)}`;
  return row ?? null;
}

/** Every message changed after `since`, in seq order (each once, in its current state). */
export async function changesSince(db: Db, roomId: string, since: number, limit = 1000) {
  return db<RoomMessage[]>`
    select ${messageColumns(db)} from room_messages
    where room_id = ${roomId} and seq > ${since}
    order by seq limit ${limit}`;
}

export async function roomSeq(db: Db, roomId: string) {
  const [row] = await db<{ seq: number }[]>`select seq::float8 as seq from rooms where id = ${roomId}`;
  return row?.seq ?? null;
}

export async function pageMessages(db: Db, roomId: string, before: [string, string] | null, limit: number) {
  const k = keyset(db, 'created_at', 'id');
  return db<(RoomMessage & { cursor: string })[]>`
    select ${messageColumns(db)}, ${k.cursor} from room_messages
    where room_id = ${roomId} ${k.after(before)}
    order by created_at desc, id desc limit ${limit + 1}`;
}

/** The conversation before a reply, newest first (the caller trims and reverses it). */
export async function historyBefore(db: Db, roomId: string, replyId: string, limit = 60) {
  return db<{ authorName: string; role: 'user' | 'assistant'; content: string }[]>`
    select author_name, role, content from room_messages
    where room_id = ${roomId} and status = 'complete' and content <> ''
      and created_at <= (select created_at from room_messages where id = ${replyId})
      and id <> ${replyId}
    order by created_at desc, id desc limit ${limit}`;
}

/** A reply whose instance stopped refreshing it this long ago is taken as dead. */
export const STALE_SECONDS = 30;

/**
 * The assistant answers one mention at a time per room, across instances: under the
 * room row's lock, a reply whose instance died is failed, and the oldest queued one
 * becomes `streaming` only if none is. Returns it (with who pays), or null.
 */
export async function claimNext(sql: Sql, roomId: string) {
  return sql.begin(async (tx) => {
    const [room] = await tx`select 1 from rooms where id = ${roomId} for update`;
    if (!room) return { claimed: null, failed: [] as RoomMessage[] };
    const failed: RoomMessage[] = [];
    const stale = await tx<{ id: string }[]>`
      select id from room_messages
      where room_id = ${roomId} and status = 'streaming' and updated_at < now() - ${STALE_SECONDS} * interval '1 second'`;
    for (const { id } of stale) {
      const seq = await bump(tx, roomId);
      const [row] = await tx<RoomMessage[]>`
        update room_messages set status = 'error', error = 'The reply was interrupted', seq = ${seq}, updated_at = now()
        where id = ${id} returning ${messageColumns(tx)}`;
      if (row) failed.push(row);
    }
    const [busy] = await tx`select 1 from room_messages where room_id = ${roomId} and status = 'streaming'`;
    if (busy) return { claimed: null, failed };
    const [next] = await tx<{ id: string }[]>`
      select id from room_messages where room_id = ${roomId} and status = 'queued' order by seq limit 1`;
    if (!next) return { claimed: null, failed };
    const seq = await bump(tx, roomId);
    const [claimed] = await tx<(RoomMessage & { requestedBy: string | null })[]>`
      update room_messages set status = 'streaming', seq = ${seq}, updated_at = now()
      where id = ${next.id} returning ${messageColumns(tx)}, requested_by`;
    return { claimed: claimed ?? null, failed };
  });
}
