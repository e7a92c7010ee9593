/**
 * PUT /api/integration/users/:externalId — an outside system creates or updates the
 * account linked to its id and sets its quota. Exists only when INTEGRATION_SECRET is set
 * (otherwise 404, like any unknown path). Authenticated by a short-lived HS256 token.
 */
import { Elysia, t } from 'elysia';
import type { AppDeps } from '../deps';
import { notFound } from '../errors';
import { withErrors } from '../http/model';
import { Role } from '../auth/permissions';
import { QuotaUpdate } from '../quota/model';
import { AdminUserAnswer } from '../admin/model';
import { upsertExternalUser } from './service';
import { verifyIntegrationToken } from './token';

export const IntegrationBody = t.Object({
  email: t.Optional(t.String({ format: 'email', maxLength: 254, error: 'must be a valid email address' })),
  name: t.Optional(t.String({ maxLength: 100 })),
  role: t.Optional(Role),
  quota: t.Optional(QuotaUpdate),
});
export type IntegrationBody = typeof IntegrationBody.static;

export function integrationRoutes(deps: Pick<AppDeps, 'sql' | 'config'>) {
  const secret = deps.config.integration.secret;
  const app = new Elysia({ name: 'integration', prefix: '/api/integration' });
  if (!secret) return app;
  return app.put(
    '/users/:externalId',
    async ({ params, body, request }) => {
      await verifyIntegrationToken(deps.sql, secret, request.headers.get('authorization'));
      const user = await upsertExternalUser(deps.sql, params.externalId, body);
      if (!user) throw notFound('User');
      return { user };
    },
    {
      // The token is checked first thing in the handler, before the body is used.
      params: t.Object({ externalId: t.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$' }) }),
      body: IntegrationBody,
      response: withErrors({ 200: AdminUserAnswer }),
      detail: { security: [{ integrationToken: [] }] },
    },
  );
}

