/** GET /api/models: the models this user can pick, merged across providers. */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { ModelList } from './model';
import { modelAllowed, permissionsOf } from '../auth/permissions';

export { createProviders } from './service';

export function modelsRoutes(deps: AppDeps) {
  return new Elysia({ name: 'models', prefix: '/api' })
    .use(deps.auth)
    .get(
      '/models',
      async ({ user }) => {
        const [list, search] = await Promise.all([deps.providers.models(user.id), deps.tools?.search().catch(() => null) ?? null]);
        const webSearch = Boolean(search);
        const permissions = await permissionsOf(deps.sql, user.role);
        if (permissions.models === null) return { ...list, webSearch };
        // An allow-list: only those models, and a default among them.
        const models = list.models.filter((m) => modelAllowed(permissions, m.id));
        const defaultModel = models.some((m) => m.id === list.defaultModel) ? list.defaultModel : (models[0]?.id ?? null);
        return { ...list, models, defaultModel, webSearch };
      },
      { auth: true, response: withErrors({ 200: ModelList }) },
    );
}
