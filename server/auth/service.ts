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
import * as q from './queries';
import { guestsAllowed } from './guests';
import { enabledProviders } from './oidc';
import type { AuthProviders, LoginBody, RegisterBody, User } from './model';

export interface ClientMeta {
  ip: string;
  userAgent: string | null;
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
function accountLimit(config: Config, action: string, email: string) {
  return { key: `${action}:account:${email.toLowerCase()}`, max: config.auth.accountLimit, windowSeconds: 300 };
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
  const email = body.email.trim();
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
  const email = body.email.trim();
  await enforce(sql, [ipLimit(config, 'login', meta.ip), accountLimit(config, 'login', email)]);
  const found = email ? await q.findUserByEmail(sql, email) : null;
  // Unknown email and wrong password: same answer, same Argon2 work.
  const ok = await verifyPassword(body.password, found?.passwordHash ?? (await timingDummyHash()));
  if (!found || !ok || found.disabled) throw invalidCredentials();
  await reset(sql, accountLimit(config, 'login', email).key);
  const { passwordHash: _, disabled: __, ...user } = found;
  return startSession(deps, user, meta);
}

export async function refresh(deps: Deps, presented: string | undefined): Promise<Login> {
  const { sql, config } = deps;
  if (!presented) throw unauthorized('No refresh token');
  const tokenHash = sha256(presented);
  const outcome = await sql.begin(async (tx) => {
    const row = await q.lockRefreshToken(tx, tokenHash);
    if (!row) return { kind: 'unknown' as const };
    if (row.usedAt) {
      // Reuse of a rotated token: someone else holds a copy. End the whole login.
      await q.revokeSession(tx, row.sessionId);
      return { kind: 'reused' as const };
    }
    if (row.expired || !row.sessionValid || row.disabled) return { kind: 'expired' as const };
    const next = randomToken();
    await q.markRefreshTokenUsed(tx, tokenHash);
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

export async function logout({ sql }: Deps, sessionId: string | null, refreshToken: string | undefined) {
  if (sessionId) await q.revokeSession(sql, sessionId);
  if (refreshToken) {
    const [row] = await sql<{ sessionId: string }[]>`
      select session_id from refresh_tokens where token_hash = ${sha256(refreshToken)}`;
    if (row) await q.revokeSession(sql, row.sessionId);
  }
}

export async function changePassword(
  { sql }: Deps,
  user: User,
  sessionId: string,
  body: { currentPassword: string; newPassword: string },
) {
  const found = await q.findUserById(sql, user.id);
  if (!found || !found.passwordHash || !(await verifyPassword(body.currentPassword, found.passwordHash))) {
    throw badRequest({ currentPassword: 'is incorrect' });
  }
  const problem = passwordProblem(body.newPassword, user.email);
  if (problem) throw badRequest({ newPassword: problem });
  const hash = await hashPassword(body.newPassword);
  await sql.begin((tx) => q.changePassword(tx, user.id, hash, sessionId));
}

export const activeUser = q.findActiveUser;
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
