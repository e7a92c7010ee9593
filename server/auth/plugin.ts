/**
 * The one auth plugin. Routes opt in with `{ auth: true }` and receive `user` and
 * `sessionId`; without a valid access cookie the macro answers 401 itself.
 * Every request checks the session row too, so sign-out, account deletion,
 * disabling and password changes take effect on the next request.
 */
import { Elysia } from 'elysia';
import type { Config } from '../config';
import type { Sql } from '../db';
import { forbidden, unauthorized } from '../errors';
import { permissionsOf, type Permission, type Permissions, type Role } from './permissions';
import { activeUser } from './service';
import { touchSeen } from './sessions';
import { accessTokens } from './tokens';

const PERMISSION_NAMES: Record<Permission, string> = {
  voice: 'voice',
  images: 'image generation',
  share: 'sharing',
  ownKeys: 'its own provider keys',
  chooseModel: 'other models',
  systemPrompt: 'system prompts',
  rooms: 'rooms',
};

export const ACCESS_COOKIE = 'parley_access';
export const REFRESH_COOKIE = 'parley_refresh';

export function authPlugin({ sql, config }: { sql: Sql; config: Config }) {
  const tokens = accessTokens(config.auth.secret, config.auth.accessTtlSeconds);
  /** The token's claims (checked at once, no I/O), or 401. */
  function claimsOf(token: unknown) {
    const claims = tokens.verify(token);
    if (!claims) throw unauthorized();
    return claims;
  }
  /** The session row's check: its user if the session and the account are still good, else 401. */
  async function sessionUser(claims: NonNullable<ReturnType<typeof tokens.verify>>) {
    const user = await activeUser(sql, claims.sub, claims.sid, claims.iat);
    if (!user) throw unauthorized('Session ended; sign in again');
    // Last seen (the admin's user list, Settings' devices): at most once a minute per session; never blocks.
    touchSeen(sql, user.id, claims.sid).catch(() => {});
    return user;
  }
  async function authenticate(token: unknown) {
    const claims = claimsOf(token);
    return { user: await sessionUser(claims), sessionId: claims.sid };
  }

  // What a guard's `transform` established, for its `resolve` (same request, no second look-up).
  type Checked = Awaited<ReturnType<typeof authenticate>> & { permissions: Permissions | null };
  const checked = new WeakMap<Request, Checked>();
  const passed = (request: Request) => {
    const found = checked.get(request);
    if (!found) throw unauthorized();
    return found;
  };

  return new Elysia({ name: 'auth', seed: config.auth.secret })
    .decorate('accessJwt', tokens)
    .macro({
      auth: {
        resolve: ({ cookie }) => authenticate(cookie[ACCESS_COOKIE]?.value),
      },
      /**
       * `{ authBeside: true }`, for POST /api/threads/:id/messages only (a reply's time to first
       * token, issue 11): the token is checked at once (401 otherwise), and the handler receives
       * its `userId` and `sessionId` with `session`, the session row's check still running. The
       * handler must await `session` before any effect (a write, a provider call, a stream); it
       * may read the token's user's own rows meanwhile, dropped unread if `session` fails. That
       * takes one database round trip off the path to the provider.
       */
      authBeside: {
        resolve: ({ cookie }) => {
          const claims = claimsOf(cookie[ACCESS_COOKIE]?.value);
          const session = sessionUser(claims);
          session.catch(() => {}); // the handler awaits it
          return { userId: claims.sub, sessionId: claims.sid, session };
        },
      },
      /**
       * `{ requireRole: 'admin' }`: signed in (401 otherwise) and of that role (403
       * otherwise). Checked in `transform`, before the body is even validated, so a caller
       * who may not use the route learns nothing from it and costs it no work.
       */
      requireRole: (role: Role) => ({
        async transform({ cookie, request }) {
          const found = await authenticate(cookie[ACCESS_COOKIE]?.value);
          if (found.user.role !== role) throw forbidden(role === 'admin' ? 'Only an admin can do this' : 'Not allowed');
          checked.set(request, { ...found, permissions: null });
        },
        resolve: ({ request }) => passed(request),
      }),
      /**
       * `{ requirePermission: 'images' }`: signed in and the role's permission document
       * allows it (403 otherwise), checked before validation like requireRole;
       * `permissions` is handed to the handler.
       */
      requirePermission: (permission: Permission) => ({
        async transform({ cookie, request }) {
          const found = await authenticate(cookie[ACCESS_COOKIE]?.value);
          const permissions = await permissionsOf(sql, found.user.role);
          if (!permissions[permission]) throw forbidden(`Your account may not use ${PERMISSION_NAMES[permission]}`);
          checked.set(request, { ...found, permissions });
        },
        resolve: ({ request }) => {
          const found = passed(request);
          return { ...found, permissions: found.permissions! };
        },
      }),
    })
    .as('scoped');
}
