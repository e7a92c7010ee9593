/**
 * The thread list: pinned first, then newest activity. Every change goes through a method.
 * Deleting hides the thread at once and sends the DELETE only when the undo window closes.
 *
 * `load` answers from the offline mirror first (src/lib/offline/), so the list shows at once,
 * online or not; a sync then brings it up to date, page by page. Until the mirror holds
 * everything once (the first sync after sign-in), the server's list is asked for too.
 * Without a network the mirror's list stays, with no error.
 */
import { api, ApiError } from '$lib/api';
import { errorText as message } from '$lib/errors';
import type { Thread } from '$server/threads/model';
import { offline } from '$lib/offline/offline.svelte';
import { connectivity } from './connectivity.svelte';
import type { SyncPage } from '$lib/offline/mirror';
import { byPinnedThenRecent } from '$lib/thread/list-groups';
import { provisionalTitle } from '$server/common/titles';

const UNDO_MS = 6000;
/** The mirror's meta key for the list's first threads, and how many: more than a tall screen shows. */
const LIST_HEAD = 'listHead';
const LIST_HEAD_SIZE = 60;

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

class ThreadList {
  /**
   * Raw, not deeply reactive: every change replaces the array (and the changed thread), so
   * 20,000 threads are not each wrapped in a proxy with a signal per field on load.
   */
  #items = $state.raw<Thread[]>([]);
  #status = $state<LoadStatus>('idle');
  #error = $state<string | null>(null);
  #nextCursor = $state<string | null>(null);
  #loading = false;
  /** The title filter typed into the sidebar. */
  filter = $state('');
  /** The sidebar shows the archive instead of the active threads. */
  showArchived = $state(false);
  /** The last deleted thread, while it can still be brought back. */
  #undoable = $state<Thread | null>(null);
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #hidden = $state<Set<string>>(new Set());
  /** Bumped by reset(): a load that started for the account before ends quietly. */
  #generation = 0;

  /** Wired by the composition root (state/root.ts). */
  connect() {
    // Leaving the page commits pending deletions instead of silently dropping them.
    window.addEventListener('pagehide', () => this.flushDeletes());
  }

  get status() {
    return this.#status;
  }
  get error() {
    return this.#error;
  }
  get hasMore() {
    return this.#nextCursor !== null;
  }
  get undoable() {
    return this.#undoable;
  }

  /**
   * Pinned first, then most recent activity. Derived once per change, not per read: with
   * 20,000 threads a sort costs tens of milliseconds on a phone, and the list reads it often.
   */
  #sorted = $derived(
    this.#items.filter((t) => !this.#hidden.has(t.id) && Boolean(t.archived) === this.showArchived).sort(byPinnedThenRecent),
  );
  /** How many threads are archived (the archive button says so). */
  #archivedCount = $derived(this.#items.reduce((n, t) => (t.archived ? n + 1 : n), 0));
  get archivedCount() {
    return this.#archivedCount;
  }
  /** Lower-cased titles for the filter, computed when the list changes rather than per keystroke. */
  #needles = $derived(this.#sorted.map((t) => displayTitle(t).toLowerCase()));
  #visible = $derived.by(() => {
    const q = this.filter.trim().toLowerCase();
    if (!q) return this.#sorted;
    const needles = this.#needles;
    return this.#sorted.filter((_, i) => needles[i]!.includes(q));
  });

  get sorted(): Thread[] {
    return this.#sorted;
  }

  /** What the sidebar shows: sorted, narrowed by the filter box. */
  get visible(): Thread[] {
    return this.#visible;
  }

  byId(id: string): Thread | undefined {
    return this.#items.find((t) => t.id === id);
  }

  async load() {
    if (this.#loading) return;
    this.#loading = true;
    try {
      await this.#load();
    } finally {
      this.#loading = false;
    }
  }

  async #load() {
    this.#status = 'loading';
    this.#error = null;
    const generation = this.#generation;
    const mirror = offline.mirror();
    // The first screenful first: the head of the list kept by the last visit is one small
    // record, while reading every thread of a large account takes a phone a few hundred ms.
    const head = mirror ? await mirror.meta<Thread[]>(LIST_HEAD).catch(() => undefined) : undefined;
    if (generation !== this.#generation) return;
    if (head?.length && !this.#items.length) {
      this.#items = head;
      this.#status = 'ready';
    }
    const [local, complete] = mirror
      ? await Promise.all([mirror.threads(), mirror.complete()]).catch(() => [[] as Thread[], false] as const)
      : [[] as Thread[], false];
    if (generation !== this.#generation) return; // reset meanwhile (sign-out)
    if (local.length || complete) {
      this.#items = [...local];
      this.#nextCursor = null;
      this.#status = 'ready';
      this.#saveHead();
    }
    if (complete) {
      // The mirror holds everything: a sync brings the changes (see #synced).
      void offline.sync();
      return;
    }
    try {
      const page = await api.threads.list();
      if (generation !== this.#generation) return;
      const known = new Set(page.threads.map((t) => t.id));
      // Threads the sync already brought that this first page does not reach stay.
      this.#items = [...page.threads, ...this.#items.filter((t) => !known.has(t.id))];
      this.#nextCursor = page.nextCursor;
      this.#status = 'ready';
    } catch (error) {
      if (generation !== this.#generation) return;
      if (this.#status === 'ready' && error instanceof ApiError && error.offline) return;
      this.#error =
        error instanceof ApiError && error.offline
          ? "You're offline, and this device has no copy of your threads yet."
          : message(error);
      this.#status = 'error';
    }
  }

  /** A sync page: changed threads replace theirs, deleted ones go. */
  /** A sync page: its threads replace ours, deleted ones go. */
  synced(page: SyncPage) {
    if (this.#status === 'idle') return;
    if (page.threads.length || page.deletedThreadIds.length) {
      // One new array per page, not one per thread.
      const changed = new Map(page.threads.map((t) => [t.id, t]));
      const gone = new Set(page.deletedThreadIds);
      const kept = this.#items.filter((t) => !gone.has(t.id) && !changed.has(t.id));
      this.#items = [...changed.values(), ...kept];
      this.#saveHead();
    }
    if (!page.more) {
      // A sync that reached the end leaves every thread in the list: nothing older to page in.
      this.#nextCursor = null;
      if (this.#status !== 'ready') this.#status = 'ready';
    }
  }

  async loadMore() {
    if (!this.#nextCursor) return;
    const page = await api.threads.list(this.#nextCursor);
    const known = new Set(this.#items.map((t) => t.id));
    this.#items = [...this.#items, ...page.threads.filter((t) => !known.has(t.id))];
    this.#nextCursor = page.nextCursor;
  }

  /**
   * A new thread, under an id made here (the server's creation is idempotent per id).
   * `canWait` (a new chat's first message): without a network, or with no answer, the thread
   * starts on this device, shows in the list at once, and is created by the outbox with its
   * first message (`offline.startThread`); `label` is its provisional title meanwhile (what
   * the server will call it too). Otherwise a new thread needs the network.
   */
  async create(
    data: { title?: string; model?: string; systemPrompt?: string; folderId?: string | null } = {},
    { canWait = false, label = '' }: { canWait?: boolean; label?: string } = {},
  ): Promise<Thread> {
    const id = crypto.randomUUID();
    if (canWait && !connectivity.online) return this.#startHere(id, data, label);
    try {
      const { thread } = await api.threads.create({ ...data, id });
      this.upsert(thread);
      void offline.mirror()?.putThread(thread).catch(() => {});
      return thread;
    } catch (error) {
      if (error instanceof ApiError && error.offline) {
        // The request may still have landed: the same id later makes nothing new.
        if (canWait) return this.#startHere(id, data, label);
        throw new ApiError(0, 'offline', NEW_CHAT_OFFLINE);
      }
      throw error;
    }
  }

  async #startHere(
    id: string,
    data: { title?: string; model?: string; systemPrompt?: string; folderId?: string | null },
    label: string,
  ) {
    const now = new Date().toISOString();
    const thread: Thread = {
      id,
      title: data.title?.trim() || provisionalTitle(label),
      model: data.model ?? null,
      systemPrompt: data.systemPrompt ?? '',
      pinned: false,
      folderId: data.folderId ?? null,
      archived: false,
      shared: false,
      createdAt: now,
      updatedAt: now,
    };
    await offline.startThread(thread, data);
    this.upsert(thread);
    this.#saveHead();
    return thread;
  }

  /** Keeps the list's first screenful in the mirror for the next start (see #load). */
  #saveHead() {
    if (this.showArchived) return; // the head is the active list's
    void offline.mirror()?.setMeta(LIST_HEAD, this.#sorted.slice(0, LIST_HEAD_SIZE)).catch(() => {});
  }

  /** Adds or replaces a thread the app learned about elsewhere (a thread view, sync). */
  upsert(thread: Thread) {
    const i = this.#items.findIndex((t) => t.id === thread.id);
    this.#items = i >= 0 ? replaceAt(this.#items, i, thread) : [thread, ...this.#items];
  }

  /** Replaces a thread with a changed copy (the list is raw state: no mutation in place). */
  #patch(id: string, patch: Partial<Thread>) {
    const i = this.#items.findIndex((t) => t.id === id);
    if (i >= 0) this.#items = replaceAt(this.#items, i, { ...this.#items[i]!, ...patch });
  }

  /** A share link to the thread was made or revoked (the next sync says the same). */
  setShared(id: string, shared: boolean) {
    this.#patch(id, { shared });
  }

  /** The server named the thread (the reply's `title` event). */
  retitle(id: string, title: string) {
    this.#patch(id, { title });
  }

  #titleTimers = new Map<string, ReturnType<typeof setTimeout>>();

  /**
   * A server that names new threads after the reply stream closes (before the `title` event):
   * one look at the thread a moment later, at most one pending per thread.
   */
  titleLater(id: string, delay = 2500) {
    if (this.#titleTimers.has(id)) return;
    this.#titleTimers.set(
      id,
      setTimeout(() => {
        this.#titleTimers.delete(id);
        api.threads.get(id).then(
          ({ thread }) => this.upsert(thread),
          () => {},
        );
      }, delay),
    );
  }

  /** Marks activity now, so the thread moves up while a reply is written. */
  touch(id: string) {
    this.#patch(id, { updatedAt: new Date().toISOString() });
  }

  async update(id: string, patch: Partial<Pick<Thread, 'title' | 'model' | 'systemPrompt' | 'pinned' | 'folderId' | 'archived'>>) {
    const before = this.byId(id);
    this.#patch(id, patch);
    try {
      const { thread } = await api.threads.update(id, patch);
      this.upsert(thread);
      void offline.mirror()?.putThread(thread).catch(() => {});
      return thread;
    } catch (error) {
      if (before) this.upsert(before);
      throw error;
    }
  }

  rename(id: string, title: string) {
    return this.update(id, { title: title.trim() });
  }

  setPinned(id: string, pinned: boolean) {
    return this.update(id, { pinned });
  }

  /** Files the thread in a folder (null: no folder). */
  move(id: string, folderId: string | null) {
    return this.update(id, { folderId });
  }

  setArchived(id: string, archived: boolean) {
    return this.update(id, { archived });
  }

  /** Hides the thread now; deletes it on the server when the undo window closes. */
  remove(id: string) {
    const thread = this.byId(id);
    if (!thread) return;
    if (this.#undoable && this.#undoable.id !== id) this.#commitDelete(this.#undoable.id);
    this.#hidden = new Set([...this.#hidden, id]);
    this.#undoable = thread;
    this.#timers.set(
      id,
      setTimeout(() => this.#commitDelete(id), UNDO_MS),
    );
  }

  undo() {
    const thread = this.#undoable;
    if (!thread) return;
    clearTimeout(this.#timers.get(thread.id));
    this.#timers.delete(thread.id);
    const hidden = new Set(this.#hidden);
    hidden.delete(thread.id);
    this.#hidden = hidden;
    this.#undoable = null;
  }

  flushDeletes() {
    for (const id of [...this.#timers.keys()]) this.#commitDelete(id, true);
  }

  async #commitDelete(id: string, keepalive = false) {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    if (this.#undoable?.id === id) this.#undoable = null;
    if (offline.isNewThread(id) && !connectivity.online) {
      // Started on this device and never sent: nothing on the server to delete.
      this.#dropLocal(id);
      return;
    }
    if (keepalive) {
      // The page is going away: a keepalive request outlives it.
      void api.threads.remove(id, { keepalive: true }).catch(() => {});
      return;
    }
    try {
      await api.threads.remove(id);
      this.#items = this.#items.filter((t) => t.id !== id);
      void offline.mirror()?.deleteThread(id).catch(() => {});
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.#dropLocal(id);
      } else {
        this.#error = `Could not delete the thread: ${message(error)}`;
      }
    } finally {
      const hidden = new Set(this.#hidden);
      hidden.delete(id);
      this.#hidden = hidden;
    }
  }

  /** A thread the server does not have: gone from the list and the mirror, with anything waiting to be sent into it. */
  #dropLocal(id: string) {
    this.#items = this.#items.filter((t) => t.id !== id);
    void offline.mirror()?.deleteThread(id).catch(() => {});
    void offline.forgetThread(id);
    const hidden = new Set(this.#hidden);
    hidden.delete(id);
    this.#hidden = hidden;
  }

  isDeleting(id: string) {
    return this.#hidden.has(id);
  }

  reset() {
    for (const timer of this.#titleTimers.values()) clearTimeout(timer);
    this.#titleTimers.clear();
    this.#generation++;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#items = [];
    this.#hidden = new Set();
    this.#undoable = null;
    this.#status = 'idle';
    this.#error = null;
    this.filter = '';
    this.showArchived = false;
  }
}

/**
 * What starting a chat says without a network when it cannot wait (an image, a voice call);
 * a typed first message waits in the outbox instead (`create(…, {canWait: true})`).
 */
export const NEW_CHAT_OFFLINE = "You're offline, and this needs the network. A typed message is kept and sent when it returns.";

/** A copy of `items` with `item` at `i` (Array.prototype.with, for browsers before it). */
function replaceAt<T>(items: readonly T[], i: number, item: T): T[] {
  const next = items.slice();
  next[i] = item;
  return next;
}


export function displayTitle(thread: Pick<Thread, 'title'>): string {
  return thread.title.trim() || 'New chat';
}

/** Kept for the share page (being changed on main meanwhile); the helpers live in $lib/errors. */
export { message };

export const threads = new ThreadList();
