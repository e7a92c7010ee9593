/**
 * The integration API's bearer tokens: compact JWS, HS256 only, signed with
 * INTEGRATION_SECRET; `exp` required and at most five minutes ahead; `jti` required
 * and accepted once (kept in the database, so every instance agrees). Anything else —
 * another algorithm (`none` included), a bad signature, expired, replayed — is 401.
 * The signature, algorithm and expiry are checked by fast-jwt, as the access tokens are.
 */
import { createVerifier, TOKEN_ERROR_CODES } from 'fast-jwt';
import type { Sql } from '../db';
import { unauthorized } from '../errors';

export const MAX_LIFETIME_SECONDS = 300;
const SKEW_SECONDS = 30;

/** What each refusal of the JWT library says to the caller. */
const REFUSALS: Partial<Record<string, string>> = {
  [TOKEN_ERROR_CODES.invalidAlgorithm]: 'The token must be signed with HS256',
  [TOKEN_ERROR_CODES.missingSignature]: 'The token must be signed with HS256',
  [TOKEN_ERROR_CODES.invalidSignature]: 'Bad token signature',
  [TOKEN_ERROR_CODES.expired]: 'The token has expired',
};

/** One verifier per secret (the same JWT library as the access tokens: server/auth/tokens.ts). */
const verifiers = new Map<string, (token: string) => Record<string, unknown>>();
function verifierFor(secret: string) {
  let verify = verifiers.get(secret);
  if (!verify) verifiers.set(secret, (verify = createVerifier({ key: secret, algorithms: ['HS256'], cache: false })));
  return verify;
}

export async function verifyIntegrationToken(sql: Sql, secret: string, authorization: string | null) {
  const token = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization ?? '')?.[1];
  if (!token || token.length > 4096) throw unauthorized('A bearer token is required');
  let claims: Record<string, unknown>;
  try {
    claims = verifierFor(secret)(token);
  } catch (error) {
    throw unauthorized(REFUSALS[(error as { code?: string }).code ?? ''] ?? 'Bad token');
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw unauthorized('The token needs exp');
  if (claims.exp > now + MAX_LIFETIME_SECONDS + SKEW_SECONDS) throw unauthorized('The token must expire within 5 minutes');
  if (typeof claims.jti !== 'string' || !claims.jti || claims.jti.length > 200) throw unauthorized('The token needs a jti');
  // Spent ids are kept past their token's expiry; older ones can go.
  await sql`delete from integration_jtis where expires_at < now() - interval '1 hour'`;
  const [fresh] = await sql`
    insert into integration_jtis (jti, expires_at) values (${claims.jti}, to_timestamp(${claims.exp}))
    on conflict (jti) do nothing returning jti`;
  if (!fresh) throw unauthorized('This token was already used');
  return claims;
}
