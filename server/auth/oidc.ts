/**
 * OpenID Connect sign-in with openid-client (a certified relying party): authorization
 * code with PKCE (S256), `state` and `nonce`. Providers come from the environment (`oidc`,
 * `google`) and from the admin console (oidc_providers). A sign-in in progress is a row in
 * oidc_logins keyed by `state` and deleted when the callback uses it, and the browser that
 * started it holds the same `state` in a cookie, so a callback completes once, in that browser.
 *
 * Who someone is: (provider, subject) first; failing that, an existing account is linked only
 * through an email the provider marks verified (never taken over through an unverified one);
 * failing that, a new account with the provider's default role, unless it is invite-only.
 */
import { normalizeEmail } from './email';
import * as client from 'openid-client';
import { issuerAllowed, type Config } from '../config';
import { decrypt, deriveKey, encrypt } from '../crypto';
import type { Sql } from '../db';
import { log } from '../log';
import { enforce } from '../infra/rate-limit';
import type { User } from './model';
import { findUserByEmail, revokeSession } from './queries';
import type { Role, SignupRole } from './roles';
import { startSession, type ClientMeta, type Login } from './service';

type Deps = { sql: Sql; config: Config };

export interface OidcProvider {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  enabled: boolean;
  signup: 'create' | 'invited';
  defaultRole: SignupRole;
  roleClaim: string | null;
  roleMap: Record<string, Role>;
  /** From the environment: shown, not editable in the console. */
  fromEnv: boolean;
}

/** Why a sign-in through a provider was refused; the callback sends it to /login?error=. */
export class OidcError extends Error {
  constructor(
    public readonly code:
      | 'unknown_provider'
      | 'provider_disabled'
      | 'state_mismatch'
      | 'provider_error'
      | 'unverified_email'
      | 'not_invited'
      | 'account_disabled',
    message: string,
  ) {
    super(message);
  }
}

const LOGIN_SECONDS = 600;
export const OIDC_COOKIE = 'parley_oidc';

const secretKey = (config: Config) => deriveKey(config.auth.secret, 'oidc-client-secret');
export const sealSecret = (config: Config, secret: string) => encrypt(secretKey(config), secret);

export async function allProviders({ sql, config }: Deps): Promise<OidcProvider[]> {
  const fromEnv = config.signin.providers.map<OidcProvider>((p) => ({
    ...p,
    enabled: true,
    signup: config.auth.allowRegistration ? 'create' : 'invited',
    defaultRole: 'user',
    roleClaim: null,
    roleMap: {},
    fromEnv: true,
  }));
  const rows = await sql<
    {
      id: string;
      name: string;
      issuer: string;
      clientId: string;
      clientSecretEnc: string | null;
      enabled: boolean;
      signup: 'create' | 'invited';
      defaultRole: SignupRole;
      roleClaim: string | null;
      roleMap: Record<string, Role>;
    }[]
  >`select id, name, issuer, client_id, client_secret_enc, enabled, signup, default_role, role_claim, role_map
    from oidc_providers order by created_at, id`;
  const stored = rows
    .filter((r) => !fromEnv.some((e) => e.id === r.id))
    .map<OidcProvider>(({ clientSecretEnc, ...r }) => ({
      ...r,
      clientSecret: clientSecretEnc ? decrypt(secretKey(config), clientSecretEnc) : null,
      fromEnv: false,
    }));
  return [...fromEnv, ...stored];
}

export async function enabledProviders(deps: Deps) {
  return (await allProviders(deps)).filter((p) => p.enabled).map((p) => ({ id: p.id, name: p.name }));
}

async function provider(deps: Deps, id: string): Promise<OidcProvider> {
  const found = (await allProviders(deps)).find((p) => p.id === id);
  if (!found) throw new OidcError('unknown_provider', 'No such identity provider');
  if (!found.enabled) throw new OidcError('provider_disabled', 'This identity provider is switched off');
  return found;
}

// Discovered provider metadata, per provider and settings; a failed discovery is retried next time.
const discovered = new Map<string, { at: number; config: Promise<client.Configuration> }>();
const DISCOVERY_TTL_MS = 3600_000;

function clientConfig(p: OidcProvider): Promise<client.Configuration> {
  const key = JSON.stringify([p.id, p.issuer, p.clientId, p.clientSecret]);
  const cached = discovered.get(key);
  if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.config;
  if (!issuerAllowed(p.issuer)) return Promise.reject(new OidcError('provider_error', 'This issuer is not allowed'));
  const insecure = new URL(p.issuer).protocol === 'http:';
  const config = client.discovery(
    new URL(p.issuer),
    p.clientId,
    p.clientSecret ?? undefined,
    p.clientSecret ? undefined : client.None(),
    // Non-repudiation checks: ID tokens from the token endpoint have their signature verified
    // against the provider's JWKS too (openid-client otherwise trusts TLS for them, and a
    // loopback issuer has no TLS).
    {
      execute: insecure ? [client.allowInsecureRequests, client.enableNonRepudiationChecks] : [client.enableNonRepudiationChecks],
      timeout: 10,
    },
  );
  discovered.set(key, { at: Date.now(), config });
  config.catch(() => discovered.delete(key));
  return config;
}

export const redirectUri = (config: Config, id: string) => `${config.http.publicUrl}/api/auth/oidc/${encodeURIComponent(id)}/callback`;

/** Same-origin paths only: `/x` but never `//host`, `/\host` or a full URL. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > 1000) return '/';
  if (value.startsWith('//') || value.startsWith('/\\') || /[\u0000-\u001f\\]/.test(value)) return '/';
  try {
    const url = new URL(value, 'http://parley.invalid');
    if (url.origin !== 'http://parley.invalid') return '/';
    return url.pathname + url.search + url.hash;
  } catch {
    return '/';
  }
}

/** Begins a sign-in: stores state, nonce and the PKCE verifier; answers where to send the browser. */
export async function start(deps: Deps, id: string, returnTo: unknown, meta: ClientMeta, guestUserId: string | null) {
  const { sql, config } = deps;
  await enforce(sql, [{ key: `oidc:ip:${meta.ip}`, max: config.auth.ipLimit, windowSeconds: 600 }]);
  const p = await provider(deps, id);
  let oidc: client.Configuration;
  try {
    oidc = await clientConfig(p);
  } catch (error) {
    log.warn('oidc discovery failed', { provider: p.id, error: String(error) });
    throw new OidcError('provider_error', 'The identity provider could not be reached');
  }
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  await sql`delete from oidc_logins where expires_at < now()`;
  await sql`
    insert into oidc_logins (state, provider_id, nonce, code_verifier, return_to, guest_user_id, expires_at)
    values (${state}, ${p.id}, ${nonce}, ${verifier}, ${safeReturnTo(returnTo)}, ${guestUserId},
            now() + make_interval(secs => ${LOGIN_SECONDS}))`;
  const url = client.buildAuthorizationUrl(oidc, {
    redirect_uri: redirectUri(config, p.id),
    scope: p.roleClaim ? `openid email profile ${p.roleClaim === 'groups' ? 'groups' : ''}`.trim() : 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url: url.href, state, maxAge: LOGIN_SECONDS };
}

interface Claims {
  sub: string;
  email?: unknown;
  email_verified?: unknown;
  name?: unknown;
  preferred_username?: unknown;
  [claim: string]: unknown;
}

/** Completes a sign-in: checks state (cookie and row), exchanges the code, finds or makes the account. */
export async function callback(
  deps: Deps,
  id: string,
  callbackUrl: URL,
  cookieState: string | undefined,
  meta: ClientMeta,
): Promise<{ login: Login; returnTo: string }> {
  const { sql, config } = deps;
  const state = callbackUrl.searchParams.get('state');
  if (!state || !cookieState || state !== cookieState) {
    throw new OidcError('state_mismatch', 'This sign-in did not start in this browser; try again');
  }
  // One use: the row goes whatever happens next, so a callback replayed later finds nothing.
  const [pending] = await sql<
    { providerId: string; nonce: string; codeVerifier: string; returnTo: string; guestUserId: string | null; live: boolean }[]
  >`
    delete from oidc_logins where state = ${state}
    returning provider_id, nonce, code_verifier, return_to, guest_user_id, expires_at > now() as live`;
  if (!pending || !pending.live || pending.providerId !== id) {
    throw new OidcError('state_mismatch', 'This sign-in expired or was already used; try again');
  }
  const p = await provider(deps, id);
  let claims: Claims;
  try {
    const oidc = await clientConfig(p);
    // The URL as the provider redirected to it: PUBLIC_URL's origin, whatever proxy is in between.
    const current = new URL(callbackUrl.pathname + callbackUrl.search, config.http.publicUrl);
    const tokens = await client.authorizationCodeGrant(oidc, current, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const idClaims = tokens.claims();
    if (!idClaims) throw new Error('no ID token');
    // Many providers put email only in userinfo; its subject must be the ID token's.
    const info = await client.fetchUserInfo(oidc, tokens.access_token, idClaims.sub).catch(() => null);
    claims = { ...(info ?? {}), ...idClaims } as Claims;
    if (info) for (const key of ['email', 'email_verified', 'name', 'preferred_username'] as const) claims[key] ??= info[key];
    if (info && p.roleClaim && info[p.roleClaim] !== undefined) claims[p.roleClaim] = info[p.roleClaim];
  } catch (error) {
    log.warn('oidc callback refused', { provider: p.id, error: error instanceof Error ? error.message : String(error) });
    throw new OidcError('provider_error', 'The identity provider’s answer was not accepted');
  }
  const user = await accountFor(deps, p, claims, pending.guestUserId);
  return { login: await startSession(deps, user, meta), returnTo: pending.returnTo };
}

const RANK: Record<Role, number> = { admin: 3, user: 2, restricted: 1, guest: 0 };

/** The role the provider's claim maps to (the most capable when several match), or null. */
export function mappedRole(p: Pick<OidcProvider, 'roleClaim' | 'roleMap'>, claims: Record<string, unknown>): Role | null {
  if (!p.roleClaim) return null;
  const raw = claims[p.roleClaim];
  const values = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  let best: Role | null = null;
  for (const value of values) {
    const role = p.roleMap[String(value)];
    if (role && role !== 'guest' && (!best || RANK[role] > RANK[best])) best = role;
  }
  return best;
}

async function accountFor(deps: Deps, p: OidcProvider, claims: Claims, guestUserId: string | null): Promise<User> {
  const { sql } = deps;
  const email = typeof claims.email === 'string' ? normalizeEmail(claims.email) : '';
  const verified = claims.email_verified === true || claims.email_verified === 'true';
  const name = typeof claims.name === 'string' ? claims.name.slice(0, 100) : typeof claims.preferred_username === 'string' ? claims.preferred_username.slice(0, 100) : '';
  const role = mappedRole(p, claims);

  const [known] = await sql<{ userId: string }[]>`
    select user_id from user_identities where provider_id = ${p.id} and subject = ${claims.sub}`;
  if (known) {
    const user = await usable(sql, known.userId);
    await sql`update user_identities set last_used_at = now(), email = ${email || null} where provider_id = ${p.id} and subject = ${claims.sub}`;
    if (role && role !== user.role) {
      await sql`update users set role = ${role}, updated_at = now() where id = ${user.id}`;
      return { ...user, role };
    }
    return user;
  }

  const existing = email ? await findUserByEmail(sql, email) : null;
  if (existing) {
    // Linking through an email the provider has not verified would let anyone who can
    // type someone's address into their own identity provider take their account.
    if (!verified) throw new OidcError('unverified_email', 'Your identity provider has not verified this email, so it cannot be linked to the existing account');
    if (existing.disabled) throw new OidcError('account_disabled', 'This account is disabled');
    await link(sql, p.id, claims.sub, existing.id, email);
    const { passwordHash: _, disabled: __, ...user } = existing;
    return user;
  }
  if (!email || !verified) throw new OidcError('unverified_email', 'Your identity provider did not give a verified email');

  if (guestUserId) {
    // Signing in from a guest session: the guest's account becomes this person's, threads and all.
    const [upgraded] = await sql<User[]>`
      update users set email = ${email}, name = ${name}, role = ${role ?? p.defaultRole}, updated_at = now()
      where id = ${guestUserId} and role = 'guest' and not disabled
      returning id, email, name, role`;
    if (upgraded) {
      await link(sql, p.id, claims.sub, upgraded.id, email);
      const sessions = await sql<{ id: string }[]>`select id from sessions where user_id = ${upgraded.id} and revoked_at is null`;
      for (const s of sessions) await revokeSession(sql, s.id);
      return upgraded;
    }
  }
  if (p.signup === 'invited') throw new OidcError('not_invited', 'There is no account for this email here; ask the admin for an invitation');
  return sql.begin(async (tx) => {
    // The same lock as registration: exactly one first account becomes the admin.
    await tx`select pg_advisory_xact_lock(7261012)`;
    const [user] = await tx<User[]>`
      insert into users (email, name, password_hash, role)
      values (${email}, ${name}, null,
              case when exists (select 1 from users) then ${role ?? p.defaultRole} else 'admin' end)
      returning id, email, name, role`;
    await link(tx as unknown as Sql, p.id, claims.sub, user!.id, email);
    return user!;
  });
}

async function usable(sql: Sql, userId: string): Promise<User> {
  const [row] = await sql<(User & { disabled: boolean })[]>`select id, email, name, role, disabled from users where id = ${userId}`;
  if (!row) throw new OidcError('account_disabled', 'This account no longer exists');
  if (row.disabled) throw new OidcError('account_disabled', 'This account is disabled');
  const { disabled: _, ...user } = row;
  return user;
}

async function link(sql: Sql, providerId: string, subject: string, userId: string, email: string) {
  await sql`
    insert into user_identities (provider_id, subject, user_id, email) values (${providerId}, ${subject}, ${userId}, ${email})
    on conflict (provider_id, subject) do nothing`;
}

