/**
 * The composition root: the one place the app's state is wired together, in the order each
 * part depends on the one before: session → offline mirror → thread list → conversations.
 * The state modules only define their classes and singletons; nothing subscribes to another
 * at import time, so what reacts to what (sign-out, sync pages, the network coming and going,
 * the outbox) reads here, top to bottom. Called once, by the root layout.
 */
import { offline } from '$lib/offline/offline.svelte';
import { conversations } from './conversations.svelte';
import { session } from './session.svelte';
import { settings } from './settings.svelte';
import { threads } from './threads.svelte';
import { folders } from './folders.svelte';

let connected = false;

export function connect() {
  if (connected || typeof window === 'undefined') return;
  connected = true;

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
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') conversations.resume();
  });

  session.onSignOut(() => settings.reset());
  settings.connect();
}
