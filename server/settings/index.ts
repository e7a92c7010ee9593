/** GET and PUT /api/settings: the signed-in user's preferences and their own provider keys. */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { badRequest } from '../errors';
import { withErrors } from '../http/model';
import { assertModelChoice, notAllowed } from '../auth/policy';
import { permissionsForUser } from '../auth/permissions';
import { SettingsUpdate, SettingsView } from './model';
import { getSettingsView, updateSettings } from './service';

export { getSettings, getUserKeys } from './service';

export function settingsRoutes(deps: AppDeps) {
  return new Elysia({ name: 'settings', prefix: '/api' })
    .use(deps.auth)
    .get('/settings', ({ user }) => getSettingsView(deps.sql, user.id), {
      auth: true,
      response: withErrors({ 200: SettingsView }),
    })
    .put('/settings', async ({ user, body }) => {
      if (body.mistralKey !== undefined || body.openaiKey !== undefined || body.defaultModel != null) {
        const permissions = await permissionsForUser(deps.sql, user.id);
        if ((body.mistralKey !== undefined || body.openaiKey !== undefined) && !permissions.ownKeys) {
          throw notAllowed('use its own provider keys');
        }
        assertModelChoice(permissions, body.defaultModel, null);
      }
      return updateSettings(deps, user.id, body);
    }, {
      auth: true,
      // Elysia turns a non-object body into {} when every field is optional; refuse it first.
      transform({ body }) {
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw badRequest({ body: 'must be a JSON object' });
        }
      },
      body: SettingsUpdate,
      response: withErrors({ 200: SettingsView }),
    });
}
