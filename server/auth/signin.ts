/**
 * Routes for the ways of signing in beyond a password, and the account's devices:
 *   GET    /api/auth/oidc/:id/start?returnTo=    → 302 to the identity provider
 *   GET    /api/auth/oidc/:id/callback           → 302 to returnTo with session cookies (or /login?error=)
 *   POST   /api/auth/passkeys/register/options   POST /api/auth/passkeys/register/verify
 *   POST   /api/auth/passkeys/login/options      POST /api/auth/passkeys/login/verify
 *   GET    /api/auth/passkeys                    DELETE /api/auth/passkeys/:id
 *   GET    /api/auth/sessions                    DELETE /api/auth/sessions[/:id]
 *   POST   /api/auth/guest
 *   POST   /api/auth/forgot {email} → 202 (SMTP_URL): a reset link by email (used at POST /api/auth/reset, server/auth/index.ts)
 *   GET|PUT /api/admin/sign-in, POST /api/admin/sign-in/providers, PATCH|DELETE /api/admin/sign-in/providers/:id
 */
import { Elysia } from 'elysia';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { AppDeps } from '../deps';
import { clientIp } from '../http/client';
import { NoContent, withErrors } from '../http/model';
import { sessionCookies, type Jar } from './cookies';
import type { AccessTokens } from './tokens';
import { createGuest } from './guests';
import { UserAnswer } from './model';
import * as oidc from './oidc';
import * as admin from './oidc-admin';
import * as passkeys from './passkeys';
import { ACCESS_COOKIE } from './plugin';
import { activeUser } from './service';
import { endOtherSessions, endSession, listSessions, type SessionStreams } from './sessions';
import { forgotPassword } from './password-reset';
import {
  Accepted,
  ForgotBody,
  ResetBody,
  CreateProviderBody,
  IdParams,
  PasskeyAnswer,
  PasskeyList,
  PasskeyLoginBody,
  PasskeyRegisterBody,
  ProviderAnswer,
  ProviderParams,
  SessionList,
  SigninSettings,
  SigninSettingsBody,
  StartQuery,
  UpdateProviderBody,
  WebAuthnOptions,
} from './signin-model';

/** The signed-in user behind the access cookie, if any (routes that also serve visitors). */
export async function currentSession(deps: Pick<AppDeps, 'sql'>, accessJwt: AccessTokens, jar: Jar) {
  const claims = accessJwt.verify(jar[ACCESS_COOKIE]?.value);
  if (!claims) return null;
  const user = await activeUser(deps.sql, claims.sub, claims.sid, claims.iat);
  return user ? { user, sessionId: claims.sid } : null;
}

export function signinRoutes(deps: AppDeps & { sessionStreams: SessionStreams }) {
  const { config, sql } = deps;
  const cookies = sessionCookies(config);
  const meta = (request: Request, server: Parameters<typeof clientIp>[1]) => ({
    ip: clientIp(request, server, config.http.trustProxy),
    userAgent: request.headers.get('user-agent'),
  });
  const oidcCookie = { httpOnly: true, sameSite: 'lax' as const, secure: config.http.secureCookies, path: '/api/auth/oidc' };
  const failed = (code: string) => `/login?error=${encodeURIComponent(code)}`;

  return new Elysia({ name: 'signin-routes' })
    .use(deps.auth)
    .get(
      '/api/auth/oidc/:id/start',
      async ({ params, query, cookie, accessJwt, request, server, redirect }) => {
        const jar = cookie as Jar;
        try {
          const current = await currentSession(deps, accessJwt, jar);
          const guestId = current?.user.role === 'guest' ? current.user.id : null;
          const begun = await oidc.start(deps, params.id, query.returnTo, meta(request, server), guestId);
          jar[oidc.OIDC_COOKIE]!.set({ ...oidcCookie, value: begun.state, maxAge: begun.maxAge });
          return redirect(begun.url, 302);
        } catch (error) {
          if (error instanceof oidc.OidcError) return redirect(failed(error.code), 302);
          throw error;
        }
      },
      { params: ProviderParams, query: StartQuery, detail: { responses: { 302: { description: 'To the identity provider (or to /login?error=<code>)' } } } },
    )
    .get(
      '/api/auth/oidc/:id/callback',
      async ({ params, cookie, accessJwt, request, server, redirect }) => {
        const jar = cookie as Jar;
        const cookieState = jar[oidc.OIDC_COOKIE]?.value || undefined;
        jar[oidc.OIDC_COOKIE]!.set({ ...oidcCookie, value: '', maxAge: 0 });
        try {
          const done = await oidc.callback(deps, params.id, new URL(request.url), cookieState, meta(request, server));
          await cookies.set(jar, accessJwt, done.login);
          return redirect(done.returnTo, 302);
        } catch (error) {
          if (error instanceof oidc.OidcError) return redirect(failed(error.code), 302);
          throw error;
        }
      },
      { params: ProviderParams, detail: { responses: { 302: { description: 'To returnTo with the session cookies, or to /login?error=<code>' } } } },
    )
    .post(
      '/api/auth/passkeys/register/options',
      ({ user }) => passkeys.registrationOptions(deps, user),
      { auth: true, response: withErrors({ 200: WebAuthnOptions }) },
    )
    .post(
      '/api/auth/passkeys/register/verify',
      async ({ user, body, set }) => {
        const passkey = await passkeys.verifyRegistration(deps, user, body.response as unknown as RegistrationResponseJSON, body.name);
        set.status = 201;
        return { passkey };
      },
      { auth: true, body: PasskeyRegisterBody, response: withErrors({ 201: PasskeyAnswer }) },
    )
    .post(
      '/api/auth/passkeys/login/options',
      ({ request, server }) => passkeys.loginOptions(deps, meta(request, server)),
      { response: withErrors({ 200: WebAuthnOptions }) },
    )
    .post(
      '/api/auth/passkeys/login/verify',
      async ({ body, cookie, accessJwt, request, server }) => {
        const login = await passkeys.verifyLogin(deps, body.response as unknown as AuthenticationResponseJSON, meta(request, server));
        await cookies.set(cookie as Jar, accessJwt, login);
        return { user: login.user };
      },
      { body: PasskeyLoginBody, response: withErrors({ 200: UserAnswer }) },
    )
    .get('/api/auth/passkeys', async ({ user }) => ({ passkeys: await passkeys.listPasskeys(sql, user.id) }), {
      auth: true,
      response: withErrors({ 200: PasskeyList }),
    })
    .delete(
      '/api/auth/passkeys/:id',
      async ({ user, params, set }) => {
        await passkeys.removePasskey(sql, user.id, params.id);
        set.status = 204;
      },
      { auth: true, params: IdParams, response: withErrors({ 204: NoContent }) },
    )
    .get(
      '/api/auth/sessions',
      async ({ user, sessionId }) => ({ sessions: await listSessions(sql, user.id, sessionId) }),
      { auth: true, response: withErrors({ 200: SessionList }) },
    )
    .delete(
      '/api/auth/sessions/:id',
      async ({ user, params, set }) => {
        await endSession(sql, deps.sessionStreams, user.id, params.id);
        set.status = 204;
      },
      { auth: true, params: IdParams, response: withErrors({ 204: NoContent }) },
    )
    .delete(
      '/api/auth/sessions',
      async ({ user, sessionId, set }) => {
        await endOtherSessions(sql, deps.sessionStreams, user.id, sessionId);
        set.status = 204;
      },
      { auth: true, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/api/auth/guest',
      async ({ cookie, accessJwt, request, server, set }) => {
        const login = await createGuest(deps, meta(request, server));
        await cookies.set(cookie as Jar, accessJwt, login);
        set.status = 201;
        return { user: login.user };
      },
      { response: withErrors({ 201: UserAnswer }) },
    )
    .post(
      '/api/auth/forgot',
      async ({ body, request, server, set }) => {
        await forgotPassword(deps, body.email, meta(request, server));
        set.status = 202;
        return { ok: true as const };
      },
      { body: ForgotBody, response: withErrors({ 202: Accepted }) },
    )
    .get(
      '/api/admin/sign-in',
      async ({ user }) => {
        return admin.settings(deps);
      },
      { requireRole: 'admin', response: withErrors({ 200: SigninSettings }) },
    )
    .put(
      '/api/admin/sign-in',
      async ({ user, body }) => {
        await admin.setAllowGuests(deps, body.allowGuests);
        return admin.settings(deps);
      },
      { requireRole: 'admin', body: SigninSettingsBody, response: withErrors({ 200: SigninSettings }) },
    )
    .post(
      '/api/admin/sign-in/providers',
      async ({ user, body, set }) => {
        const provider = await admin.createProvider(deps, body);
        set.status = 201;
        return { provider };
      },
      { requireRole: 'admin', body: CreateProviderBody, response: withErrors({ 201: ProviderAnswer }) },
    )
    .patch(
      '/api/admin/sign-in/providers/:id',
      async ({ user, params, body }) => {
        return { provider: await admin.updateProvider(deps, params.id, body) };
      },
      { requireRole: 'admin', params: ProviderParams, body: UpdateProviderBody, response: withErrors({ 200: ProviderAnswer }) },
    )
    .delete(
      '/api/admin/sign-in/providers/:id',
      async ({ user, params, set }) => {
        await admin.deleteProvider(deps, params.id);
        set.status = 204;
      },
      { requireRole: 'admin', params: ProviderParams, response: withErrors({ 204: NoContent }) },
    );
}
