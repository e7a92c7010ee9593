/** GET /api/quota: the caller's own balance and this period's use (Settings shows it). */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { notFound } from '../errors';
import { withErrors } from '../http/model';
import { QuotaAnswer } from './model';
import { getQuota, usedThisPeriod } from './service';

export function quotaRoutes(deps: Pick<AppDeps, 'sql' | 'auth'>) {
  return new Elysia({ name: 'quota' }).use(deps.auth).get(
    '/api/quota',
    async ({ user }) => {
      const quota = await getQuota(deps.sql, user.id);
      if (!quota) throw notFound('Account');
      return { quota, used: await usedThisPeriod(deps.sql, user.id, quota) };
    },
    { auth: true, response: withErrors({ 200: QuotaAnswer }) },
  );
}
