/**
 * Guests ("access without login"): off unless ALLOW_GUESTS or an admin turns them on.
 * A guest is an account with the `guest` role and no email of its own; registering from a
 * guest session turns that same account into a full one, so its threads stay. Guests
 * unused for 30 days are deleted with their data.
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import type { Hooks } from '../deps';
import { forbidden, badRequest } from '../errors';
import { enforce } from '../infra/rate-limit';
import { hashPassword, passwordProblem } from './passwords';
import type { RegisterBody, User } from './model';
import { revokeSession } from './queries';
import { startSession, type ClientMeta, type Login } from './service';

type Deps = { sql: Sql; config: Config };

export const GUEST_IDLE_DAYS = 30;
/** Guest accounts per IP per hour: enough for a household, not for a script. */
const GUESTS_PER_IP_PER_HOUR = 10;

export async function guestsAllowed({ sql, config }: Deps): Promise<boolean> {
  const [row] = await sql<{ allowGuests: boolean | null }[]>`select allow_guests from signin_settings`;
  return row?.allowGuests ?? config.signin.allowGuests;
}

export async function createGuest(deps: Deps, meta: ClientMeta): Promise<Login> {
  const { sql } = deps;
  if (!(await guestsAllowed(deps))) throw forbidden('Guests are not allowed on this server');
  await enforce(sql, [{ key: `guest:ip:${meta.ip}`, max: GUESTS_PER_IP_PER_HOUR, windowSeconds: 3600 }]);
  // `.invalid` never resolves (RFC 2606): a placeholder that can never collide with a real email.
  const [user] = await sql<User[]>`
    insert into users (email, name, password_hash, role, last_seen_at)
    values (${`guest-${crypto.randomUUID()}@guest.invalid`}, 'Guest', null, 'guest', now())
    returning id, email, name, role`;
  return startSession(deps, user!, meta);
}

/**
 * Registering from a guest session: the guest's account gets the email, password and
 * name and becomes a `user`, so every thread it made stays its own. The guest session
 * ends; the new one is a normal login.
 */
export async function upgradeGuest(
  deps: Deps,
  guest: { userId: string; sessionId: string },
  body: RegisterBody,
  meta: ClientMeta,
): Promise<Login> {
  const { sql, config } = deps;
  await enforce(sql, [{ key: `register:ip:${meta.ip}`, max: config.auth.ipLimit, windowSeconds: 600 }]);
  if (!config.auth.allowRegistration) throw forbidden('Registration is closed on this server');
  const email = body.email.trim();
  const problem = passwordProblem(body.password, email);
  if (problem) throw badRequest({ password: problem });
  const passwordHash = await hashPassword(body.password);
  const [user] = await sql<User[]>`
    update users set email = ${email}, name = ${(body.name ?? '').trim()}, password_hash = ${passwordHash},
      role = 'user', updated_at = now()
    where id = ${guest.userId} and role = 'guest'
    returning id, email, name, role`;
  if (!user) throw forbidden('Only a guest can turn into an account this way');
  await revokeSession(sql, guest.sessionId);
  return startSession(deps, user, meta);
}

/** Deletes guests unused for `days`, with their data (files and replies through the hooks). */
export async function deleteIdleGuests(sql: Sql, hooks: Pick<Hooks, 'beforeAccountDelete'>, days = GUEST_IDLE_DAYS) {
  const idle = await sql<{ id: string }[]>`
    select id from users
    where role = 'guest' and coalesce(last_seen_at, created_at) < now() - make_interval(days => ${days})
    limit 500`;
  for (const { id } of idle) {
    await hooks.beforeAccountDelete(id);
    await sql`delete from users where id = ${id} and role = 'guest'`;
  }
  return idle.length;
}

