import { Elysia } from 'elysia';
import { sessionCookies, type Jar } from './cookies';
import type { AppDeps } from '../deps';
import { clientIp } from '../http/client';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './plugin';
import { NoContent, withErrors } from '../http/model';
import { AuthProviders, ChangePasswordBody, LoginBody, Ok, RegisterBody, UserAnswer } from './model';
import * as auth from './service';
import { upgradeGuest } from './guests';
import { currentSession } from './signin';

export function authRoutes(deps: AppDeps) {
  const { config } = deps;
  const cookies = sessionCookies(config);
  const { base } = cookies;
  const setSessionCookies = cookies.set;
  const clearCookies = cookies.clear;

  const meta = (request: Request, server: Parameters<typeof clientIp>[1]) => ({
    ip: clientIp(request, server, config.http.trustProxy),
    userAgent: request.headers.get('user-agent'),
  });

  return new Elysia({ name: 'auth-routes', prefix: '/api/auth' })
    .use(deps.auth)
    .post(
      '/register',
      async ({ body, cookie, accessJwt, request, server, set }) => {
        // From a guest session, the guest's account becomes the new one (its threads stay).
        const current = await currentSession(deps, accessJwt, cookie as Jar);
        const login = current?.user.role === 'guest'
          ? await upgradeGuest(deps, { userId: current.user.id, sessionId: current.sessionId }, body, meta(request, server))
          : await auth.register(deps, body, meta(request, server));
        await setSessionCookies(cookie as Jar, accessJwt, login);
        set.status = 201;
        return { user: login.user };
      },
      { body: RegisterBody, response: withErrors({ 201: UserAnswer }) },
    )
    .post(
      '/login',
      async ({ body, cookie, accessJwt, request, server }) => {
        const login = await auth.login(deps, body, meta(request, server));
        await setSessionCookies(cookie as Jar, accessJwt, login);
        return { user: login.user };
      },
      { body: LoginBody, response: withErrors({ 200: UserAnswer }) },
    )
    .post('/refresh', async ({ cookie, accessJwt }) => {
      const jar = cookie as Jar;
      try {
        const login = await auth.refresh(deps, jar[REFRESH_COOKIE]?.value || undefined);
        await setSessionCookies(jar, accessJwt, login);
        return { user: login.user };
      } catch (error) {
        clearCookies(jar);
        throw error;
      }
    }, { response: withErrors({ 200: UserAnswer }) })
    .post('/logout', async ({ cookie, accessJwt, set }) => {
      const jar = cookie as Jar;
      // Works with either cookie (or an expired access token): sign-out must never fail.
      const claims = await accessJwt.verify(jar[ACCESS_COOKIE]?.value || undefined).catch(() => false as const);
      const sessionId = typeof claims === 'object' && typeof claims.sid === 'string' ? claims.sid : null;
      await auth.logout(deps, sessionId, jar[REFRESH_COOKIE]?.value || undefined);
      // Its open reply streams end now too.
      if (sessionId) deps.sessionStreams.end([sessionId]);
      clearCookies(jar);
      set.headers['clear-site-data'] = '"cache", "cookies", "storage"';
      set.status = 204;
    }, { response: withErrors({ 204: NoContent }) })
    .get('/me', ({ user }) => ({ user }), { auth: true, response: withErrors({ 200: UserAnswer }) })
    .get('/providers', () => auth.providers(deps), { response: withErrors({ 200: AuthProviders }) })
    .post(
      '/password',
      async ({ user, sessionId, body, cookie, accessJwt }) => {
        await auth.changePassword(deps, user, sessionId, body);
        // New access token for this session: the old one predates the change.
        const access = await accessJwt.sign({ sub: user.id, sid: sessionId, typ: 'access', iat: true } as never);
        (cookie as Jar)[ACCESS_COOKIE]!.set({ ...base, value: access, path: '/', maxAge: config.auth.accessTtlSeconds });
        return { ok: true };
      },
      {
        auth: true,
        body: ChangePasswordBody,
        response: withErrors({ 200: Ok }),
      },
    )
    .delete(
      '/me',
      async ({ user, cookie, set }) => {
        await deps.hooks.beforeAccountDelete(user.id);
        await auth.deleteAccount(deps.sql, user.id);
        clearCookies(cookie as Jar);
        set.headers['clear-site-data'] = '"cache", "cookies", "storage"';
        set.status = 204;
      },
      { auth: true, response: withErrors({ 204: NoContent }) },
    );
}
