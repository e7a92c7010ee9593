/** GET /api/models: the models this user can pick, merged across providers. */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { ModelList } from './model';

export { createProviders } from './service';

export function modelsRoutes(deps: AppDeps) {
  return new Elysia({ name: 'models', prefix: '/api' })
    .use(deps.auth)
    .get(
      '/models',
      async ({ user }) => {
        const [list, search] = await Promise.all([deps.providers.models(user.id), deps.tools?.search().catch(() => null) ?? null]);
        return { ...list, webSearch: Boolean(search) };
      },
      { auth: true, response: withErrors({ 200: ModelList }) },
    );
}
