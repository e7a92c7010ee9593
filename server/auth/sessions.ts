/**
 * Sessions and devices: the account's logins, each a refresh-token family, with the
 * device read from its user agent. Signing a device out revokes its session row (every
 * request checks it, so its access token stops working at once) and ends the streams it
 * has open in this process (SessionStreams).
 */
import type { Sql } from '../db';
import { notFound } from '../errors';
import { revokeSession } from './queries';

/** Open streams per session in this process, so signing a device out closes them at once. */
/** What ends a session's open streams (the app's stream registry, server/replies/streams.ts). */
export interface SessionStreams {
  end(sessionIds: Iterable<string>): void;
}

/** "Chrome on Android", "Safari on iPhone", "Firefox on Linux": enough to recognise a device. */
export function deviceName(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const ua = userAgent;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\/|Opera/.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrome\/|CriOS\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : /^curl\//.test(ua)
              ? 'curl'
              : null;
  const os = /iPhone/.test(ua)
    ? 'iPhone'
    : /iPad/.test(ua)
      ? 'iPad'
      : /Android/.test(ua)
        ? 'Android'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Mac OS X|Macintosh/.test(ua)
            ? 'Mac'
            : /CrOS/.test(ua)
              ? 'ChromeOS'
              : /Linux/.test(ua)
                ? 'Linux'
                : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? ua.slice(0, 60);
}

export interface SessionView {
  id: string;
  current: boolean;
  device: string;
  createdAt: string;
  lastSeenAt: string;
}

export async function listSessions(sql: Sql, userId: string, currentId: string): Promise<SessionView[]> {
  const rows = await sql<{ id: string; userAgent: string | null; createdAt: string; lastUsedAt: string }[]>`
    select id, user_agent, created_at, last_used_at from sessions
    where user_id = ${userId} and revoked_at is null and expires_at > now()
    order by (id = ${currentId}) desc, last_used_at desc, id
    limit 200`;
  return rows.map((r) => ({
    id: r.id,
    current: r.id === currentId,
    device: deviceName(r.userAgent),
    createdAt: r.createdAt,
    lastSeenAt: r.lastUsedAt,
  }));
}

/** Signs one of the account's devices out; 404 when the session is not the caller's. */
export async function endSession(sql: Sql, streams: SessionStreams, userId: string, sessionId: string) {
  const [row] = await sql<{ id: string }[]>`
    select id from sessions where id = ${sessionId} and user_id = ${userId} and revoked_at is null`;
  if (!row) throw notFound('Session');
  await revokeSession(sql, sessionId);
  streams.end([sessionId]);
}

export async function endOtherSessions(sql: Sql, streams: SessionStreams, userId: string, keepId: string) {
  const rows = await sql<{ id: string }[]>`
    update sessions set revoked_at = now()
    where user_id = ${userId} and id <> ${keepId} and revoked_at is null
    returning id`;
  streams.end(rows.map((r) => r.id));
}

/** When this process last asked the database to mark a session seen (bounded: cleared when full). */
const lastTouched = new Map<string, number>();
const TOUCH_EVERY_MS = 60_000;
const TOUCH_MEMORY = 10_000;

/**
 * Marks the session and the account as seen (Settings shows it; idle guests are swept by it).
 * Throttled to once a minute per session so a busy client does not write on every request:
 * in the database (another instance may have touched it), and before that in this process,
 * so most requests send no query at all.
 */
export async function touchSeen(sql: Sql, userId: string, sessionId: string) {
  const now = Date.now();
  if (now - (lastTouched.get(sessionId) ?? 0) < TOUCH_EVERY_MS) return;
  if (lastTouched.size >= TOUCH_MEMORY) lastTouched.clear();
  lastTouched.set(sessionId, now);
  // Best effort and never waiting: rows another transaction holds (an admin changing the
  // account, a sign-out) are skipped, so this can never be part of a deadlock.
  await sql`
    with s as (
      update sessions set last_used_at = now()
      where id = (select id from sessions where id = ${sessionId} and last_used_at < now() - interval '1 minute' for update skip locked)
      returning user_id
    )
    update users set last_seen_at = now()
    where id = (select u.id from users u where u.id = ${userId} and u.id in (select user_id from s) for update skip locked)`;
}
