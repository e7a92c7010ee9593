import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { SearchAnswer, SearchQuery } from './model';
import { search } from './service';
import { enforce } from '../infra/rate-limit';

export function searchRoutes(deps: AppDeps) {
  return new Elysia({ name: 'search' })
    .use(deps.auth)
    .get(
      '/api/search',
      async ({ user, query }) => {
        await enforce(deps.sql, [{ key: `search:user:${user.id}`, max: deps.config.library.searchPerMinute, windowSeconds: 60 }]);
        return { results: await search(deps.sql, user.id, query.q, query.limit ?? 20) };
      },
      {
        auth: true,
        query: SearchQuery,
        response: withErrors({ 200: SearchAnswer }),
      },
    );
}
