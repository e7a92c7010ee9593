/**
 * The replies routes; each makes one service call. Replies stream as server-sent events:
 *   POST /api/threads/:id/messages     → user, start, delta…, done | error, [title]
 *   GET  /api/messages/:id/stream      → start, delta (so far), delta…, done | error, [title]
 *   POST /api/messages/:id/cancel      → {message}
 *   POST /api/messages/:id/regenerate  → start, delta…, done | error
 */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { eventStreamResponse } from '../openapi';
import { IdParams } from '../threads/model';
import { CancelAnswer, PostMessageBody, RegenerateBody, ReplyEvent } from './model';
import * as replies from './service';
import { eventStream } from './sse';
import type { Streams } from './streams';
import type { Feed } from './types';

export function repliesRoutes(deps: AppDeps & Pick<replies.ReplyDeps, 'generations' | 'files' | 'relay'> & { streams: Streams }) {
  // Every reply stream is registered under its session: a sign-out anywhere ends it.
  // The session is also the stream's viewer: a reply that ends unwatched is pushed (server/push).
  const stream = (signal: AbortSignal, owner: { userId: string; sessionId: string }, feed: Feed) =>
    eventStream(signal, deps.streams.open(owner, feed), owner.sessionId);
  return new Elysia({ name: 'replies' })
    .use(deps.auth)
    .post(
      '/api/threads/:id/messages',
      // The session row is checked beside the thread's look-up (postMessage awaits it before any effect).
      async ({ userId, sessionId, session, params, body, request }) =>
        stream(request.signal, { userId, sessionId }, await replies.postMessage(deps, userId, params.id, body, session)),
      { authBeside: true, params: IdParams, body: PostMessageBody, detail: eventStreamResponse(ReplyEvent) },
    )
    .get(
      '/api/messages/:id/stream',
      async ({ user, sessionId, params, request }) =>
        stream(request.signal, { userId: user.id, sessionId }, await replies.follow(deps, user.id, params.id)),
      { auth: true, params: IdParams, detail: eventStreamResponse(ReplyEvent) },
    )
    .post(
      '/api/messages/:id/cancel',
      async ({ user, params }) => ({ message: await replies.cancel(deps, user.id, params.id) }),
      { auth: true, params: IdParams, response: withErrors({ 200: CancelAnswer }) },
    )
    .post(
      '/api/messages/:id/regenerate',
      async ({ user, sessionId, params, body, request }) =>
        stream(request.signal, { userId: user.id, sessionId }, await replies.regenerate(deps, user.id, params.id, body?.model)),
      { auth: true, params: IdParams, body: RegenerateBody, detail: eventStreamResponse(ReplyEvent) },
    );
}
