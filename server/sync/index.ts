import { Elysia, t } from 'elysia';
import type { AppDeps } from '../deps';
import { changesSince } from './service';

export const SyncQuery = t.Object({
  since: t.Optional(t.String({ pattern: '^[0-9]{1,18}$', error: 'must be a cursor from a previous sync' })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 5000, error: 'must be an integer from 1 to 5000' })),
});

export function syncRoutes(deps: AppDeps) {
  return new Elysia({ name: 'sync' })
    .use(deps.auth)
    .get(
      '/api/sync',
      ({ user, query, set }) => {
        set.headers['cache-control'] = 'no-store';
        return changesSince(deps.sql, user.id, query.since ?? '0', query.limit ?? 1000);
      },
      { auth: true, query: SyncQuery },
    );
}
