/**
 * Web Push routes:
 *   GET    /api/push/key            → {publicKey} (VAPID, for PushManager.subscribe)
 *   POST   /api/push/subscriptions  {endpoint, keys: {p256dh, auth}} → 201
 *   DELETE /api/push/subscriptions  {endpoint} → 204
 *   POST   /api/push/visibility     {hidden} → 204 (this session's windows can or cannot be seen)
 */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { NoContent, withErrors } from '../http/model';
import { PushKey, SubscriptionBody, UnsubscribeBody, VisibilityBody } from './model';
import type { Push } from './service';

export { createPush, type Push } from './service';

export function pushRoutes(deps: AppDeps & { push: Push }) {
  const { push } = deps;
  return new Elysia({ name: 'push', prefix: '/api/push' })
    .use(deps.auth)
    .get('/key', () => ({ publicKey: push.publicKey() }), { auth: true, response: withErrors({ 200: PushKey }) })
    .post(
      '/subscriptions',
      async ({ user, sessionId, body, set }) => {
        await push.subscribe(user.id, sessionId, body);
        set.status = 201;
        return undefined;
      },
      { auth: true, body: SubscriptionBody, response: withErrors({ 201: NoContent }) },
    )
    .delete(
      '/subscriptions',
      async ({ user, body, set }) => {
        // Idempotent: the device may already be gone (404/410) or never have been stored.
        await push.unsubscribe(user.id, body.endpoint);
        set.status = 204;
        return undefined;
      },
      { auth: true, body: UnsubscribeBody, response: withErrors({ 204: NoContent }) },
    )
    .post(
      '/visibility',
      async ({ sessionId, body, set }) => {
        await push.reportVisibility(sessionId, body.hidden);
        set.status = 204;
        return undefined;
      },
      { auth: true, body: VisibilityBody, response: withErrors({ 204: NoContent }) },
    );
}
