/** Web Push schemas: the VAPID key, a browser's subscription, and a window's visibility. */
import { t } from 'elysia';

export const PushKey = t.Object({ publicKey: t.String() });
export type PushKey = typeof PushKey.static;

/** What `PushSubscription.toJSON()` gives (expirationTime and other fields are ignored). */
export const SubscriptionBody = t.Object({
  endpoint: t.String({ minLength: 8, maxLength: 2048 }),
  keys: t.Object({
    p256dh: t.String({ minLength: 80, maxLength: 200, pattern: '^[A-Za-z0-9_-]+={0,2}$' }),
    auth: t.String({ minLength: 16, maxLength: 100, pattern: '^[A-Za-z0-9_-]+={0,2}$' }),
  }),
  expirationTime: t.Optional(t.Union([t.Number(), t.Null()])),
});
export type SubscriptionBody = typeof SubscriptionBody.static;

export const UnsubscribeBody = t.Object({ endpoint: t.String({ minLength: 1, maxLength: 2048 }) });

/** A window of this session says whether it can be seen (document.visibilityState). */
export const VisibilityBody = t.Object({ hidden: t.Boolean() });

/** The notification's data (JSON, encrypted for the device): what the worker shows and opens. */
export interface PushPayload {
  title: string;
  body: string;
  /** The chat of a finished reply… */
  threadId?: string;
  /** …or the room of a message that mentions the account. */
  roomId?: string;
  messageId: string;
  url: string;
}
