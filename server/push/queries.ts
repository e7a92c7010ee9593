/** The SQL of push subscriptions and visibility reports (this module is their only writer). */
import type { Sql } from '../db';

export interface SubscriptionRow {
  id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** The browser's endpoint, now this session's (a browser signed in again takes it over). */
export async function upsertSubscription(
  sql: Sql,
  s: { userId: string; sessionId: string; endpoint: string; p256dh: string; auth: string },
) {
  await sql`
    insert into push_subscriptions (user_id, session_id, endpoint, p256dh, auth)
    values (${s.userId}, ${s.sessionId}, ${s.endpoint}, ${s.p256dh}, ${s.auth})
    on conflict (endpoint) do update
      set user_id = excluded.user_id, session_id = excluded.session_id,
          p256dh = excluded.p256dh, auth = excluded.auth, created_at = now()`;
}

export async function deleteSubscription(sql: Sql, userId: string, endpoint: string) {
  const rows = await sql`delete from push_subscriptions where user_id = ${userId} and endpoint = ${endpoint} returning id`;
  return rows.length > 0;
}

export async function deleteSubscriptionById(sql: Sql, id: string) {
  await sql`delete from push_subscriptions where id = ${id}`;
}

/** How many devices an account has subscribed (a cap, so one account cannot fan out without end). */
export async function countSubscriptions(sql: Sql, userId: string) {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from push_subscriptions where user_id = ${userId}`;
  return row?.n ?? 0;
}

/**
 * The account's devices whose session is still signed in. Those of ended sessions (signed
 * out, revoked, expired) are deleted first: a device that signed out gets nothing more.
 */
export async function liveSubscriptions(sql: Sql, userId: string): Promise<SubscriptionRow[]> {
  await sql`
    delete from push_subscriptions p using sessions s
    where p.user_id = ${userId} and s.id = p.session_id and (s.revoked_at is not null or s.expires_at <= now())`;
  return sql<SubscriptionRow[]>`
    select id, endpoint, p256dh, auth from push_subscriptions where user_id = ${userId} order by created_at`;
}

export async function threadTitle(sql: Sql, userId: string, threadId: string) {
  const [row] = await sql<{ title: string | null }[]>`
    select title from threads where id = ${threadId} and user_id = ${userId}`;
  return row ? (row.title ?? '') : null;
}

/** A session's windows are hidden (stamped now) or visible again (no row). */
export async function reportVisibility(sql: Sql, sessionId: string, hidden: boolean) {
  if (hidden) {
    await sql`
      insert into push_visibility (session_id, hidden_at) values (${sessionId}, now())
      on conflict (session_id) do update set hidden_at = now()`;
  } else {
    await sql`delete from push_visibility where session_id = ${sessionId}`;
  }
}

/** Which of these sessions reported their windows hidden within the last `ttlMs`. */
export async function hiddenSessions(sql: Sql, sessionIds: readonly string[], ttlMs: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    select session_id as id from push_visibility
    where session_id = any(${sessionIds}::uuid[]) and hidden_at > now() - ${ttlMs}::int * interval '1 millisecond'`;
  return rows.map((r) => r.id);
}
