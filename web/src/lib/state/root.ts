/**
 * The composition root: the one place the app's state is wired together, in the order each
 * part depends on the one before: session → offline mirror → thread list → conversations.
 * The state modules only define their classes and singletons; nothing subscribes to another
 * at import time, so what reacts to what (sign-out, sync pages, the network coming and going,
 * the outbox) reads here, top to bottom. Called once, by the root layout.
 */
import { goto } from '$app/navigation';
import { onReachability } from '$lib/api';
import { offline } from '$lib/offline/offline.svelte';
import { dropPushSubscription, reportVisibility } from '$lib/push/presence';
import { connectivity } from './connectivity.svelte';
import { conversations } from './conversations.svelte';
import { session } from './session.svelte';
import { settings } from './settings.svelte';
import { threads } from './threads.svelte';
import { rooms } from '$lib/rooms/rooms.svelte';
import { unread } from './unread.svelte';
import { folders } from './folders.svelte';

let connected = false;

export function connect() {
  if (connected || typeof window === 'undefined') return;
  connected = true;

  // connectivity: told by the API client whether the server answered each request; when it
  // stops answering with the network there, the app works from the mirror until it is back.
  onReachability((answered) => (answered ? connectivity.answered() : connectivity.failed()));

  // session: told by the API client when a refresh is refused, and by other tabs.
  session.connect();

  // session → offline: the signed-in account's mirror opens, syncs and flushes its outbox.
  session.onSignOut(() => offline.reset());
  offline.connect();

  // offline → threads: the list reads the mirror and follows sync pages.
  session.onSignOut(() => threads.reset());
  session.onAccountSwitch(() => void threads.load());
  offline.onPage((page) => threads.synced(page));
  threads.connect();

  // offline → folders: read with the list, kept current by the same sync pages.
  session.onSignOut(() => folders.reset());
  session.onAccountSwitch(() => void folders.load());
  offline.onPage((page) => folders.synced(page));

  // threads → conversations: open threads get sync pages and their outbox entries.
  session.onSignOut(() => conversations.clear());
  offline.onPage((page) => conversations.synced(page));
  offline.setDeliverer((entry, stored) => conversations.deliver(entry, stored));
  // A reply cut off by the network is let go at once and followed again when it returns
  // or the app is back in front.
  window.addEventListener('offline', () => conversations.detach());
  window.addEventListener('online', () => conversations.resume());
  connectivity.onLost(() => conversations.detach());
  connectivity.onReturn(() => {
    conversations.resume();
    offline.wake();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') conversations.resume();
  });

  // push: the server learns when this window is hidden (a reply that ends unseen is pushed);
  // signing out drops this browser's subscription.
  reportVisibility(() => session.status === 'signed-in');
  session.onSignOut(() => dropPushSubscription());
  // A tapped notification: the worker asks this window to show the reply's chat.
  navigator.serviceWorker?.addEventListener('message', (event) => {
    const data = event.data as { type?: string; url?: string } | null;
    if (data?.type === 'parley:open' && typeof data.url === 'string' && data.url.startsWith('/')) void goto(data.url);
  });

  // unread replies: marked from sync pages (a reply that finished off screen), cleared when
  // its thread is on screen with the app in front; the app icon's badge counts them.
  offline.onPage((page) => unread.synced(page.messages, page.deletedThreadIds, !offline.complete));
  session.onSignOut(() => unread.reset());
  unread.connect();

  session.onSignOut(() => settings.reset());
  settings.connect();

  // session → rooms: the list is the account's, loaded by the sidebar when shown.
  session.onSignOut(() => rooms.reset());
  session.onAccountSwitch(() => rooms.reset());
}
