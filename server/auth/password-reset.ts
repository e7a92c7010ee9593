/**
 * "Forgot password": when SMTP_URL is set, an email with a one-time reset link (the same
 * links as the admin's, server/admin/users.ts, used at POST /api/auth/reset), sent with
 * nodemailer. The forgot answer is the same whether or not the email exists,
 * and the mail is sent after the answer, so neither its content nor its timing tells.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config';
import type { Sql } from '../db';
import { HttpError } from '../errors';
import { enforce } from '../infra/rate-limit';
import { log } from '../log';
import { passwordResetLink } from '../admin/users';
import { normalizeEmail } from './email';
import { findUserByEmail } from './queries';
import type { ClientMeta } from './service';

type Deps = { sql: Sql; config: Config };

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
  const normalized = normalizeEmail(email);
  await enforce(sql, [
    { key: `forgot:ip:${meta.ip}`, max: config.auth.ipLimit, windowSeconds: 600 },
    { key: `forgot:account:${normalized}`, max: 3, windowSeconds: 3600 },
  ]);
  void (async () => {
    const found = normalized ? await findUserByEmail(sql, normalized) : null;
    if (!found || found.disabled || found.role === 'guest') return;
    const link = await passwordResetLink(deps, found.id, 1);
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
