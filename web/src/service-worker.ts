/**
 * Parley's service worker (built by SvelteKit, precache manifest injected by
 * @vite-pwa/sveltekit, served as /sw.js with scope /):
 *
 * - Precaches the app shell (JS, CSS, icons, manifest, index.html as `/`) so the installed
 *   app starts without a network, and answers navigations with that shell, except /api/ and
 *   /s/ (share pages are the server's, with their own headers).
 * - Caches nothing at run time: API answers hold one account's data, and a shared device may
 *   hold several accounts (security item 13). User data offline lives in each account's
 *   IndexedDB mirror, which sign-out deletes.
 * - Background Sync ('parley-outbox'): with a window open, asks it to send its outbox (so
 *   replies stream in where the user is); with none, sends the messages itself, in order,
 *   each once (same client id; the server deduplicates), through the page's own delivery
 *   (offline/deliver.ts: the same session refresh, the same rule for "stored").
 * - Web Push (push/worker.ts): shows a finished reply's notification; a tap opens its chat.
 * - The share target (share/inbox.ts): POST /share keeps what another app shared and opens a
 *   new chat with it.
 * - Waits as an update until the page says so ("Update available", never mid-reply).
 */
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { mirrorNames, openExistingMirrorDB } from '$lib/offline/store';
import { deliverEntry } from '$lib/offline/deliver';
import { flushOutbox, sortOutbox, SYNC_TAG, type OutboxStore } from '$lib/offline/outbox';
import { openReply, showReply } from '$lib/push/worker';
import { receiveShare, SHARE_PATH } from '$lib/share/inbox';

interface WorkerEvent extends Event {
  waitUntil(work: Promise<unknown>): void;
}
interface SyncEvent extends WorkerEvent {
  tag: string;
}
interface MessageEventLike extends Event {
  data: unknown;
}
interface PushEventLike extends WorkerEvent {
  data: { json(): unknown; text(): string } | null;
}
interface NotificationEventLike extends WorkerEvent {
  notification: Notification;
}
interface WindowClientLike {
  url: string;
  focus(): Promise<unknown>;
  postMessage(message: unknown): void;
}
interface WorkerScope {
  __WB_MANIFEST: (string | { url: string; revision: string | null })[];
  skipWaiting(): Promise<void>;
  clients: {
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClientLike[]>;
    openWindow(url: string): Promise<unknown>;
  };
  registration: {
    showNotification(title: string, options: NotificationOptions): Promise<void>;
    getNotifications(): Promise<Notification[]>;
  };
  location: Location;
  addEventListener(type: 'sync', listener: (event: SyncEvent) => void): void;
  addEventListener(type: 'push', listener: (event: PushEventLike) => void): void;
  addEventListener(type: 'notificationclick', listener: (event: NotificationEventLike) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
}

const worker = self as unknown as WorkerScope;

// `self.__WB_MANIFEST` is replaced with the list of files at build time (written as is).
precacheAndRoute((self as unknown as WorkerScope).__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('/'), { denylist: [/^\/api\//, /^\/s\//] }));
registerRoute(({ url }) => url.origin === worker.location.origin && url.pathname === SHARE_PATH, ({ request }) => receiveShare(request), 'POST');
clientsClaim();

worker.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void worker.skipWaiting();
});

worker.addEventListener('push', (event) => {
  let data: unknown = null;
  try {
    data = event.data?.json() ?? null;
  } catch {
    data = null;
  }
  event.waitUntil(showReply(worker.registration, data, worker.location.origin));
});

worker.addEventListener('notificationclick', (event) => {
  event.waitUntil(openReply(worker.clients, worker.registration, event.notification, worker.location.origin));
});

worker.addEventListener('sync', (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(syncOutbox());
});

async function syncOutbox() {
  const windows = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (windows.length) {
    for (const client of windows) client.postMessage({ type: 'parley:outbox' });
    return;
  }
  let offline = false;
  for (const name of await mirrorNames()) {
    const db = await openExistingMirrorDB(name).catch(() => null);
    if (!db) continue;
    const store: OutboxStore = {
      outbox: async () => sortOutbox(await db.getAll('outbox')),
      queue: async (entry) => void (await db.put('outbox', entry)),
      unqueue: (id) => db.delete('outbox', id),
    };
    try {
      const result = await flushOutbox(store, (entry, stored) => deliverEntry(entry, stored));
      offline ||= result?.offline ?? false;
    } finally {
      db.close();
    }
  }
  // Failing the event makes the browser try again later, with the network hopefully back.
  if (offline) throw new Error('The network is still unavailable');
}
