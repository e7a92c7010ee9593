/** The connections console's routes (admins only: 403 for everyone else, before any work). */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { NoContent, withErrors } from '../http/model';
import { IdParams } from '../threads/model';
import { requireAdmin } from './admin';
import { ConnectionAnswer, ConnectionList, CreateConnectionBody, TestAnswer, UpdateConnectionBody } from './model';
import type { Connections } from './service';

export { createConnections, type Connections } from './service';

export function connectionsRoutes(deps: AppDeps & { connections: Connections }) {
  const c = deps.connections;
  return new Elysia({ name: 'connections', prefix: '/api/admin/connections' })
    .use(deps.auth)
    .get(
      '/',
      async ({ user }) => {
        requireAdmin(user);
        return { connections: await c.list() };
      },
      { auth: true, response: withErrors({ 200: ConnectionList }) },
    )
    .post(
      '/',
      async ({ user, body, set }) => {
        requireAdmin(user);
        set.status = 201;
        return { connection: await c.create(body) };
      },
      { auth: true, body: CreateConnectionBody, response: withErrors({ 201: ConnectionAnswer }) },
    )
    .patch(
      '/:id',
      async ({ user, params, body }) => {
        requireAdmin(user);
        return { connection: await c.update(params.id, body) };
      },
      { auth: true, params: IdParams, body: UpdateConnectionBody, response: withErrors({ 200: ConnectionAnswer }) },
    )
    .delete(
      '/:id',
      async ({ user, params, set }) => {
        requireAdmin(user);
        await c.remove(params.id);
        set.status = 204;
      },
      { auth: true, params: IdParams, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/:id/test',
      async ({ user, params }) => {
        requireAdmin(user);
        return c.test(params.id);
      },
      { auth: true, params: IdParams, response: withErrors({ 200: TestAnswer }) },
    );
}
