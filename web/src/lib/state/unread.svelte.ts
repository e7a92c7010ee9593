/**
 * Replies not seen yet, per thread: a dot in the thread list and a count on the app icon
 * (Badging API, where the browser has it). A thread gets one when a sync brings a finished
 * reply while that thread is not on screen (another thread open, or the app hidden or
 * closed); opening the thread with the app in front clears it. Kept per account in
 * localStorage, which sign-out clears; the first full sync of a device marks nothing.
 */
import { untrack } from 'svelte';
import { SvelteSet } from 'svelte/reactivity';
import { page } from '$app/state';
import type { Message } from '$server/threads/model';

const KEY = 'parley:unread';

type BadgeNavigator = Navigator & { setAppBadge?: (n?: number) => Promise<void>; clearAppBadge?: () => Promise<void> };

/** The thread on screen right now, or null (another screen, or the app not in front). */
function threadOnScreen(): string | null {
  if (typeof document === 'undefined' || document.visibilityState !== 'visible') return null;
  return /^\/t\/([0-9a-f-]{36})/.exec(location.pathname)?.[1] ?? null;
}

class Unread {
  #ids = new SvelteSet<string>();

  constructor() {
    if (typeof localStorage === 'undefined') return;
    try {
      for (const id of JSON.parse(localStorage.getItem(KEY) ?? '[]') as string[]) this.#ids.add(id);
    } catch {
      /* nothing kept */
    }
  }

  /** Wired by the composition root: each screen shown, and the app coming to the front. */
  connect() {
    $effect.root(() => {
      $effect(() => {
        void page.url.pathname;
        untrack(() => this.seen());
      });
    });
    document.addEventListener('visibilitychange', () => this.seen());
    this.badge();
  }

  has(threadId: string) {
    return this.#ids.has(threadId);
  }

  get count() {
    return this.#ids.size;
  }

  /** Messages a sync brought (`initial`: the device's first full sync, which marks nothing). */
  synced(messages: Message[], deletedThreadIds: string[], initial: boolean) {
    let changed = false;
    for (const id of deletedThreadIds) changed = this.#ids.delete(id) || changed;
    if (!initial) {
      const onScreen = threadOnScreen();
      for (const m of messages) {
        if (m.role !== 'assistant' || m.status === 'streaming' || m.threadId === onScreen || this.#ids.has(m.threadId)) continue;
        this.#ids.add(m.threadId);
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  /** The thread on screen (if any) has been seen. */
  seen() {
    const id = threadOnScreen();
    if (id && this.#ids.delete(id)) this.#save();
  }

  reset() {
    this.#ids.clear();
    this.#save();
  }

  #save() {
    try {
      if (this.#ids.size) localStorage.setItem(KEY, JSON.stringify([...this.#ids]));
      else localStorage.removeItem(KEY);
    } catch {
      /* storage unavailable: kept in memory */
    }
    this.badge();
  }

  /** The app icon shows how many threads have a reply waiting. */
  badge() {
    const nav = typeof navigator === 'undefined' ? null : (navigator as BadgeNavigator);
    const done = this.#ids.size ? nav?.setAppBadge?.(this.#ids.size) : nav?.clearAppBadge?.();
    void done?.catch(() => {});
  }
}

export const unread = new Unread();
