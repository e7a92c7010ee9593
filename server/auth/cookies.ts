/**
 * Setting and clearing the session cookies, for every way of signing in (password,
 * identity provider, passkey, guest): one place decides their flags and paths.
 */
import type { Cookie } from 'elysia';
import type { Config } from '../config';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './plugin';
import type { Login } from './service';
import type { AccessTokens } from './tokens';

export type Jar = Record<string, Cookie<string | undefined>>;

export function sessionCookies(config: Config) {
  const base = { httpOnly: true, sameSite: 'lax' as const, secure: config.http.secureCookies };
  return {
    base,
    set(cookie: Jar, accessJwt: AccessTokens, login: Login) {
      const access = accessJwt.sign({ sub: login.user.id, sid: login.sessionId });
      cookie[ACCESS_COOKIE]!.set({ ...base, value: access, path: '/', maxAge: config.auth.accessTtlSeconds });
      // The refresh cookie only travels to the auth routes.
      cookie[REFRESH_COOKIE]!.set({ ...base, value: login.refreshToken, path: '/api/auth', maxAge: config.auth.refreshIdleSeconds });
    },
    clear(cookie: Jar) {
      cookie[ACCESS_COOKIE]!.set({ ...base, value: '', path: '/', maxAge: 0 });
      cookie[REFRESH_COOKIE]!.set({ ...base, value: '', path: '/api/auth', maxAge: 0 });
    },
  };
}
