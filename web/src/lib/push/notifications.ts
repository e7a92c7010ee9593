/**
 * This device's Web Push subscription ("Notify me when a reply is ready"). Permission is asked
 * only when the user turns it on in Settings › Notifications, never on load. The subscription
 * is the browser's (PushManager); the server keeps it for this session (POST /api/push/…).
 */
import { api } from '$lib/api';

export type PushState = 'unsupported' | 'needs-install' | 'denied' | 'off' | 'on';

/** iPhone and iPad get Web Push only in an app added to the Home Screen. */
function iosBrowserTab() {
  const ios = /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
  return ios && !matchMedia('(display-mode: standalone)').matches;
}

function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

async function registration() {
  return (await navigator.serviceWorker.getRegistration()) ?? null;
}

export async function pushState(): Promise<PushState> {
  if (!supported()) return iosBrowserTab() ? 'needs-install' : 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const sub = await (await registration())?.pushManager.getSubscription();
  return sub && Notification.permission === 'granted' ? 'on' : 'off';
}

function keyBytes(base64url: string) {
  const raw = atob(base64url.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Asks for permission, subscribes this browser and tells the server. */
export async function enablePush(): Promise<PushState> {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const reg = await navigator.serviceWorker.ready;
  const { publicKey } = await api.push.key();
  let sub = await reg.pushManager.getSubscription();
  // A subscription made for another server key (DATA_DIR reset) cannot be used: start again.
  const current = sub?.options.applicationServerKey;
  if (sub && current && btoa(String.fromCharCode(...new Uint8Array(current))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') !== publicKey) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(publicKey) });
  const json = sub.toJSON() as { endpoint: string; keys: { p256dh: string; auth: string } };
  await api.push.subscribe({ endpoint: json.endpoint, keys: json.keys });
  return 'on';
}

/** Stops this device's notifications (the server forgets it; the browser drops it). */
export async function disablePush(): Promise<PushState> {
  const sub = await (await registration())?.pushManager.getSubscription();
  if (sub) {
    await api.push.unsubscribe(sub.endpoint);
    await sub.unsubscribe();
  }
  return 'off';
}
