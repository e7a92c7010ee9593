import type { Sql, Tx } from '../db';
import type { User } from './model';
import { normalizeEmail } from './email';

type Db = Sql | Tx;

export const userColumns = (sql: Db) => sql`id, email, name, role`;

export async function findUserByEmail(sql: Db, email: string) {
  const [row] = await sql<(User & { passwordHash: string | null; disabled: boolean })[]>`
    select id, email, name, role, password_hash, disabled from users where email = ${email}`;
  return row ?? null;
}

export async function insertUser(tx: Tx, input: { email: string; name: string; passwordHash: string }) {
  // Serialize registrations so exactly one first account becomes admin.
  await tx`select pg_advisory_xact_lock(7261012)`;
  const [row] = await tx<User[]>`
    insert into users (email, name, password_hash, role)
    values (${input.email}, ${input.name}, ${input.passwordHash},
            case when exists (select 1 from users) then 'user' else 'admin' end)
    returning ${userColumns(tx)}`;
  return row!;
}

export const countUsers = async (sql: Db) => (await sql<{ n: number }[]>`select count(*)::int as n from users`)[0]!.n;

export async function insertSession(tx: Tx, userId: string, maxSeconds: number, userAgent: string | null) {
  const [row] = await tx<{ id: string }[]>`
    insert into sessions (user_id, expires_at, user_agent)
    values (${userId}, now() + make_interval(secs => ${maxSeconds}), ${userAgent})
    returning id`;
  return row!.id;
}

export async function insertRefreshToken(tx: Db, sessionId: string, tokenHash: string, idleSeconds: number) {
  await tx`
    insert into refresh_tokens (token_hash, session_id, expires_at)
    values (${tokenHash}, ${sessionId}, now() + make_interval(secs => ${idleSeconds}))`;
}

export async function lockRefreshToken(tx: Tx, tokenHash: string, graceSeconds: number) {
  const [row] = await tx<
    {
      sessionId: string;
      userId: string;
      usedAt: string | null;
      expired: boolean;
      sessionValid: boolean;
      disabled: boolean;
      withinGrace: boolean;
    }[]
  >`
    select rt.session_id, s.user_id, rt.used_at, rt.expires_at <= now() as expired,
           coalesce(rt.used_at > now() - make_interval(secs => ${graceSeconds}), false) as within_grace,
           (s.revoked_at is null and s.expires_at > now()) as session_valid, u.disabled
    from refresh_tokens rt
    join sessions s on s.id = rt.session_id
    join users u on u.id = s.user_id
    where rt.token_hash = ${tokenHash}
    for update of rt, s`;
  return row ?? null;
}

export async function markRefreshTokenUsed(tx: Tx, tokenHash: string) {
  await tx`update refresh_tokens set used_at = now() where token_hash = ${tokenHash}`;
}

export async function revokeSession(sql: Db, sessionId: string) {
  await sql`update sessions set revoked_at = coalesce(revoked_at, now()) where id = ${sessionId}`;
}

export async function touchSession(tx: Db, sessionId: string) {
  await tx`update sessions set last_used_at = now() where id = ${sessionId}`;
}

/** The user behind an access token, if its session and the account are still good. */
export async function findActiveUser(sql: Db, userId: string, sessionId: string, issuedAt: number) {
  const [row] = await sql<User[]>`
    select u.id, u.email, u.name, u.role
    from sessions s join users u on u.id = s.user_id
    where s.id = ${sessionId} and u.id = ${userId}
      and s.revoked_at is null and s.expires_at > now()
      and not u.disabled
      and u.tokens_valid_after <= to_timestamp(${issuedAt})`;
  return row ?? null;
}

/** Whether the session signed in within the last `seconds` (a fresh sign-in). */
export async function sessionIsFresh(sql: Db, sessionId: string, seconds: number) {
  const [row] = await sql<{ fresh: boolean }[]>`
    select created_at > now() - make_interval(secs => ${seconds}) as fresh from sessions where id = ${sessionId}`;
  return row?.fresh ?? false;
}

export async function findUserById(sql: Db, id: string) {
  const [row] = await sql<(User & { passwordHash: string | null })[]>`
    select id, email, name, role, password_hash from users where id = ${id}`;
  return row ?? null;
}

export async function changePassword(tx: Tx, userId: string, passwordHash: string, keepSessionId: string) {
  // Whole seconds: JWT iat has no fraction, and a token issued after this must pass.
  await tx`
    update users set password_hash = ${passwordHash},
      tokens_valid_after = date_trunc('second', now()), updated_at = now()
    where id = ${userId}`;
  await tx`update sessions set revoked_at = now() where user_id = ${userId} and id <> ${keepSessionId} and revoked_at is null`;
}

export async function deleteUser(sql: Db, userId: string) {
  await sql`delete from users where id = ${userId}`;
}

/** Whether a session is still good (not signed out, expired, or its account disabled): long streams re-check it. */
export async function sessionActive(sql: Db, sessionId: string) {
  const [row] = await sql`
    select 1 from sessions s join users u on u.id = s.user_id
    where s.id = ${sessionId} and s.revoked_at is null and s.expires_at > now() and not u.disabled`;
  return Boolean(row);
}

/**
 * Stored emails not yet in normalized form (non-ASCII ones written before normalization
 * existed) are rewritten once; one that would collide with another account is left as it
 * was and reported, for the operator to resolve.
 */
export async function normalizeStoredEmails(sql: Sql): Promise<{ changed: number; conflicts: string[] }> {
  const rows = await sql<{ id: string; email: string }[]>`select id, email from users where email !~ '^[\\x01-\\x7f]*$'`;
  let changed = 0;
  const conflicts: string[] = [];
  for (const row of rows) {
    const normalized = normalizeEmail(row.email);
    if (normalized === row.email) continue;
    const [clash] = await sql`select 1 from users where email = ${normalized} and id <> ${row.id}`;
    if (clash) {
      conflicts.push(row.id);
      continue;
    }
    await sql`update users set email = ${normalized}, updated_at = now() where id = ${row.id}`;
    changed++;
  }
  return { changed, conflicts };
}
