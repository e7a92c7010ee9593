/**
 * The one auth plugin. Routes opt in with `{ auth: true }` and receive `user` and
 * `sessionId`; without a valid access cookie the macro answers 401 itself.
 * Every request checks the session row too, so sign-out, account deletion,
 * disabling and password changes take effect on the next request.
 */
import { Elysia } from 'elysia';
import { jwt } from '@elysiajs/jwt';
import type { Config } from '../config';
import type { Sql } from '../db';
import { deriveKey } from '../crypto';
import { unauthorized } from '../errors';
import { activeUser } from './service';
import { touchSeen } from './sessions';

export const ACCESS_COOKIE = 'parley_access';
export const REFRESH_COOKIE = 'parley_refresh';

export function authPlugin({ sql, config }: { sql: Sql; config: Config }) {
  return new Elysia({ name: 'auth', seed: config.auth.secret })
    .use(
      jwt({
        name: 'accessJwt',
        secret: deriveKey(config.auth.secret, 'jwt-access').toString('base64url'),
        alg: 'HS256',
        iss: 'parley',
        exp: `${config.auth.accessTtlSeconds}s`,
      }),
    )
    .macro({
      auth: {
        async resolve({ cookie, accessJwt }) {
          const token = cookie[ACCESS_COOKIE]?.value;
          if (typeof token !== 'string' || !token) throw unauthorized();
          const claims = await accessJwt.verify(token, { algorithms: ['HS256'], issuer: 'parley' });
          if (
            !claims ||
            claims.typ !== 'access' ||
            typeof claims.sub !== 'string' ||
            typeof claims.sid !== 'string' ||
            typeof claims.iat !== 'number'
          ) {
            throw unauthorized();
          }
          const user = await activeUser(sql, claims.sub, claims.sid, claims.iat);
          if (!user) throw unauthorized('Session ended; sign in again');
          // Last seen, for Settings' device list and the idle-guest sweep; never blocks the request.
          touchSeen(sql, user.id, claims.sid).catch(() => {});
          return { user, sessionId: claims.sid };
        },
      },
    })
    .as('scoped');
}
