/**
 * Password resets without a mail server of our own: one-time links (24 h, stored as hashes).
 * The admin's link (administration issue) and, when SMTP_URL is set, a "Forgot password"
 * email sent with nodemailer. The forgot answer is the same whether or not the email exists,
 * and the mail is sent after the answer, so neither its content nor its timing tells.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config';
import type { Sql } from '../db';
import { sha256, randomToken } from '../crypto';
import { badRequest, HttpError } from '../errors';
import { enforce } from '../infra/rate-limit';
import { log } from '../log';
import type { User } from './model';
import { hashPassword, passwordProblem } from './passwords';
import { findUserByEmail } from './queries';
import { startSession, type ClientMeta, type Login } from './service';

type Deps = { sql: Sql; config: Config };

export const RESET_TTL_SECONDS = 24 * 3600;

/** A one-time reset link for the account (for the admin console and the forgot email). */
export async function issueResetLink({ sql, config }: Deps, userId: string, ttlSeconds = RESET_TTL_SECONDS) {
  const token = randomToken();
  const [row] = await sql<{ expiresAt: string }[]>`
    insert into password_reset_tokens (token_hash, user_id, expires_at)
    values (${sha256(token)}, ${userId}, now() + make_interval(secs => ${ttlSeconds}))
    returning expires_at`;
  return { url: `${config.http.publicUrl}/reset?token=${token}`, expiresAt: row!.expiresAt };
}

const invalidLink = () => new HttpError(400, 'invalid_token', 'This link has expired or was already used; ask for a new one');

/** Sets the password through a link: once, before it expires; ends every other session. */
export async function resetPassword(deps: Deps, token: string, password: string, meta: ClientMeta): Promise<Login> {
  const { sql, config } = deps;
  await enforce(sql, [{ key: `reset:ip:${meta.ip}`, max: config.auth.ipLimit, windowSeconds: 600 }]);
  const user = await sql.begin(async (tx) => {
    const [row] = await tx<(User & { live: boolean; disabled: boolean })[]>`
      update password_reset_tokens t set used_at = now()
      from users u
      where t.token_hash = ${sha256(token)} and t.used_at is null and u.id = t.user_id
      returning u.id, u.email, u.name, u.role, u.disabled, t.expires_at > now() as live`;
    if (!row || !row.live || row.disabled) return null;
    const problem = passwordProblem(password, row.email);
    if (problem) throw badRequest({ password: problem });
    await tx`
      update users set password_hash = ${await hashPassword(password)},
        tokens_valid_after = date_trunc('second', now()), updated_at = now()
      where id = ${row.id}`;
    await tx`update sessions set revoked_at = now() where user_id = ${row.id} and revoked_at is null`;
    // Other links for this account stop working too.
    await tx`update password_reset_tokens set used_at = now() where user_id = ${row.id} and used_at is null`;
    const { live: _, disabled: __, ...user } = row;
    return user;
  });
  if (!user) throw invalidLink();
  return startSession(deps, user, meta);
}

let transport: { url: string; send: nodemailer.Transporter } | null = null;
function mailer(url: string) {
  if (transport?.url !== url) transport = { url, send: nodemailer.createTransport(url) };
  return transport.send;
}

/**
 * "Forgot password": when the email has an account (not a guest, not disabled), emails a
 * link. Always answers the same, and sends after answering.
 */
export async function forgotPassword(deps: Deps, email: string, meta: ClientMeta): Promise<void> {
  const { sql, config } = deps;
  const smtp = config.mail.smtpUrl;
  if (!smtp) throw new HttpError(404, 'not_found', 'Password reset by email is not set up on this server');
  const trimmed = email.trim();
  await enforce(sql, [
    { key: `forgot:ip:${meta.ip}`, max: config.auth.ipLimit, windowSeconds: 600 },
    { key: `forgot:account:${trimmed.toLowerCase()}`, max: 3, windowSeconds: 3600 },
  ]);
  void (async () => {
    const found = trimmed ? await findUserByEmail(sql, trimmed) : null;
    if (!found || found.disabled || found.role === 'guest') return;
    const link = await issueResetLink(deps, found.id, 3600);
    await mailer(smtp).sendMail({
      from: config.mail.from,
      to: found.email,
      subject: 'Reset your Parley password',
      text: [
        `Hello${found.name ? ' ' + found.name : ''},`,
        '',
        'Someone (hopefully you) asked to reset the password of your Parley account.',
        'Open this link within an hour to choose a new one:',
        '',
        link.url,
        '',
        'If it was not you, ignore this email: your password stays as it is.',
      ].join('\n'),
    });
  })().catch((error) => log.warn('reset email not sent', { error: error instanceof Error ? error.message : String(error) }));
}
