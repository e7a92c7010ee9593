/**
 * Rooms: who may see and change what, posting (with the assistant called in by a
 * mention), and the live event stream. Routes (index.ts) make one call here each;
 * SQL is in queries.ts, the assistant's turn in assistant.ts, delivery across
 * instances in bus.ts.
 */
import type { AppDeps } from '../deps';
import { badRequest, conflict, forbidden, notFound } from '../errors';
import { enforce } from '../infra/rate-limit';
import { parseCursor, takePage } from '../infra/paging';
import { findUserByEmail } from '../auth/queries';
import { normalizeEmail } from '../auth/email';
import { eventStream } from '../replies/sse';
import type { RoomBus } from './bus';
import type { HubEvent, RoomHubs } from './hub';
import * as q from './queries';
import type { Viewer } from './queries';
import {
  CREATE_LIMIT,
  MESSAGE_LIMIT,
  type CreateRoomBody,
  type RoomEvent,
  type RoomMessage,
  type UpdateRoomBody,
} from './model';
import { HELP_TEXT, isHelp, mentionedHandles, mentions, mentionsAssistant } from '../common/rooms';
import { pump, type AssistantDeps } from './assistant';
import { release, reserve } from '../quota/service';
import type { Push } from '../push/service';
import type { Streams } from '../replies/streams';
import { log } from '../log';

export type RoomsDeps = Pick<AppDeps, 'sql' | 'config' | 'providers'> & {
  bus: RoomBus;
  /** Web Push: a mentioned member who does not have the room open is notified. */
  push?: Pick<Push, 'notify' | 'watching'>;
  /** The app's stream registry: sign-out, a revoked session or a disabled account end room streams at once. */
  streams?: Streams;
};
export type RoomUser = Viewer & { name: string; email: string };

const isAdmin = (user: RoomUser) => user.role === 'admin';

async function visibleRoom(deps: RoomsDeps, user: RoomUser, roomId: string) {
  const room = await q.findRoom(deps.sql, user, roomId);
  if (!room) throw notFound('Room');
  return room;
}

/** Owner or admin; everyone else who can see the room gets 403. */
async function managedRoom(deps: RoomsDeps, user: RoomUser, roomId: string) {
  const room = await visibleRoom(deps, user, roomId);
  if (room.ownerId !== user.id && !isAdmin(user)) throw forbidden('Only the room’s owner or an admin can do this');
  return room;
}

export async function createRoom(deps: RoomsDeps, user: RoomUser, body: CreateRoomBody) {
  if (user.role === 'restricted') throw forbidden('This account can use the rooms it was added to, not create new ones');
  await enforce(deps.sql, [{ key: `rooms:create:${user.id}`, ...CREATE_LIMIT }]);
  const id = await deps.sql.begin((tx) =>
    q.insertRoom(tx, user.id, {
      name: body.name.trim() || body.name,
      description: body.description ?? '',
      visibility: body.visibility,
      model: body.model ?? null,
      systemPrompt: body.systemPrompt ?? null,
      voice: body.voice ?? null,
    }),
  );
  return (await q.findRoom(deps.sql, user, id))!;
}

export function listRooms(deps: RoomsDeps, user: RoomUser) {
  return q.listRooms(deps.sql, user);
}
export const getRoom = visibleRoom;

export async function updateRoom(deps: RoomsDeps, user: RoomUser, roomId: string, patch: UpdateRoomBody) {
  await managedRoom(deps, user, roomId);
  if (patch.name !== undefined && !patch.name.trim()) throw badRequest({ name: 'must not be blank' });
  await q.updateRoom(deps.sql, roomId, patch as Record<string, string | null>);
  return (await q.findRoom(deps.sql, user, roomId))!;
}

export async function deleteRoom(deps: RoomsDeps, user: RoomUser, roomId: string) {
  await managedRoom(deps, user, roomId);
  // The assistant's turn in progress anywhere stops at its next write (the room is gone),
  // and every open stream of the room ends.
  await q.deleteRoom(deps.sql, roomId);
  await deps.bus.publish({ k: 'g', room: roomId });
}

export async function listMembers(deps: RoomsDeps, user: RoomUser, roomId: string) {
  await visibleRoom(deps, user, roomId);
  return q.members(deps.sql, roomId);
}

export async function addMember(deps: RoomsDeps, user: RoomUser, roomId: string, email: string) {
  await managedRoom(deps, user, roomId);
  const found = await findUserByEmail(deps.sql, normalizeEmail(email));
  if (!found || found.disabled) throw badRequest({ email: 'no account uses this email' });
  if (!(await q.addMember(deps.sql, roomId, found.id))) throw conflict('Already a member', { email: 'is already a member' });
  return (await q.members(deps.sql, roomId)).find((m) => m.userId === found.id)!;
}

export async function join(deps: RoomsDeps, user: RoomUser, roomId: string) {
  const room = await visibleRoom(deps, user, roomId);
  if (room.visibility !== 'public' && !room.joined) throw notFound('Room');
  await q.addMember(deps.sql, roomId, user.id);
  return (await q.members(deps.sql, roomId)).find((m) => m.userId === user.id)!;
}

/** The owner or an admin removes anyone but the owner; a member may leave. */
export async function removeMember(deps: RoomsDeps, user: RoomUser, roomId: string, memberId: string) {
  const room = await visibleRoom(deps, user, roomId);
  if (memberId !== user.id && room.ownerId !== user.id && !isAdmin(user)) {
    throw forbidden('Only the room’s owner or an admin can remove members');
  }
  if (memberId === room.ownerId) throw conflict('The owner cannot leave or be removed; delete the room instead');
  if (!(await q.removeMember(deps.sql, roomId, memberId))) throw notFound('Member');
  // Their open streams (on any instance) end at once; a private room is then absent for them.
  await deps.bus.publish({ k: 'g', room: roomId, userId: memberId });
}

export async function pageMessages(deps: RoomsDeps, user: RoomUser, roomId: string, before: string | undefined, limit = 50) {
  await visibleRoom(deps, user, roomId);
  const cursor = before ? parseCursor(before) : null;
  if (before && !cursor) throw badRequest({ before: 'must be a cursor from a previous page' });
  const { page, nextCursor } = takePage(await q.pageMessages(deps.sql, roomId, cursor, limit), limit);
  return { messages: page as RoomMessage[], nextCursor };
}

/**
 * Posts a message (idempotent on the client's id: a retry answers the stored one with
 * `created: false`). A mention queues the assistant's answer; `!help` is answered at once.
 */
export async function postMessage(
  deps: RoomsDeps,
  user: RoomUser,
  roomId: string,
  body: { id: string; content: string },
  viewers?: RoomViewers,
) {
  const room = await visibleRoom(deps, user, roomId);
  if (!room.joined && room.visibility !== 'public') throw notFound('Room');
  const content = body.content.trim();
  if (!content) throw badRequest({ content: 'must not be blank' });
  await enforce(deps.sql, [{ key: `rooms:message:${user.id}`, ...MESSAGE_LIMIT, max: deps.config.auth.roomMessageLimit }]);

  // Calling the assistant needs allowance left: 429 quota_exceeded before anything is written.
  if (mentionsAssistant(content) && !isHelp(content)) await release(deps.sql, await reserve(deps.sql, user.id, 1));
  const existing = await q.findMessage(deps.sql, roomId, body.id);
  if (existing) {
    if (existing.authorId !== user.id) throw conflict('This id is taken', { id: 'is already used' });
    return { message: existing as RoomMessage, created: false };
  }
  const inserted: RoomMessage[] = [];
  const message = await deps.sql.begin(async (tx) => {
    // Posting in a public room joins it.
    if (!room.joined) await q.addMember(tx, roomId, user.id);
    const mine = await q.insertMessage(tx, roomId, {
      id: body.id,
      authorId: user.id,
      authorName: user.name || user.email.split('@')[0]!,
      role: 'user',
      content,
      status: 'complete',
    });
    if (!mine) return null;
    inserted.push(mine);
    if (isHelp(content)) {
      const help = await q.insertMessage(tx, roomId, {
        id: crypto.randomUUID(),
        authorId: null,
        authorName: 'Assistant',
        role: 'assistant',
        content: HELP_TEXT,
        status: 'complete',
        replyTo: mine.id,
      });
      if (help) inserted.push(help);
    } else if (mentionsAssistant(content)) {
      const queued = await q.insertMessage(tx, roomId, {
        id: crypto.randomUUID(),
        authorId: null,
        authorName: 'Assistant',
        role: 'assistant',
        content: '',
        status: 'queued',
        replyTo: mine.id,
        requestedBy: user.id,
        model: room.model,
      });
      if (queued) inserted.push(queued);
    }
    return mine;
  });
  if (!message) {
    // Inserted by a concurrent retry of the same request.
    const again = await q.findMessage(deps.sql, roomId, body.id);
    if (!again || again.authorId !== user.id) throw conflict('This id is taken', { id: 'is already used' });
    return { message: again as RoomMessage, created: false };
  }
  for (const m of inserted) await deps.bus.publish({ k: 'm', room: roomId, seq: m.seq, id: m.id });
  if (inserted.some((m) => m.status === 'queued')) void pump(assistantDeps(deps), roomId);
  // Who to notify is decided now (who has the room open as it is posted); the sending is not awaited.
  if (viewers) await notifyMentioned(deps, viewers, room, message).catch((error) => log.warn('room mention notifications failed', { error: String(error) }));
  return { message, created: true };
}

const BODY_CHARS = 140;

/**
 * A member mentioned by `@name` (server/common/rooms.ts) gets a notification on their
 * devices, unless they have the room open as the message is posted: a stream of the room
 * on this instance whose window has not reported itself hidden, or (none here) the room's
 * presence says a stream of theirs is open on another instance (whose windows' visibility
 * this instance does not know: counted as watching).
 */
async function notifyMentioned(deps: RoomsDeps, viewers: RoomViewers, room: { id: string; name: string }, message: RoomMessage) {
  const push = deps.push;
  if (!push) return;
  const handles = mentionedHandles(message.content);
  handles.delete('ai');
  handles.delete('assistant');
  if (!handles.size) return;
  const text = message.content.replace(/\s+/g, ' ').trim();
  const body = text.length > BODY_CHARS ? `${text.slice(0, BODY_CHARS).replace(/\s+\S*$/, '')}…` : text;
  for (const member of await q.mentionTargets(deps.sql, room.id)) {
    if (member.userId === message.authorId || !mentions(message.content, member.name, handles)) continue;
    const here = viewers.sessions(room.id, member.userId);
    if (await push.watching(here)) continue;
    if (!here.length && member.online) continue;
    // Not awaited: the POST does not wait on the push services.
    void push.notify(member.userId, {
      title: `${message.authorName} in # ${room.name}`,
      body,
      roomId: room.id,
      messageId: message.id,
      url: `${deps.config.http.publicUrl}/rooms/${room.id}`,
    }).catch((error) => log.warn('a room mention notification failed', { error: String(error) }));
  }
}

/** The sessions with a stream of each room open in this instance (presence and "has the room open"). */
export class RoomViewers {
  #open = new Map<string, string[]>();
  add(roomId: string, userId: string, sessionId: string) {
    const key = `${roomId}:${userId}`;
    this.#open.set(key, [...(this.#open.get(key) ?? []), sessionId]);
  }
  /** Forgets one stream; true when it was this user's last one in the room here. */
  remove(roomId: string, userId: string, sessionId: string) {
    const key = `${roomId}:${userId}`;
    const left = [...(this.#open.get(key) ?? [])];
    const i = left.indexOf(sessionId);
    if (i >= 0) left.splice(i, 1);
    if (left.length) this.#open.set(key, left);
    else this.#open.delete(key);
    return !left.length;
  }
  sessions(roomId: string, userId: string): readonly string[] {
    return this.#open.get(`${roomId}:${userId}`) ?? [];
  }
}

export async function removeMessage(deps: RoomsDeps, user: RoomUser, roomId: string, messageId: string) {
  const room = await visibleRoom(deps, user, roomId);
  const message = await q.findMessage(deps.sql, roomId, messageId);
  if (!message) throw notFound('Message');
  if (message.authorId !== user.id && room.ownerId !== user.id && !isAdmin(user)) {
    throw forbidden('Only the author, the room’s owner or an admin can remove a message');
  }
  const removed = await deps.sql.begin((tx) => q.removeMessage(tx, roomId, messageId));
  if (removed) await deps.bus.publish({ k: 'm', room: roomId, seq: removed.seq, id: removed.id });
}

export async function typing(deps: RoomsDeps, user: RoomUser, roomId: string) {
  const room = await visibleRoom(deps, user, roomId);
  if (!room.joined) return;
  await deps.bus.publish({ k: 't', room: roomId, userId: user.id, name: user.name || user.email.split('@')[0]! });
}

const assistantDeps = (deps: RoomsDeps): AssistantDeps => deps;

/** How long a stream keeps its member "online" between refreshes. */
const ONLINE_SECONDS = 45;
const REFRESH_MS = 15_000;

/**
 * GET /api/rooms/:id/events: with `since` (or Last-Event-ID), every message changed
 * after it first, then live events (from this instance's hub for the room); each
 * message event carries the room's `seq` as its SSE id, and nothing is sent twice or
 * skipped.
 */
export async function events(
  deps: RoomsDeps,
  hubs: RoomHubs,
  user: RoomUser,
  roomId: string,
  since: number | null,
  signal: AbortSignal,
  viewers: RoomViewers,
  sessionId: string,
) {
  const room = await visibleRoom(deps, user, roomId);
  const start = since ?? room.seq;
  const name = user.name || user.email.split('@')[0]!;

  type Start = Parameters<typeof eventStream<RoomEvent>>[1];
  const feed: Start = (send, close) => {
    let last = start;
    let live = false;
    let ended = false;
    const early: HubEvent[] = [];

    const deliver = (e: HubEvent) => {
      if (ended) return;
      if (e.kind === 'gone') {
        if (!e.userId || e.userId === user.id) close();
        return;
      }
      const { event } = e;
      if (event.event === 'typing' && event.data.userId === user.id) return;
      if (event.event === 'presence' || event.event === 'typing') return send({ ...event, data: { ...event.data, seq: last } } as RoomEvent);
      if (event.data.seq <= last) return; // already sent in the catch-up
      last = event.data.seq;
      send(event, event.data.seq);
    };
    let leave: (() => void) | null = null;
    const online = async (seconds: number) => {
      if (!room.joined) return;
      await q.setOnline(deps.sql, roomId, user.id, seconds).catch(() => {});
      await deps.bus.publish({ k: 'p', room: roomId, userId: user.id, name, online: seconds > 0 }).catch(() => {});
    };
    viewers.add(roomId, user.id, sessionId);
    // Live events are held while the replay is read (after the hub listens, so nothing
    // falls between), then flow.
    void hubs
      .join(roomId, (e) => (live ? deliver(e) : early.push(e)))
      .then(async (unjoin) => {
        leave = unjoin;
        if (ended) return unjoin();
        for (;;) {
          const rows = await q.changesSince(deps.sql, roomId, last, 500);
          for (const message of rows) {
            last = Math.max(last, message.seq);
            send({ event: 'message', data: { seq: message.seq, message } }, message.seq);
          }
          if (rows.length < 500) break;
        }
        // Who is here now, read after the hub listens. The page read the members before this
        // stream opened: a presence note sent between the two (a member arriving or leaving
        // just then) reached no listener here, so each member's state is sent once. A note
        // held meanwhile follows, and is newer.
        for (const m of await q.mentionTargets(deps.sql, roomId)) {
          send({ event: 'presence', data: { seq: last, userId: m.userId, name: m.name, online: m.online } });
        }
        live = true;
        for (const e of early.splice(0)) deliver(e);
        await online(ONLINE_SECONDS);
      })
      .catch(() => close());
    // Presence stays fresh while the stream is open. A session that ends (sign-out, revoked,
    // account disabled) ends the stream at once through the app's stream registry.
    const refresh = setInterval(() => void q.setOnline(deps.sql, roomId, user.id, ONLINE_SECONDS).catch(() => {}), REFRESH_MS);

    return () => {
      ended = true;
      clearInterval(refresh);
      leave?.();
      if (viewers.remove(roomId, user.id, sessionId)) void online(0);
    };
  };
  return eventStream<RoomEvent>(signal, deps.streams ? deps.streams.open({ userId: user.id, sessionId }, feed) : feed);
}
