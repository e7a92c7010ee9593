/** The connections console's routes (admins only: 403 for everyone else, before any work). */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { NoContent, withErrors } from '../http/model';
import { IdParams } from '../threads/model';
import { ConnectionAnswer, ConnectionList, CreateConnectionBody, TestAnswer, UpdateConnectionBody } from './model';
import type { Connections } from './service';

export { createConnections, type Connections } from './service';

export function connectionsRoutes(deps: AppDeps & { connections: Connections }) {
  const c = deps.connections;
  return new Elysia({ name: 'connections', prefix: '/api/admin/connections' })
    .use(deps.auth)
    .get(
      '/',
      async () => {
        return { connections: await c.list() };
      },
      { requireRole: 'admin', response: withErrors({ 200: ConnectionList }) },
    )
    .post(
      '/',
      async ({ body, set }) => {
        set.status = 201;
        return { connection: await c.create(body) };
      },
      { requireRole: 'admin', body: CreateConnectionBody, response: withErrors({ 201: ConnectionAnswer }) },
    )
    .patch(
      '/:id',
      async ({ params, body }) => {
        return { connection: await c.update(params.id, body) };
      },
      { requireRole: 'admin', params: IdParams, body: UpdateConnectionBody, response: withErrors({ 200: ConnectionAnswer }) },
    )
    .delete(
      '/:id',
      async ({ params, set }) => {
        await c.remove(params.id);
        set.status = 204;
      },
      { requireRole: 'admin', params: IdParams, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/:id/test',
      async ({ params }) => {
        return c.test(params.id);
      },
      { requireRole: 'admin', params: IdParams, response: withErrors({ 200: TestAnswer }) },
    );
}
