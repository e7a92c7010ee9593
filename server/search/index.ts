import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { SearchAnswer, SearchQuery } from './model';
import { search } from './service';

export function searchRoutes(deps: AppDeps) {
  return new Elysia({ name: 'search' })
    .use(deps.auth)
    .get('/api/search', async ({ user, query }) => ({ results: await search(deps.sql, user.id, query.q, query.limit ?? 20) }), {
      auth: true,
      query: SearchQuery,
      response: withErrors({ 200: SearchAnswer }),
    });
}
