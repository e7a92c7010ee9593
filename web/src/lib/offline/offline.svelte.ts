/**
 * The page's side of offline use: the signed-in account's mirror, when it syncs, and the
 * outbox as the screens see it.
 *
 * - `mirror()` opens the account's database on first use. The account is the one the
 *   session knows, or (before /api/auth/me answers, or with no network) the last one signed
 *   in on this device: an offline start never waits on a request that cannot succeed.
 * - Sync runs on start (a first, full one a moment later, once the screen's own requests are
 *   out), on focus and visibility, when the network returns, after each reply, and every
 *   minute while the app is open and visible.
 * - The outbox flushes at start, when the network returns, when the worker asks (Background
 *   Sync) and after a message is queued while online.
 * - Chats started without a network (`startThread`) live here until the server has them:
 *   the thread in the mirror (so the list shows it, reloads included), its creation in the
 *   mirror's meta `newThreads`, and on each of its outbox entries (`newThread`), so the one
 *   delivery (deliver.ts, page or worker) creates it first under the same id.
 * - Sign-out (session.onSignOut) closes everything; the session deletes the databases.
 */
import { untrack } from 'svelte';
import { SvelteSet } from 'svelte/reactivity';
import { connectivity } from '$lib/state/connectivity.svelte';
import { session } from '$lib/state/session.svelte';
import type { Thread } from '$server/threads/model';
import { abortUnfinished, type NewThreadBody, type OutboxEntry } from './db';
import { fetchImages, forgetImages, setImageMirror } from './files.svelte';
import { Mirror, type MirrorCounts, type SyncPage } from './mirror';
import { flushOutbox, outboxFlushed, requestBackgroundSync, type Deliver, type OutboxStore } from './outbox';
import { SyncEngine, type SyncOutcome } from './sync';

const PERIOD_MS = 60_000;
/** The mirror's meta key for chats started on this device that the server may not have yet. */
const NEW_THREADS = 'newThreads';
/** A first sync may be megabytes: it waits until the screen has what it needs. */
const FIRST_SYNC_DELAY_MS = 1500;

export interface StorageInfo extends MirrorCounts {
  persisted: boolean | null;
  usage: number | null;
  quota: number | null;
}

class Offline {
  /** Messages waiting to be sent, oldest first. */
  outbox = $state<OutboxEntry[]>([]);
  /** Ids of outbox entries being posted right now (they can no longer be removed). */
  sending = new SvelteSet<string>();
  /**
   * Messages sent online from this page, held in the outbox until the server stores them
   * (issue 18: a send without an answer must never vanish). The thread shows them as sent
   * messages meanwhile, and this page's flush leaves them to their own request.
   */
  inflight = new SvelteSet<string>();
  /**
   * Chats started on this device that the server may not have yet (id → how to create it),
   * kept in the mirror's meta: marked "Waiting to send" in the list until a sync brings them.
   */
  newThreads = $state<Record<string, NewThreadBody>>({});
  /** A sync reached the end at least once: the mirror holds everything. */
  complete = $state(false);
  syncedAt = $state<number | null>(null);

  #mirror: Mirror | null = null;
  #engine: SyncEngine | null = null;
  #listeners = new Set<(page: SyncPage) => void>();
  #deliver: Deliver | null = null;
  #flushing: Promise<void> | null = null;
  #flushAgain = false;
  #askedPersist = false;
  /** Resolves once the open mirror's outbox and new chats are read into memory. */
  #loaded: Promise<void> = Promise.resolve();

  /** Wired by the composition root (state/root.ts): when to open, sync and flush. */
  connect() {
    // An account becomes known (sign-in, /api/auth/me): its mirror opens and syncs; the
    // profile is kept in it for offline starts.
    $effect.root(() => {
      $effect(() => {
        const user = session.user;
        if (!session.accountId) return;
        untrack(() => {
          this.mirror();
          if (user) this.rememberUser();
        });
      });
    });
    // Into the back/forward cache: let go of the database (see abortUnfinished), reopened on return.
    window.addEventListener('pagehide', (event) => {
      if (!event.persisted) return;
      abortUnfinished();
      void this.#mirror?.close();
    });
    window.addEventListener('pageshow', (event) => {
      if (event.persisted) this.wake();
    });
    window.addEventListener('online', () => this.wake());
    window.addEventListener('focus', () => this.wake());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.wake();
    });
    setInterval(() => {
      if (document.visibilityState === 'visible') this.wake();
    }, PERIOD_MS);
    // The worker's Background Sync found a window open: the page sends, so replies stream in.
    navigator.serviceWorker?.addEventListener('message', (event) => {
      if ((event.data as { type?: string } | null)?.type === 'parley:outbox') void this.flush();
    });
  }

  /** The current account's mirror (opened on first use), or null when no account is known. */
  mirror(): Mirror | null {
    const id = session.accountId;
    if (!id || typeof indexedDB === 'undefined') return null;
    if (this.#mirror?.userId !== id || this.#mirror.closed) this.#open(id);
    return this.#mirror;
  }

  #open(userId: string) {
    void this.#mirror?.close();
    const mirror = new Mirror(userId);
    this.#mirror = mirror;
    this.#engine = new SyncEngine(mirror, (page) => {
      if (page.deletedThreadIds.length) void this.#dropOutboxOf(new Set(page.deletedThreadIds));
      // The server has made these (or they are gone): no longer new.
      void this.#settleThreads([...page.threads.map((t) => t.id), ...page.deletedThreadIds]);
      // The server has these messages (a request whose answer was lost did land): nothing to send.
      const stored = page.messages.filter((m) => m.role === 'user' && this.outbox.some((e) => e.id === m.id));
      for (const m of stored) void this.remove(m.id);
      for (const listener of this.#listeners) listener(page);
    });
    setImageMirror(mirror);
    this.outbox = [];
    this.newThreads = {};
    this.complete = false;
    this.#loaded = (async () => {
      const [outbox, complete, newThreads] = await Promise.all([
        mirror.outbox(),
        mirror.complete(),
        mirror.meta<Record<string, NewThreadBody>>(NEW_THREADS),
      ]).catch(() => [[], false, undefined] as const);
      if (this.#mirror !== mirror) return;
      this.outbox = [...outbox];
      this.newThreads = { ...newThreads, ...this.newThreads };
      this.complete = complete;
      setTimeout(() => this.wake(), complete ? 0 : FIRST_SYNC_DELAY_MS);
      this.#askPersist();
    })();
    this.rememberUser();
  }

  /** Keeps the profile in the mirror, so an offline start can say who is signed in. */
  rememberUser() {
    const user = session.user;
    if (user && this.#mirror?.userId === user.id) void this.#mirror.setMeta('user', $state.snapshot(user)).catch(() => {});
  }

  /** Called with each sync page once it is in the mirror. */
  onPage(listener: (page: SyncPage) => void) {
    this.#listeners.add(listener);
  }

  /** How outbox entries are posted (conversation.svelte.ts: into an open thread, or directly). */
  setDeliverer(deliver: Deliver) {
    this.#deliver = deliver;
  }

  /** Sync and flush now (start, focus, network back, every minute). */
  wake() {
    if (!this.mirror() || !connectivity.online) return;
    void this.sync();
    void this.flush();
  }

  /** Brings the mirror up to date. Offline, it resolves at once: nothing waits on a request that cannot succeed. */
  async sync(): Promise<SyncOutcome> {
    const mirror = this.mirror();
    const engine = this.#engine;
    if (!mirror || !engine) return 'failed';
    if (!connectivity.online) return 'offline';
    const outcome = await engine.run();
    if (outcome === 'done' && this.#mirror === mirror) {
      this.syncedAt = Date.now();
      this.complete = true;
      void fetchImages(mirror);
    }
    return outcome;
  }

  // ---- chats started on this device ----

  /**
   * A new chat without the server (offline, or its creation got no answer): the thread is
   * kept in the mirror and in `newThreads`; the messages written into it carry its creation
   * (see `#withThread`). Throws when this device cannot keep it.
   */
  async startThread(thread: Thread, body: NewThreadBody) {
    const mirror = this.mirror();
    if (!mirror || mirror.closed) throw new Error('This device cannot keep a new chat offline');
    this.newThreads = { ...this.newThreads, [thread.id]: body };
    await mirror.putThread(thread);
    await mirror.setMeta(NEW_THREADS, $state.snapshot(this.newThreads));
  }

  /** Whether a thread was started here and the server may not have it yet. */
  isNewThread(id: string) {
    return id in this.newThreads;
  }

  /** Resolves once the account's outbox and new chats are known here (read from the mirror at start). */
  async loaded() {
    this.mirror();
    await this.#loaded;
  }

  /** A sync brought these threads (or their tombstones): the server has made them. */
  async #settleThreads(ids: string[]) {
    const known = ids.filter((id) => id in this.newThreads);
    if (!known.length) return;
    const next = { ...this.newThreads };
    for (const id of known) delete next[id];
    this.newThreads = next;
    await this.#mirror?.setMeta(NEW_THREADS, $state.snapshot(next)).catch(() => {});
  }

  /** An entry of a chat started here carries its creation, so whoever delivers it makes the thread first. */
  #withThread(entry: OutboxEntry): OutboxEntry {
    const body = this.newThreads[entry.threadId];
    return body ? { ...entry, newThread: $state.snapshot(body) } : entry;
  }

  // ---- outbox ----

  /** Keeps a message to send when the network is back. */
  async queue(entry: OutboxEntry) {
    const mirror = this.mirror();
    if (!mirror) throw new Error('This device cannot keep messages offline');
    entry = this.#withThread(entry);
    await mirror.queue(entry);
    this.outbox = [...this.outbox.filter((e) => e.id !== entry.id), entry];
    void requestBackgroundSync();
    if (connectivity.online) void this.flush();
  }

  /**
   * Keeps a message being sent right now, so a reload, a crash or a request that never
   * answers cannot lose it. Resolves false when this device cannot keep it (no mirror).
   */
  async hold(entry: OutboxEntry): Promise<boolean> {
    const mirror = this.mirror();
    if (!mirror) return false;
    entry = this.#withThread(entry);
    this.inflight.add(entry.id);
    try {
      await mirror.queue(entry);
    } catch {
      this.inflight.delete(entry.id);
      return false;
    }
    if (this.#mirror === mirror) this.outbox = [...this.outbox.filter((e) => e.id !== entry.id), entry];
    // Closed before the server answers: the worker sends it (Background Sync).
    void requestBackgroundSync();
    return true;
  }

  /** The send of a held message ended: stored (or refused, and given back), or left waiting for the next flush. */
  async release(id: string, outcome: 'stored' | 'refused' | 'waiting') {
    this.inflight.delete(id);
    if (outcome !== 'waiting') await this.remove(id);
  }

  /** Takes a message out of the outbox (before it is sent: it never will be). */
  async remove(id: string) {
    this.outbox = this.outbox.filter((e) => e.id !== id);
    await this.#mirror?.unqueue(id).catch(() => {});
  }

  /** A chat started here was deleted before the server had it: its messages and creation go. */
  async forgetThread(id: string) {
    await this.#dropOutboxOf(new Set([id]));
    await this.#settleThreads([id]);
  }

  /** Messages waiting for a thread that was deleted (here or elsewhere) have nowhere to go. */
  async #dropOutboxOf(threadIds: Set<string>) {
    for (const entry of this.outbox) {
      if (threadIds.has(entry.threadId) && !this.sending.has(entry.id)) await this.remove(entry.id);
    }
  }

  /** Sends what waits, in order. Another flush in progress (this tab, another, the worker) is left to finish. */
  flush(): Promise<void> {
    if (this.#flushing) {
      this.#flushAgain = true;
      return this.#flushing;
    }
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = null;
      // Something was queued while the last round was ending.
      if (this.#flushAgain) {
        this.#flushAgain = false;
        void this.flush();
      }
    });
    return this.#flushing;
  }

  async #flush() {
    const mirror = this.mirror();
    const deliver = this.#deliver;
    if (!mirror || !deliver || !connectivity.online) return;
    const store: OutboxStore = {
      // Messages this page is sending itself are left to their own request.
      outbox: async () => (await mirror.outbox()).filter((e) => !this.inflight.has(e.id)),
      queue: async (entry) => {
        await mirror.queue(entry);
        if (this.#mirror === mirror) this.outbox = this.outbox.map((e) => (e.id === entry.id ? entry : e));
      },
      unqueue: (id) => this.remove(id),
    };
    const result = await flushOutbox(store, async (entry, stored) => {
      this.sending.add(entry.id);
      try {
        return await deliver(entry, stored);
      } finally {
        this.sending.delete(entry.id);
      }
    }).catch(() => null);
    // Another tab or the worker was sending: once it is done, show what it left, and sync
    // so what it sent (and new chats it created) shows here as sent.
    if (result === null) await outboxFlushed().catch(() => {});
    if (this.#mirror !== mirror) return;
    // The worker or another tab may have sent some: show the outbox as it is now.
    this.outbox = await mirror.outbox().catch(() => this.outbox);
    if (result === null || result.sent) void this.sync();
  }

  // ---- storage (settings) ----

  async storage(): Promise<StorageInfo> {
    const counts = (await this.mirror()?.counts().catch(() => null)) ?? { threads: 0, messages: 0, files: 0, fileBytes: 0, outbox: 0 };
    const storage = navigator.storage;
    const [persisted, estimate] = await Promise.all([
      storage?.persisted ? storage.persisted().catch(() => null) : null,
      storage?.estimate ? storage.estimate().catch(() => null) : null,
    ]);
    return { ...counts, persisted, usage: estimate?.usage ?? null, quota: estimate?.quota ?? null };
  }

  /** Asks the browser not to evict the mirror under storage pressure (no prompt in Chromium; some browsers ask). */
  async persist(): Promise<boolean> {
    try {
      return (await navigator.storage?.persist?.()) ?? false;
    } catch {
      return false;
    }
  }

  #askPersist() {
    if (this.#askedPersist) return;
    this.#askedPersist = true;
    void navigator.storage?.persisted?.().then((yes) => (yes ? true : this.persist())).catch(() => {});
  }

  /** "Remove offline copy": the threads, messages and images kept here (not the outbox); the next sync refills it. */
  async removeCopy() {
    const mirror = this.mirror();
    if (!mirror) return;
    await mirror.clearCopy();
    forgetImages();
    this.complete = false;
    this.syncedAt = null;
  }

  /** Sign-out: let go of the database (the session deletes it) and forget everything in memory. */
  reset() {
    void this.#mirror?.close();
    this.#mirror = null;
    this.#engine = null;
    setImageMirror(null);
    this.outbox = [];
    this.newThreads = {};
    this.sending.clear();
    this.inflight.clear();
    this.complete = false;
    this.syncedAt = null;
  }
}

export const offline = new Offline();
