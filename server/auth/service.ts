/**
 * Accounts and sessions. A session is one login: a refresh-token family.
 * Refresh tokens are opaque, stored as SHA-256 hashes, rotated on every use; a
 * token presented after it was rotated revokes the whole family at once.
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import { sha256, randomToken } from '../crypto';
import { badRequest, forbidden, HttpError, unauthorized } from '../errors';
import { enforce, reset } from '../infra/rate-limit';
import { hashPassword, passwordProblem, timingDummyHash, verifyPassword } from './passwords';
import { knownDevice } from './device';
import { normalizeEmail } from './email';
import * as q from './queries';
import { linkEmail, useLink } from '../admin/users';
import { guestsAllowed } from './guests';
import { enabledProviders } from './oidc';
import type { AuthProviders, LoginBody, RegisterBody, User } from './model';

export interface ClientMeta {
  ip: string;
  userAgent: string | null;
  /** The known-device cookie, if the browser sent one (see device.ts). */
  device?: string;
}

export interface Login {
  user: User;
  sessionId: string;
  refreshToken: string;
}

type Deps = { sql: Sql; config: Config };

const invalidCredentials = () => new HttpError(401, 'invalid_credentials', 'Email or password is incorrect');

function ipLimit(config: Config, action: string, ip: string) {
  return { key: `${action}:ip:${ip}`, max: config.auth.ipLimit, windowSeconds: 600 };
}
/**
 * Sign-in limits (defect 8: slow brute force without locking the owner out). Emails are
 * normalized before they become keys, so one account is one counter.
 * - a browser that signed in to the account before (device cookie): its own allowance;
 * - anyone else: per account and client address, plus a looser account-wide ceiling that
 *   only unknown devices count against, so an attacker using it up leaves the owner's
 *   devices untouched.
 */
function loginLimits(config: Config, email: string, meta: ClientMeta) {
  const device = knownDevice(config.auth.secret, email, meta.device);
  const window = config.auth.accountWindowSeconds;
  if (device) return { device, limits: [{ key: `login:device:${device}:${email}`, max: config.auth.accountLimit, windowSeconds: window }] };
  return {
    device: null,
    limits: [
      { key: `login:account-ip:${email}:${meta.ip}`, max: config.auth.accountLimit, windowSeconds: window },
      { key: `login:account:${email}`, max: config.auth.accountCeiling, windowSeconds: config.auth.accountCeilingWindowSeconds },
    ],
  };
}
/** Current-password checks (change password, delete account): a stolen session must not guess. */
export function passwordCheckLimit(config: Config, userId: string) {
  return { key: `password-check:user:${userId}`, max: config.auth.passwordCheckLimit, windowSeconds: 900 };
}

export async function startSession({ sql, config }: Deps, user: User, meta: ClientMeta): Promise<Login> {
  const refreshToken = randomToken();
  const sessionId = await sql.begin(async (tx) => {
    const id = await q.insertSession(tx, user.id, config.auth.sessionMaxSeconds, meta.userAgent?.slice(0, 300) ?? null);
    await q.insertRefreshToken(tx, id, sha256(refreshToken), config.auth.refreshIdleSeconds);
    return id;
  });
  return { user, sessionId, refreshToken };
}

export async function register(deps: Deps, body: RegisterBody, meta: ClientMeta): Promise<Login> {
  const { sql, config } = deps;
  await enforce(sql, [ipLimit(config, 'register', meta.ip)]);
  if (!config.auth.allowRegistration && (await q.countUsers(sql)) > 0) {
    throw forbidden('Registration is closed on this server');
  }
  const email = normalizeEmail(body.email);
  const problem = passwordProblem(body.password, email);
  if (problem) throw badRequest({ password: problem });
  const passwordHash = await hashPassword(body.password);
  const user = await sql.begin((tx) =>
    q.insertUser(tx, { email, name: (body.name ?? '').trim(), passwordHash }),
  );
  return startSession(deps, user, meta);
}

export async function login(deps: Deps, body: LoginBody, meta: ClientMeta): Promise<Login> {
  const { sql, config } = deps;
  const email = normalizeEmail(body.email);
  const { limits } = loginLimits(config, email, meta);
  await enforce(sql, [ipLimit(config, 'login', meta.ip), ...limits]);
  const found = email ? await q.findUserByEmail(sql, email) : null;
  // Unknown email and wrong password: same answer, same Argon2 work.
  const ok = await verifyPassword(body.password, found?.passwordHash ?? (await timingDummyHash()));
  if (!found || !ok || found.disabled) throw invalidCredentials();
  // This client's failures are forgotten; the account-wide ceiling is not (an attacker elsewhere may be at it).
  await reset(sql, limits[0]!.key);
  const { passwordHash: _, disabled: __, ...user } = found;
  return startSession(deps, user, meta);
}

export async function refresh(deps: Deps, presented: string | undefined): Promise<Login> {
  const { sql, config } = deps;
  if (!presented) throw unauthorized('No refresh token');
  const tokenHash = sha256(presented);
  const outcome = await sql.begin(async (tx) => {
    const row = await q.lockRefreshToken(tx, tokenHash, config.auth.refreshGraceSeconds);
    if (!row) return { kind: 'unknown' as const };
    if (row.usedAt && !row.withinGrace) {
      // Reuse of a rotated token: someone else holds a copy. End the whole login.
      await q.revokeSession(tx, row.sessionId);
      return { kind: 'reused' as const };
    }
    if (row.expired || !row.sessionValid || row.disabled) return { kind: 'expired' as const };
    const next = randomToken();
    // Rotated moments ago (two tabs refreshing at once): the same session gets another
    // token instead of being taken for a thief; after the grace window it would be.
    if (!row.usedAt) await q.markRefreshTokenUsed(tx, tokenHash);
    await q.insertRefreshToken(tx, row.sessionId, sha256(next), config.auth.refreshIdleSeconds);
    await q.touchSession(tx, row.sessionId);
    return { kind: 'ok' as const, sessionId: row.sessionId, userId: row.userId, next };
  });
  if (outcome.kind === 'reused') throw new HttpError(401, 'token_reused', 'This session was ended for safety; sign in again');
  if (outcome.kind !== 'ok') throw unauthorized('Session expired; sign in again');
  const user = await q.findUserById(sql, outcome.userId);
  if (!user) throw unauthorized();
  const { passwordHash: _, ...publicUser } = user;
  return { user: publicUser, sessionId: outcome.sessionId, refreshToken: outcome.next };
}

/** Ends the login behind either token; returns the ended sessions' ids. */
export async function logout({ sql }: Deps, sessionId: string | null, refreshToken: string | undefined) {
  const ended: string[] = [];
  if (sessionId) {
    await q.revokeSession(sql, sessionId);
    ended.push(sessionId);
  }
  if (refreshToken) {
    const [row] = await sql<{ sessionId: string }[]>`
      select session_id from refresh_tokens where token_hash = ${sha256(refreshToken)}`;
    if (row) {
      await q.revokeSession(sql, row.sessionId);
      if (!ended.includes(row.sessionId)) ended.push(row.sessionId);
    }
  }
  return ended;
}

/** Checks the account's current password under its own rate limit; throws 400 on a wrong one. */
async function checkCurrentPassword({ sql, config }: Deps, userId: string, password: string, field: string) {
  const limit = passwordCheckLimit(config, userId);
  await enforce(sql, [limit]);
  const found = await q.findUserById(sql, userId);
  // An account made through an identity provider, a passkey or as a guest may have no password.
  if (!found || !found.passwordHash || !(await verifyPassword(password, found.passwordHash))) throw badRequest({ [field]: 'is incorrect' });
  await reset(sql, limit.key);
}

export async function changePassword(
  deps: Deps,
  user: User,
  sessionId: string,
  body: { currentPassword: string; newPassword: string },
) {
  const { sql } = deps;
  await checkCurrentPassword(deps, user.id, body.currentPassword, 'currentPassword');
  const problem = passwordProblem(body.newPassword, user.email);
  if (problem) throw badRequest({ newPassword: problem });
  const hash = await hashPassword(body.newPassword);
  await sql.begin((tx) => q.changePassword(tx, user.id, hash, sessionId));
}

/**
 * POST /api/auth/reset: an invite or password-reset link sets the password, ends the
 * account's other sessions, and signs in. A used, expired or unknown token → 400.
 */
export async function resetWithLink(deps: Deps, body: { token: string; password: string }, meta: ClientMeta): Promise<Login> {
  const { sql, config } = deps;
  await enforce(sql, [ipLimit(config, 'reset', meta.ip)]);
  const email = await linkEmail(sql, body.token);
  if (email === null) throw badRequest({ token: 'is invalid or has expired; ask for a new link' });
  const problem = passwordProblem(body.password, email);
  if (problem) throw badRequest({ password: problem });
  const user = await useLink(sql, body.token, await hashPassword(body.password));
  if (!user) throw badRequest({ token: 'is invalid or has expired; ask for a new link' });
  return startSession(deps, user, meta);
}

export const activeUser = q.findActiveUser;
/**
 * Deleting the account needs the password, or a sign-in within the last few minutes
 * (a stolen long-lived session cannot destroy the account on its own).
 */
export async function checkAccountDeletion(deps: Deps, userId: string, sessionId: string, password: string | undefined) {
  if (password) return checkCurrentPassword(deps, userId, password, 'password');
  if (await q.sessionIsFresh(deps.sql, sessionId, deps.config.auth.freshSignInSeconds)) return;
  throw new HttpError(403, 'password_required', 'Enter your password to delete your account', { password: 'is required' });
}

export const deleteAccount = q.deleteUser;

/**
 * What to say when something is not set up on this server: how to set it up (the variables
 * to set) for an admin; for everyone else, who to ask, never the server's variable names.
 */
export async function setupAdvice(sql: Sql, userId: string, what: string, forAdmin: string, forOthers = 'Ask the person who runs this Parley to set it up.') {
  const user = await q.findUserById(sql, userId).catch(() => null);
  return `${what} ${user?.role === 'admin' ? forAdmin : forOthers}`;
}

/** What the sign-in page offers; `firstRun` until the first (admin) account exists. */
export async function providers(deps: Deps): Promise<AuthProviders> {
  const { sql, config } = deps;
  const firstRun = (await q.countUsers(sql)) === 0;
  return {
    password: true,
    passkeys: true,
    guests: !firstRun && (await guestsAllowed(deps)),
    oidc: await enabledProviders(deps),
    registration: firstRun || config.auth.allowRegistration,
    firstRun,
    passwordReset: config.mail.smtpUrl !== null,
  };
}
