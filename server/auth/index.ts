import { Elysia } from 'elysia';
import { sessionCookies, type Jar } from './cookies';
import type { AppDeps } from '../deps';
import { clientIp } from '../http/client';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './plugin';
import { NoContent, withErrors } from '../http/model';
import { permissionsOf } from './permissions';
import { AuthProviders, MeAnswer, ResetBody, ChangePasswordBody, DeleteAccountBody, LoginBody, Ok, RegisterBody, UserAnswer } from './model';
import { DEVICE_COOKIE, DEVICE_COOKIE_SECONDS, issueDevice } from './device';
import { normalizeEmail } from './email';
import * as auth from './service';
import { upgradeGuest } from './guests';
import { currentSession } from './signin';

export function authRoutes(deps: AppDeps) {
  const { config } = deps;
  const cookies = sessionCookies(config);
  const { base } = cookies;
  const setSessionCookies = cookies.set;
  const clearCookies = cookies.clear;

  const meta = (request: Request, server: Parameters<typeof clientIp>[1], cookie?: Jar) => ({
    ip: clientIp(request, server, config.http.trustProxy),
    userAgent: request.headers.get('user-agent'),
    device: cookie?.[DEVICE_COOKIE]?.value || undefined,
  });

  /** This browser signed in to this account: later sign-in attempts from it get their own allowance. */
  function rememberDevice(cookie: Jar, email: string) {
    cookie[DEVICE_COOKIE]!.set({
      ...base,
      value: issueDevice(config.auth.secret, normalizeEmail(email)),
      path: '/api/auth',
      maxAge: DEVICE_COOKIE_SECONDS,
    });
  }

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
        rememberDevice(cookie as Jar, login.user.email);
        set.status = 201;
        return { user: login.user };
      },
      { body: RegisterBody, response: withErrors({ 201: UserAnswer }) },
    )
    .post(
      '/login',
      async ({ body, cookie, accessJwt, request, server }) => {
        const login = await auth.login(deps, body, meta(request, server, cookie as Jar));
        await setSessionCookies(cookie as Jar, accessJwt, login);
        rememberDevice(cookie as Jar, login.user.email);
        return { user: login.user };
      },
      { body: LoginBody, response: withErrors({ 200: UserAnswer }) },
    )
    .post(
      '/reset',
      async ({ body, cookie, accessJwt, request, server }) => {
        const login = await auth.resetWithLink(deps, body, meta(request, server));
        await setSessionCookies(cookie as Jar, accessJwt, login);
        return { user: login.user };
      },
      { body: ResetBody, response: withErrors({ 200: UserAnswer }) },
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
      const sessionId = accessJwt.verify(jar[ACCESS_COOKIE]?.value)?.sid ?? null;
      const ended = await auth.logout(deps, sessionId, jar[REFRESH_COOKIE]?.value || undefined);
      // Its open reply streams end now, not when their access token would have expired.
      for (const id of ended) deps.streams.endSession(id);
      clearCookies(jar);
      set.headers['clear-site-data'] = '"cache", "cookies", "storage"';
      set.status = 204;
    }, { response: withErrors({ 204: NoContent }) })
    .get('/me', async ({ user }) => ({ user, permissions: await permissionsOf(deps.sql, user.role) }), {
      auth: true,
      response: withErrors({ 200: MeAnswer }),
    })
    .get('/providers', () => auth.providers(deps), { response: withErrors({ 200: AuthProviders }) })
    .post(
      '/password',
      async ({ user, sessionId, body, cookie, accessJwt }) => {
        await auth.changePassword(deps, user, sessionId, body);
        deps.streams.endUser(user.id, sessionId); // the other sessions were just ended
        // New access token for this session: the old one predates the change.
        const access = accessJwt.sign({ sub: user.id, sid: sessionId });
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
      async ({ user, sessionId, body, cookie, set }) => {
        // Checked before anything is touched: a stolen session cannot delete the account.
        await auth.checkAccountDeletion(deps, user.id, sessionId, body?.password);
        deps.streams.endUser(user.id);
        await deps.hooks.beforeAccountDelete(user.id);
        await auth.deleteAccount(deps.sql, user.id);
        clearCookies(cookie as Jar);
        set.headers['clear-site-data'] = '"cache", "cookies", "storage"';
        set.status = 204;
      },
      { auth: true, body: DeleteAccountBody, response: withErrors({ 204: NoContent }) },
    );
}
