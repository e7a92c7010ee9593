/**
 * The integration API's bearer tokens: compact JWS, HS256 only, signed with
 * INTEGRATION_SECRET; `exp` required and at most five minutes ahead; `jti` required
 * and accepted once (kept in the database, so every instance agrees). Anything else —
 * another algorithm (`none` included), a bad signature, expired, replayed — is 401.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Sql } from '../db';
import { unauthorized } from '../errors';

export const MAX_LIFETIME_SECONDS = 300;
const SKEW_SECONDS = 30;

function decodeJson(part: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

export async function verifyIntegrationToken(sql: Sql, secret: string, authorization: string | null) {
  const token = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '')?.[1];
  if (!token || token.length > 4096) throw unauthorized('A bearer token is required');
  const [head, body, signature] = token.split('.') as [string, string, string];
  const header = decodeJson(head);
  if (header?.alg !== 'HS256') throw unauthorized('The token must be signed with HS256');
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw unauthorized('Bad token signature');
  const claims = decodeJson(body);
  const now = Math.floor(Date.now() / 1000);
  if (!claims || typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw unauthorized('The token needs exp');
  if (claims.exp <= now) throw unauthorized('The token has expired');
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
