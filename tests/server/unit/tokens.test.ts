/**
 * Access tokens (server/auth/tokens.ts): what it signs verifies, and every forgery a
 * caller could try is refused: another key, another algorithm (none, HS512), no exp, expired,
 * another issuer, a refresh-typed token, a tampered payload. Tokens are made independently
 * with jose, so the test does not trust the module to make its own counterexamples.
 */
import { describe, expect, test } from 'bun:test';
import { SignJWT, UnsecuredJWT, decodeJwt } from 'jose';
import { accessTokens } from '../../../server/auth/tokens';
import { deriveKey } from '../../../server/crypto';

const SECRET = 'a test secret that is long enough for the derivation';
const tokens = accessTokens(SECRET, 900);
const key = new TextEncoder().encode(deriveKey(SECRET, 'jwt-access').toString('base64url'));
const now = () => Math.floor(Date.now() / 1000);
const claims = { sub: 'user-1', sid: 'session-1', typ: 'access' };

function jose(payload: Record<string, unknown> = claims, alg = 'HS256', signingKey = key) {
  return new SignJWT(payload).setProtectedHeader({ alg }).sign(signingKey);
}

describe('access tokens', () => {
  test('what it signs verifies, with the claims the session check needs', () => {
    const token = tokens.sign({ sub: 'user-1', sid: 'session-1' });
    const verified = tokens.verify(token);
    expect(verified).toMatchObject({ sub: 'user-1', sid: 'session-1', typ: 'access' });
    expect(verified!.exp - verified!.iat).toBe(900);
    expect(Math.abs(verified!.iat - now())).toBeLessThanOrEqual(2);
    expect(decodeJwt(token).iss).toBe('parley');
  });

  test('a token made elsewhere with the same key and claims verifies (tokens from before an upgrade stay valid)', async () => {
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('parley').setIssuedAt().setExpirationTime('5m').sign(key);
    expect(tokens.verify(token)).toMatchObject({ sub: 'user-1', sid: 'session-1' });
  });

  test('forgeries and misuses are refused', async () => {
    const good = () => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('parley').setIssuedAt();
    const cases: [string, string][] = [
      ['another key', await good().setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(43)))],
      ['alg none', new UnsecuredJWT({ ...claims, iss: 'parley', iat: now(), exp: now() + 300 }).encode()],
      ['HS512', await new SignJWT(claims).setProtectedHeader({ alg: 'HS512' }).setIssuer('parley').setIssuedAt().setExpirationTime('5m').sign(key)],
      ['no exp', await good().sign(key)],
      ['expired', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('parley').setIssuedAt(now() - 600).setExpirationTime(now() - 300).sign(key)],
      ['another issuer', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('elsewhere').setIssuedAt().setExpirationTime('5m').sign(key)],
      ['no issuer', await jose({ ...claims, iat: now(), exp: now() + 300 })],
      ['a refresh-typed token', await (new SignJWT({ ...claims, typ: 'refresh' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('parley').setIssuedAt().setExpirationTime('5m').sign(key))],
      ['no session id', await new SignJWT({ sub: 'user-1', typ: 'access' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('parley').setIssuedAt().setExpirationTime('5m').sign(key)],
    ];
    const signed = tokens.sign({ sub: 'user-1', sid: 'session-1' });
    const [h, p, s] = signed.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    cases.push(['a tampered payload', `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url')}.${s}`]);
    cases.push(['garbage', 'not.a.token'], ['empty', '']);
    for (const [name, token] of cases) expect([name, tokens.verify(token)]).toEqual([name, null]);
    expect(tokens.verify(undefined)).toBeNull();
    expect(tokens.verify(42)).toBeNull();
  });
});
