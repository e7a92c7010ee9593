/**
 * What the server needs to know to push only replies nobody saw: whether this window can be
 * seen. A reply that ends with only hidden windows attached is pushed (server/push). Also:
 * signing out drops this browser's push subscription (the server drops its copy with the
 * session).
 */
import { api } from '$lib/api';

export function reportVisibility(signedIn: () => boolean) {
  let last: boolean | null = null;
  const report = () => {
    const hidden = document.visibilityState === 'hidden';
    if (hidden === last || !signedIn()) return;
    last = hidden;
    void api.push.visibility(hidden).catch(() => (last = null));
  };
  document.addEventListener('visibilitychange', report);
  // A page being put away (closed, frozen by the phone) may never say "hidden" otherwise.
  window.addEventListener('pagehide', report);
}

export async function dropPushSubscription() {
  const reg = await navigator.serviceWorker?.getRegistration().catch(() => undefined);
  const sub = await reg?.pushManager?.getSubscription().catch(() => null);
  await sub?.unsubscribe().catch(() => {});
}
