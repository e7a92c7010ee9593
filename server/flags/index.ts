/** POST /api/messages/:id/flag {reason} → 201 {flag}: report an assistant reply for review. */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { IdParams } from '../threads/model';
import { FlagAnswer, FlagBody } from '../admin/model';
import { flagMessage } from './service';

export function flagsRoutes(deps: Pick<AppDeps, 'sql' | 'auth'>) {
  return new Elysia({ name: 'flags' }).use(deps.auth).post(
    '/api/messages/:id/flag',
    async ({ user, params, body, set }) => {
      const flag = await flagMessage(deps.sql, user, params.id, body.reason);
      set.status = 201;
      return { flag };
    },
    { auth: true, params: IdParams, body: FlagBody, response: withErrors({ 201: FlagAnswer }) },
  );
}
