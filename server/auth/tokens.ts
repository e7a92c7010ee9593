/**
 * Access tokens: the HS256 JWT in the access cookie, naming a user and a session.
 *
 * Signed and verified synchronously (fast-jwt, over node:crypto's HMAC). Every authenticated
 * request verifies one; WebCrypto's verify (jose, through @elysiajs/jwt, used until then)
 * answers through the event loop, and under load that trip alone was ~3 ms at the 99th
 * percentile of a reply's time to first token (bench:replies at 200 replies in flight).
 *
 * The key is the one used before (`deriveKey(secret, 'jwt-access')` as base64url text),
 * so tokens issued before an upgrade stay valid.
 */
import { createSigner, createVerifier } from 'fast-jwt';
import { deriveKey } from '../crypto';

export interface AccessClaims {
  sub: string;
  sid: string;
  typ: 'access';
  /** Seconds since the epoch: a token older than the account's last password change is refused. */
  iat: number;
  exp: number;
}

export interface AccessTokens {
  sign(claims: { sub: string; sid: string }): string;
  /** The token's claims, or null when it is missing, forged, expired, not ours or not an access token. */
  verify(token: unknown): AccessClaims | null;
}

export function accessTokens(secret: string, ttlSeconds: number): AccessTokens {
  const key = deriveKey(secret, 'jwt-access').toString('base64url');
  const signer = createSigner({ key, algorithm: 'HS256', iss: 'parley', expiresIn: ttlSeconds * 1000 });
  const verifier = createVerifier({
    key,
    algorithms: ['HS256'],
    allowedIss: 'parley',
    // A token that never expires is not one we issued (ours always carry exp).
    // allowedIss alone lets a token without iss through: required too.
    requiredClaims: ['iss', 'exp', 'iat', 'sub', 'sid', 'typ'],
    cache: false,
  });
  return {
    sign: ({ sub, sid }) => signer({ sub, sid, typ: 'access' }),
    verify(token) {
      if (typeof token !== 'string' || !token) return null;
      let claims: Record<string, unknown>;
      try {
        claims = verifier(token) as Record<string, unknown>;
      } catch {
        return null;
      }
      const { sub, sid, typ, iat, exp } = claims;
      if (typ !== 'access' || typeof sub !== 'string' || typeof sid !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return null;
      return { sub, sid, typ, iat, exp };
    },
  };
}
