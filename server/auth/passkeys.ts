/**
 * Passkeys (WebAuthn) with @simplewebauthn/server. Discoverable credentials, so signing in
 * needs no email: the authenticator says whose passkey it is (userHandle = the account id),
 * and the credential id finds the stored public key. Challenges are one-time rows, found by
 * the challenge the browser signed and deleted on use. The relying party is PUBLIC_URL:
 * its host is the RP ID and its origin the only origin accepted.
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Config } from '../config';
import type { Sql } from '../db';
import { HttpError, notFound } from '../errors';
import { enforce } from '../infra/rate-limit';
import type { User } from './model';
import { findUserById } from './queries';
import { startSession, type ClientMeta, type Login } from './service';

type Deps = { sql: Sql; config: Config };

const CHALLENGE_SECONDS = 300;
const refused = (message = 'This passkey was not accepted') => new HttpError(401, 'passkey_refused', message);

function relyingParty(config: Config) {
  const url = new URL(config.http.publicUrl);
  return { rpID: url.hostname, origin: url.origin, rpName: 'Parley' };
}

/** The challenge the browser signed, read from clientDataJSON (before any verification). */
function signedChallenge(clientDataJSON: unknown): string | null {
  if (typeof clientDataJSON !== 'string' || clientDataJSON.length > 4096) return null;
  try {
    const data = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' ? data.challenge : null;
  } catch {
    return null;
  }
}

/** Takes a one-time challenge: it must exist, be of this kind (and user) and not have expired. */
async function takeChallenge(sql: Sql, kind: 'register' | 'login', challenge: string | null, userId: string | null) {
  if (!challenge) return false;
  const [row] = await sql<{ userId: string | null; live: boolean }[]>`
    delete from webauthn_challenges where challenge = ${challenge} and kind = ${kind}
    returning user_id, expires_at > now() as live`;
  return !!row && row.live && row.userId === userId;
}

async function saveChallenge(sql: Sql, kind: 'register' | 'login', challenge: string, userId: string | null) {
  await sql`delete from webauthn_challenges where expires_at < now()`;
  await sql`
    insert into webauthn_challenges (kind, user_id, challenge, expires_at)
    values (${kind}, ${userId}, ${challenge}, now() + make_interval(secs => ${CHALLENGE_SECONDS}))`;
}

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export async function listPasskeys(sql: Sql, userId: string): Promise<PasskeyView[]> {
  return sql<PasskeyView[]>`
    select id, name, created_at, last_used_at from passkeys where user_id = ${userId} order by created_at, id`;
}

export async function registrationOptions({ sql, config }: Deps, user: User) {
  const rp = relyingParty(config);
  const existing = await sql<{ credentialId: string; transports: string[] }[]>`
    select credential_id, transports from passkeys where user_id = ${user.id}`;
  const options = await generateRegistrationOptions({
    rpName: rp.rpName,
    rpID: rp.rpID,
    userName: user.email,
    userDisplayName: user.name || user.email,
    userID: new TextEncoder().encode(user.id),
    attestationType: 'none',
    excludeCredentials: existing.map((c) => ({ id: c.credentialId, transports: c.transports as AuthenticatorTransportFuture[] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
  await saveChallenge(sql, 'register', options.challenge, user.id);
  return options;
}

export async function verifyRegistration({ sql, config }: Deps, user: User, response: RegistrationResponseJSON, name?: string) {
  const rp = relyingParty(config);
  const challenge = signedChallenge(response?.response?.clientDataJSON);
  if (!(await takeChallenge(sql, 'register', challenge, user.id))) throw refused('This passkey request expired; try again');
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge!,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: false,
    });
  } catch {
    throw refused();
  }
  if (!verification.verified || !verification.registrationInfo) throw refused();
  const { credential } = verification.registrationInfo;
  const [row] = await sql<PasskeyView[]>`
    insert into passkeys (user_id, credential_id, public_key, counter, transports, name)
    values (${user.id}, ${credential.id}, ${Buffer.from(credential.publicKey)}, ${credential.counter},
            ${sql.array(credential.transports ?? [])}, ${(name ?? '').slice(0, 60) || 'Passkey'})
    on conflict (credential_id) do nothing
    returning id, name, created_at, last_used_at`;
  if (!row) throw new HttpError(409, 'conflict', 'This passkey is already registered');
  return row;
}

export async function loginOptions({ sql, config }: Deps, meta: ClientMeta) {
  await enforce(sql, [{ key: `passkey:ip:${meta.ip}`, max: config.auth.ipLimit, windowSeconds: 600 }]);
  const rp = relyingParty(config);
  // No allowCredentials: discoverable credentials, the authenticator offers its own.
  const options = await generateAuthenticationOptions({ rpID: rp.rpID, userVerification: 'preferred' });
  await saveChallenge(sql, 'login', options.challenge, null);
  return options;
}

export async function verifyLogin(deps: Deps, response: AuthenticationResponseJSON, meta: ClientMeta): Promise<Login> {
  const { sql, config } = deps;
  const rp = relyingParty(config);
  const challenge = signedChallenge(response?.response?.clientDataJSON);
  if (!(await takeChallenge(sql, 'login', challenge, null))) throw refused('This passkey request expired; try again');
  const [stored] = await sql<
    { id: string; userId: string; credentialId: string; publicKey: Uint8Array; counter: string; transports: string[]; disabled: boolean }[]
  >`
    select p.id, p.user_id, p.credential_id, p.public_key, p.counter::text, p.transports, u.disabled
    from passkeys p join users u on u.id = p.user_id
    where p.credential_id = ${typeof response?.id === 'string' ? response.id : ''}`;
  // A removed passkey, or one of another site: the same answer.
  if (!stored || stored.disabled) throw refused();
  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge!,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      credential: {
        id: stored.credentialId,
        publicKey: new Uint8Array(stored.publicKey),
        counter: Number(stored.counter),
        transports: stored.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: false,
    });
  } catch {
    // Wrong origin or RP ID, bad signature, a counter that went backwards (a cloned key).
    throw refused();
  }
  if (!verification.verified) throw refused();
  // The counter only moves forward; the update re-checks it so two racing uses cannot both pass.
  const [moved] = await sql<{ id: string }[]>`
    update passkeys set counter = ${verification.authenticationInfo.newCounter}, last_used_at = now()
    where id = ${stored.id} and (counter < ${verification.authenticationInfo.newCounter} or ${verification.authenticationInfo.newCounter} = 0)
    returning id`;
  if (!moved) throw refused();
  const user = await findUserById(sql, stored.userId);
  if (!user) throw refused();
  const { passwordHash: _, ...publicUser } = user;
  return startSession(deps, publicUser, meta);
}

export async function removePasskey(sql: Sql, userId: string, id: string) {
  const rows = await sql`delete from passkeys where id = ${id} and user_id = ${userId} returning id`;
  if (!rows.length) throw notFound('Passkey');
}
