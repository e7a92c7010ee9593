/**
 * Accounts as the admin manages them: search and page, invite (a one-time link, never a
 * password), change role, disable/enable, password-reset links, delete. The last active
 * admin can be neither demoted, disabled nor deleted (409 last_admin): every change that
 * could remove an admin locks the active admins' rows first, so two admins demoting each
 * other at once cannot both succeed.
 */
import { normalizeEmail } from '../auth/email';
import type { Config } from '../config';
import type { Sql, Tx } from '../db';
import { randomToken, sha256 } from '../crypto';
import { HttpError, notFound } from '../errors';
import { keyset, parseCursor, takePage } from '../infra/paging';
import { hashPassword } from '../auth/passwords';
import { rolePermissions, type Role } from '../auth/permissions';
import type { Quota } from '../quota/model';
import type { AdminUser, InviteBody, UserPatch } from './model';

type Db = Sql | Tx;
export const INVITE_TTL_HOURS = 7 * 24;
export const RESET_TTL_HOURS = 24;

const lastAdmin = () =>
  new HttpError(409, 'last_admin', 'This is the last active admin; make another account admin first');

interface Row {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
  createdAt: string;
  lastSeenAt: string | null;
  balance: string | null;
  grantTokens: string | null;
  period: Quota['period'];
  nextGrantAt: string | null;
  hasQuota: boolean;
  cursor: string;
}

const columns = (sql: Db) => sql`
  u.id, u.email, u.name, u.role, u.disabled, u.created_at, u.last_seen_at,
  q.balance::text as balance, q.grant_tokens::text as grant_tokens, q.period, q.next_grant_at,
  (q.user_id is not null) as has_quota`;

/** Rows → AdminUser; an account that never used its quota shows its role's default. */
async function toUsers(sql: Db, rows: Omit<Row, 'cursor'>[]): Promise<AdminUser[]> {
  const defaults = new Map<Role, Quota>();
  for (const r of rows) {
    if (r.hasQuota || defaults.has(r.role)) continue;
    const { defaultQuota: d } = await rolePermissions(sql, r.role);
    defaults.set(r.role, { balance: d.balance, grant: d.grant, period: d.period, nextGrantAt: null });
  }
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    disabled: r.disabled,
    createdAt: r.createdAt,
    lastSeenAt: r.lastSeenAt,
    quota: r.hasQuota
      ? {
          balance: r.balance === null ? null : Number(r.balance),
          grant: r.grantTokens === null ? null : Number(r.grantTokens),
          period: r.period,
          nextGrantAt: r.nextGrantAt,
        }
      : defaults.get(r.role)!,
  }));
}

export async function listUsers(sql: Sql, query: { q?: string; limit?: number; before?: string }) {
  const limit = query.limit ?? 50;
  const page = keyset(sql, 'u.created_at', 'u.id');
  const before = query.before ? parseCursor(query.before) : null;
  const needle = query.q?.trim();
  const pattern = needle ? `%${needle.replace(/[\\%_]/g, (c) => '\\' + c)}%` : null;
  const rows = await sql<Row[]>`
    select ${columns(sql)}, ${page.cursor}
    from users u left join quotas q on q.user_id = u.id
    where true
      ${pattern ? sql`and (u.email ilike ${pattern} or u.name ilike ${pattern})` : sql``}
      ${page.after(before)}
    order by u.created_at desc, u.id desc
    limit ${limit + 1}`;
  const { page: found, nextCursor } = takePage(rows, limit);
  return { users: await toUsers(sql, found), nextCursor };
}

export async function getUser(sql: Db, id: string): Promise<AdminUser | null> {
  const rows = await sql<Omit<Row, 'cursor'>[]>`
    select ${columns(sql)} from users u left join quotas q on q.user_id = u.id where u.id = ${id}`;
  return rows[0] ? (await toUsers(sql, rows))[0]! : null;
}

async function newLink(tx: Tx, config: Config, userId: string, kind: 'invite' | 'reset', ttlHours?: number) {
  const token = randomToken();
  const hours = ttlHours ?? (kind === 'invite' ? INVITE_TTL_HOURS : RESET_TTL_HOURS);
  // A new link replaces the account's earlier unused ones.
  await tx`delete from account_links where user_id = ${userId} and used_at is null`;
  const [row] = await tx<{ expiresAt: string }[]>`
    insert into account_links (token_hash, user_id, kind, expires_at)
    values (${sha256(token)}, ${userId}, ${kind}, now() + make_interval(hours => ${hours}))
    returning expires_at`;
  // The token travels in the fragment: never sent to a server, never in a Referer or access log.
  return { url: `${config.http.publicUrl}/reset#${kind}=${token}`, expiresAt: row!.expiresAt };
}

/** POST /api/admin/users: an account without a usable password, and its one-time link. */
export async function inviteUser(deps: { sql: Sql; config: Config }, body: InviteBody) {
  // An unguessable password nobody knows: the account is unusable until the link is used.
  const placeholder = await hashPassword(randomToken());
  return deps.sql.begin(async (tx) => {
    const [row] = await tx<{ id: string }[]>`
      insert into users (email, name, password_hash, role)
      values (${normalizeEmail(body.email)}, ${(body.name ?? '').trim()}, ${placeholder}, ${body.role})
      returning id`;
    const link = await newLink(tx, deps.config, row!.id, 'invite');
    return { user: (await getUser(tx, row!.id))!, inviteUrl: link.url, expiresAt: link.expiresAt };
  });
}

/** A one-time reset link (the admin's, 24 h; the emailed "Forgot password" one, 1 h). */
export async function passwordResetLink(deps: { sql: Sql; config: Config }, userId: string, hours = RESET_TTL_HOURS) {
  return deps.sql.begin(async (tx) => {
    const [found] = await tx`select 1 from users where id = ${userId}`;
    if (!found) throw notFound('User');
    return newLink(tx, deps.config, userId, 'reset', hours);
  });
}

/** Locks the active admins; throws last_admin if `userId` is the only one and would stop being one. */
async function guardLastAdmin(tx: Tx, userId: string) {
  const admins = await tx<{ id: string }[]>`
    select id from users where role = 'admin' and not disabled order by id for update`;
  if (admins.length === 1 && admins[0]!.id === userId) throw lastAdmin();
}

export interface PatchOutcome {
  user: AdminUser;
  /** Disabled or demoted: sessions ended, replies in flight must stop. */
  cut: boolean;
}

/** The advisory lock that serialises changes to who is an active admin (patch and delete). */
const ADMIN_CHANGES_LOCK = 7261014;

export async function patchUser(sql: Sql, userId: string, patch: UserPatch): Promise<PatchOutcome> {
  return sql.begin(async (tx) => {
    // Role and access changes queue behind one lock first: two admins changing each other
    // would otherwise each hold one row and wait for the other's (a deadlock, seen as a 500).
    if (patch.role !== undefined || patch.disabled !== undefined) await tx`select pg_advisory_xact_lock(${ADMIN_CHANGES_LOCK})`;
    const [current] = await tx<{ role: Role; disabled: boolean }[]>`
      select role, disabled from users where id = ${userId} for update`;
    if (!current) throw notFound('User');
    const demoting = current.role === 'admin' && patch.role !== undefined && patch.role !== 'admin';
    const disabling = patch.disabled === true && !current.disabled;
    if ((demoting || disabling) && current.role === 'admin' && !current.disabled) await guardLastAdmin(tx, userId);
    await tx`
      update users set
        role = ${patch.role ?? current.role},
        disabled = ${patch.disabled ?? current.disabled},
        name = coalesce(${patch.name?.trim() ?? null}, name),
        ${disabling ? tx`tokens_valid_after = date_trunc('second', now()),` : tx``}
        updated_at = now()
      where id = ${userId}`;
    if (disabling) await tx`update sessions set revoked_at = now() where user_id = ${userId} and revoked_at is null`;
    return { user: (await getUser(tx, userId))!, cut: disabling };
  });
}

/** Checks the last-admin rule for a deletion (the caller then deletes through the account hooks). */
export async function checkDeletable(sql: Sql, userId: string) {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${ADMIN_CHANGES_LOCK})`;
    const [current] = await tx<{ role: Role; disabled: boolean }[]>`select role, disabled from users where id = ${userId}`;
    if (!current) throw notFound('User');
    if (current.role === 'admin' && !current.disabled) await guardLastAdmin(tx, userId);
  });
}

/** Deletes the account unless it became the last active admin meanwhile. */
export async function deleteUser(sql: Sql, userId: string) {
  await sql.begin(async (tx) => {
    const [current] = await tx<{ role: Role; disabled: boolean }[]>`select role, disabled from users where id = ${userId} for update`;
    if (!current) throw notFound('User');
    if (current.role === 'admin' && !current.disabled) await guardLastAdmin(tx, userId);
    await tx`delete from users where id = ${userId}`;
  });
}

/**
 * POST /api/auth/reset: uses a one-time invite or reset link. Sets the password, ends
 * the account's other sessions, and returns the user to sign in.
 */
export async function useLink(sql: Sql, token: string, passwordHash: string) {
  return sql.begin(async (tx) => {
    const [link] = await tx<{ userId: string; usable: boolean; disabled: boolean }[]>`
      select l.user_id, (l.used_at is null and l.expires_at > now()) as usable, u.disabled
      from account_links l join users u on u.id = l.user_id
      where l.token_hash = ${sha256(token)} for update of l`;
    if (!link || !link.usable || link.disabled) return null;
    await tx`update account_links set used_at = now() where token_hash = ${sha256(token)}`;
    await tx`
      update users set password_hash = ${passwordHash}, tokens_valid_after = date_trunc('second', now()), updated_at = now()
      where id = ${link.userId}`;
    await tx`update sessions set revoked_at = now() where user_id = ${link.userId} and revoked_at is null`;
    const [user] = await tx<{ id: string; email: string; name: string; role: Role }[]>`
      select id, email, name, role from users where id = ${link.userId}`;
    return user!;
  });
}

/** The email of the account behind a link (to check the new password against it), or null. */
export async function linkEmail(sql: Sql, token: string) {
  const [row] = await sql<{ email: string }[]>`
    select u.email from account_links l join users u on u.id = l.user_id
    where l.token_hash = ${sha256(token)} and l.used_at is null and l.expires_at > now()`;
  return row?.email ?? null;
}
