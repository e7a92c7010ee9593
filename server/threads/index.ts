import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { NoContent, withErrors } from '../http/model';
import { CreateThreadBody, IdParams, MessagePage, PageQuery, ThreadAnswer, ThreadListQuery, ThreadPage, UpdateThreadBody } from './model';
import * as q from '../conversations/queries';
import * as threads from './service';

export function threadsRoutes(deps: AppDeps) {
  return new Elysia({ name: 'threads', prefix: '/api/threads' })
    .use(deps.auth)
    .get('/', ({ user, query }) => q.listThreads(deps.sql, user.id, query.limit ?? 50, query.before, query), {
      auth: true,
      query: ThreadListQuery,
      response: withErrors({ 200: ThreadPage }),
    })
    .post(
      '/',
      async ({ user, body, set }) => {
        const { thread, created } = await threads.createThread(deps, user.id, body);
        // 201 when this request made it; 200 when the client's id was already this user's thread (a retry).
        set.status = created ? 201 : 200;
        return { thread };
      },
      { auth: true, body: CreateThreadBody, response: withErrors({ 200: ThreadAnswer, 201: ThreadAnswer }) },
    )
    .get('/:id', async ({ user, params }) => ({ thread: await threads.requireThread(deps, user.id, params.id) }), {
      auth: true,
      params: IdParams,
      response: withErrors({ 200: ThreadAnswer }),
    })
    .patch(
      '/:id',
      async ({ user, params, body }) => ({ thread: await threads.updateThread(deps, user.id, params.id, body) }),
      { auth: true, params: IdParams, body: UpdateThreadBody, response: withErrors({ 200: ThreadAnswer }) },
    )
    .delete(
      '/:id',
      async ({ user, params, set }) => {
        // Ownership first: someone else's id is a 404 before any reply is stopped or file touched.
        await threads.requireThread(deps, user.id, params.id);
        await deps.hooks.beforeThreadDelete(user.id, params.id);
        await threads.deleteThread(deps, user.id, params.id);
        await deps.hooks.afterThreadDelete(user.id, params.id);
        set.status = 204;
      },
      { auth: true, params: IdParams, response: withErrors({ 204: NoContent }) },
    )
    .get(
      '/:id/messages',
      async ({ user, params, query }) => {
        const thread = await threads.requireThread(deps, user.id, params.id);
        return { ...(await q.listMessages(deps.sql, user.id, params.id, query.limit ?? 50, query.before)), thread };
      },
      { auth: true, params: IdParams, query: PageQuery, response: withErrors({ 200: MessagePage }) },
    );
}
