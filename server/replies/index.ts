import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { notFound } from '../errors';
import { IdParams } from '../threads/model';
import * as q from '../threads/queries';
import { withErrors } from '../http/model';
import { eventStreamResponse } from '../openapi';
import { CancelAnswer, PostMessageBody, RegenerateBody, ReplyEvent } from './model';
import * as replies from './service';
import { eventStream } from './sse';

export function repliesRoutes(deps: AppDeps & Pick<replies.ReplyDeps, 'generations' | 'files'>) {
  return new Elysia({ name: 'replies' })
    .use(deps.auth)
    .post(
      '/api/threads/:id/messages',
      async ({ user, params, body, request }) => {
        const { user: message, source } = await replies.postMessage(deps, user.id, params.id, body);
        return eventStream(request.signal, (send) => {
          send({ event: 'user', data: { message } });
          return replies.attach(deps, user.id, source, send);
        });
      },
      { auth: true, params: IdParams, body: PostMessageBody, detail: eventStreamResponse(ReplyEvent) },
    )
    .get(
      '/api/messages/:id/stream',
      async ({ user, params, request }) => {
        const message = await q.getMessage(deps.sql, user.id, params.id);
        if (!message) throw notFound('Message');
        // A user message's stream is its latest reply's.
        const target = message.role === 'user' ? await q.latestChild(deps.sql, user.id, message.id, 'assistant') : message;
        if (!target) throw notFound('Reply');
        const source = await replies.sourceFor(deps, target);
        return eventStream(request.signal, (send) => replies.attach(deps, user.id, source, send));
      },
      { auth: true, params: IdParams, detail: eventStreamResponse(ReplyEvent) },
    )
    .post(
      '/api/messages/:id/cancel',
      async ({ user, params }) => ({ message: await replies.cancel(deps, user.id, params.id) }),
      { auth: true, params: IdParams, response: withErrors({ 200: CancelAnswer }) },
    )
    .post(
      '/api/messages/:id/regenerate',
      async ({ user, params, body, request }) => {
        const generation = await replies.regenerate(deps, user.id, params.id, body?.model);
        return eventStream(request.signal, (send) =>
          replies.attach(deps, user.id, { kind: 'live', generation }, send),
        );
      },
      { auth: true, params: IdParams, body: RegenerateBody, detail: eventStreamResponse(ReplyEvent) },
    );
}
