/**
 * Web Push: a finished reply nobody was watching becomes a notification on each of the
 * account's subscribed devices.
 *
 * - "Watching": a client attached to the reply's stream whose session has not reported its
 *   windows hidden (POST /api/push/visibility). Reports are stored per session in the
 *   database (push_visibility), so with several instances a report that reached one counts
 *   on the instance running the reply; a session that never reported counts as visible, and
 *   a hidden report older than VISIBILITY_TTL_MS is forgotten (a phone may die hidden).
 * - Sending: web-push builds each request (VAPID JWT, RFC 8291 aes128gcm payload) with
 *   generateRequestDetails, and we send it with fetch (web-push's own sender is https-only,
 *   and we want our own endpoint rule and timeout). 404/410 from the push service: the
 *   subscription is gone, so it is deleted.
 * - Endpoints: https on a public address only, except hosts in PUSH_ALLOWED_HOSTS, checked
 *   when subscribing and again before each send (DNS may have changed): a subscription is
 *   never a way to make the server post into the private network.
 */
import webpush from 'web-push';
import type { Config } from '../config';
import type { Sql } from '../db';
import { badRequest, conflict } from '../errors';
import { checkUrl, UnsafeUrlError } from '../http/safe-fetch';
import { log } from '../log';
import type { CompletionStep } from '../replies/types';
import type { PushPayload, SubscriptionBody } from './model';
import * as q from './queries';
import { loadVapidKeys, type VapidKeys } from './vapid';

const SEND_TIMEOUT_MS = 10_000;
/** A notification older than this is not worth showing (seconds the push service keeps it). */
const TTL_SECONDS = 6 * 3600;
const MAX_DEVICES = 20;
const BODY_CHARS = 140;
/** A session's "hidden" report is trusted this long without news (a phone may die hidden). */
const VISIBILITY_TTL_MS = 24 * 3600 * 1000;

export type PushDeps = { sql: Sql; config: Config };

/** Throws 400 unless the server may post to this endpoint. */
export async function checkEndpoint(config: Pick<Config, 'push'>, endpoint: string) {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw badRequest({ endpoint: 'must be a URL' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badRequest({ endpoint: 'must be an https URL' });
  if (url.username || url.password) throw badRequest({ endpoint: 'must not carry credentials' });
  const allowed = config.push.allowedHosts;
  if (allowed.includes(url.host.toLowerCase()) || allowed.includes(url.hostname.toLowerCase())) return url;
  try {
    await checkUrl(url, []);
  } catch (error) {
    if (error instanceof UnsafeUrlError) throw badRequest({ endpoint: 'must be an https URL on a public address' });
    throw error;
  }
  return url;
}

export function createPush(deps: PushDeps) {
  let keys: VapidKeys | null = null;
  const vapid = () => (keys ??= loadVapidKeys(deps.config));
  // VAPID's `sub`: a contact for the push service. The public URL when it is https, else a mailto.
  const publicUrl = new URL(deps.config.http.publicUrl);
  const subject =
    publicUrl.protocol === 'https:' && publicUrl.hostname !== 'localhost'
      ? publicUrl.origin
      : `mailto:parley@${publicUrl.hostname.includes('.') ? publicUrl.hostname : 'localhost.localdomain'}`;

  async function subscribe(userId: string, sessionId: string, body: SubscriptionBody) {
    await checkEndpoint(deps.config, body.endpoint);
    if ((await q.countSubscriptions(deps.sql, userId)) >= MAX_DEVICES) {
      // Re-subscribing a known endpoint is fine; a new one beyond the cap is not.
      const known = await deps.sql`select 1 from push_subscriptions where endpoint = ${body.endpoint} and user_id = ${userId}`;
      if (!known.length) throw conflict(`At most ${MAX_DEVICES} devices can get notifications; turn one off first`);
    }
    await q.upsertSubscription(deps.sql, { userId, sessionId, endpoint: body.endpoint, ...body.keys });
  }

  /** Sends one payload to one device; false when the subscription is gone (and deleted). */
  async function sendTo(sub: q.SubscriptionRow, payload: PushPayload) {
    try {
      await checkEndpoint(deps.config, sub.endpoint);
    } catch {
      await q.deleteSubscriptionById(deps.sql, sub.id);
      return false;
    }
    const { publicKey, privateKey } = vapid();
    const request = webpush.generateRequestDetails(
      { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
      JSON.stringify(payload),
      { TTL: TTL_SECONDS, urgency: 'normal', vapidDetails: { subject, publicKey, privateKey } },
    );
    const res = await fetch(request.endpoint, {
      method: request.method,
      headers: request.headers as Record<string, string>,
      body: new Uint8Array(request.body as Buffer),
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => {});
    if (res.status === 404 || res.status === 410) {
      await q.deleteSubscriptionById(deps.sql, sub.id);
      return false;
    }
    if (!res.ok) log.warn('a push service refused a notification', { status: res.status, host: new URL(sub.endpoint).host });
    return res.ok;
  }

  /** Sends to every signed-in device of the account; returns how many accepted it. */
  async function notify(userId: string, payload: PushPayload) {
    const subs = await q.liveSubscriptions(deps.sql, userId);
    const results = await Promise.allSettled(subs.map((s) => sendTo(s, payload)));
    for (const r of results) if (r.status === 'rejected') log.warn('a push notification failed', { error: String(r.reason) });
    return results.filter((r) => r.status === 'fulfilled' && r.value).length;
  }

  /** Whether any of these sessions has a window that can be seen (none reported hidden lately), on any instance. */
  async function watching(sessionIds: readonly string[]) {
    if (!sessionIds.length) return false;
    const hidden = new Set(await q.hiddenSessions(deps.sql, sessionIds, VISIBILITY_TTL_MS));
    return sessionIds.some((s) => !hidden.has(s));
  }

  /** The completion step: a reply that ended with no visible client attached is pushed. */
  const replyFinished: CompletionStep = async ({ userId, threadId, message, viewers }) => {
    if (await watching(viewers)) return null;
    const title = await q.threadTitle(deps.sql, userId, threadId);
    if (title === null) return null; // the thread is gone
    const text = message.content.replace(/\s+/g, ' ').trim();
    const body = text.length > BODY_CHARS ? `${text.slice(0, BODY_CHARS).replace(/\s+\S*$/, '')}…` : text;
    // Not awaited: the reply's stream should not wait on the push services.
    void notify(userId, {
      title: title || 'New reply',
      body,
      threadId,
      messageId: message.id,
      url: `${deps.config.http.publicUrl}/t/${threadId}`,
    }).catch((error) => log.warn('push notifications failed', { error: String(error) }));
    return null;
  };

  return {
    publicKey: () => vapid().publicKey,
    subscribe,
    unsubscribe: (userId: string, endpoint: string) => q.deleteSubscription(deps.sql, userId, endpoint),
    /** This session's windows can (false) or cannot (true) be seen, as one of them reports. */
    reportVisibility: (sessionId: string, hidden: boolean) => q.reportVisibility(deps.sql, sessionId, hidden),
    watching,
    notify,
    replyFinished,
  };
}

export type Push = ReturnType<typeof createPush>;
