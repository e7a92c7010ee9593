import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { CreateThreadBody, IdParams, PageQuery, UpdateThreadBody } from './model';
import * as q from '../conversations/queries';
import * as threads from './service';

export function threadsRoutes(deps: AppDeps) {
  return new Elysia({ name: 'threads', prefix: '/api/threads' })
    .use(deps.auth)
    .get('/', ({ user, query }) => q.listThreads(deps.sql, user.id, query.limit ?? 50, query.before), {
      auth: true,
      query: PageQuery,
    })
    .post(
      '/',
      async ({ user, body, set }) => {
        const thread = await threads.createThread(deps, user.id, body);
        set.status = 201;
        return { thread };
      },
      { auth: true, body: CreateThreadBody },
    )
    .get('/:id', async ({ user, params }) => ({ thread: await threads.requireThread(deps, user.id, params.id) }), {
      auth: true,
      params: IdParams,
    })
    .patch(
      '/:id',
      async ({ user, params, body }) => ({ thread: await threads.updateThread(deps, user.id, params.id, body) }),
      { auth: true, params: IdParams, body: UpdateThreadBody },
    )
    .delete(
      '/:id',
      async ({ user, params, set }) => {
        await deps.hooks.beforeThreadDelete(user.id, params.id);
        await threads.deleteThread(deps, user.id, params.id);
        await deps.hooks.afterThreadDelete(user.id, params.id);
        set.status = 204;
      },
      { auth: true, params: IdParams },
    )
    .get(
      '/:id/messages',
      async ({ user, params, query }) => {
        await threads.requireThread(deps, user.id, params.id);
        return q.listMessages(deps.sql, user.id, params.id, query.limit ?? 50, query.before);
      },
      { auth: true, params: IdParams, query: PageQuery },
    );
}
