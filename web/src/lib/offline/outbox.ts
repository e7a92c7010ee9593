/**
 * The outbox: messages written without a network, sent when it returns. Shared by the page
 * (which streams the replies into an open thread) and the service worker (Background Sync
 * with no window open), so it knows nothing of either: it is given the entries and a way
 * to deliver one.
 *
 * - Each entry keeps the client UUID it was written with; the server creates nothing new
 *   for an id it has seen, so a retry after a lost answer is harmless: exactly once.
 * - Within a thread, entries go in the order written, each after the previous one's reply
 *   is done (so the second message answers the first reply, as if typed online); threads
 *   are independent of each other.
 * - One flush at a time per browser profile (Web Locks across tabs and the worker).
 */
import type { PostMessageBody } from '$server/replies/model';
import type { OutboxEntry } from './db';

/** What happened to one entry: stored on the server, no network (try later), or refused. */
export type Delivery = 'sent' | 'offline' | { error: string };

export interface OutboxStore {
  outbox(): Promise<OutboxEntry[]>;
  queue(entry: OutboxEntry): Promise<void>;
  unqueue(id: string): Promise<void>;
}

/**
 * Delivers one entry and resolves when its reply is over (or could not be followed).
 * `stored` must be called as soon as the server has the message (its `user` event, or a
 * 200 answer): the entry leaves the outbox then, even if the reply is still being written.
 */
export type Deliver = (entry: OutboxEntry, stored: () => Promise<void>) => Promise<Delivery>;

export const SYNC_TAG = 'parley-outbox';

/** The order entries are sent in: as written. */
export function sortOutbox(entries: OutboxEntry[]): OutboxEntry[] {
  return [...entries].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Whether the server refused a message for good (bad input, thread gone, too large): it is
 * kept with the reason for the user to read and remove. Anything else (no session for now,
 * a conflict while the first try is still being stored, rate limits, server errors) is tried
 * again later.
 */
export function refusedForGood(status: number, code?: string): boolean {
  // A used-up allowance is a 429 that waiting minutes will not fix: said at once, not retried.
  if (code === 'quota_exceeded') return true;
  return status >= 400 && status < 500 && ![401, 408, 409, 425, 429].includes(status);
}

/** The body of the POST that sends an entry (the same `id` every time). */
export function postBody(entry: OutboxEntry): PostMessageBody {
  return {
    id: entry.id,
    content: entry.content,
    ...(entry.parentId !== undefined ? { parentId: entry.parentId } : {}),
    ...(entry.attachments?.length ? { attachments: entry.attachments } : {}),
  };
}
const LOCK = 'parley-outbox';

export interface FlushResult {
  sent: number;
  /** Entries left (no network, or refused and waiting for the user). */
  left: number;
  offline: boolean;
}

/** Sends what can be sent. Resolves null when another flush holds the lock (it will see new entries too). */
export async function flushOutbox(store: OutboxStore, deliver: Deliver): Promise<FlushResult | null> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return run(store, deliver);
  return locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? run(store, deliver) : null));
}

async function run(store: OutboxStore, deliver: Deliver): Promise<FlushResult> {
  let sent = 0;
  let offline = false;
  const attempted = new Set<string>();
  for (;;) {
    const all = await store.outbox();
    // A refused entry holds back the rest of its thread: order matters more than speed.
    const blocked = new Set(all.filter((e) => e.error).map((e) => e.threadId));
    const entries = all.filter((e) => !attempted.has(e.id));
    const chains = new Map<string, OutboxEntry[]>();
    for (const e of entries) {
      if (e.error || blocked.has(e.threadId)) continue;
      chains.set(e.threadId, [...(chains.get(e.threadId) ?? []), e]);
    }
    if (!chains.size || offline) break;
    await Promise.all(
      [...chains.values()].map(async (chain) => {
        for (const entry of chain) {
          if (offline) return;
          attempted.add(entry.id);
          // Removed by the user while an earlier one of its thread was being answered: never sent.
          if (!(await store.outbox()).some((e) => e.id === entry.id)) continue;
          let unqueued = false;
          const stored = async () => {
            if (unqueued) return;
            unqueued = true;
            await store.unqueue(entry.id);
          };
          let result: Delivery;
          try {
            result = await deliver(entry, stored);
          } catch (error) {
            result = { error: error instanceof Error ? error.message : 'Could not send' };
          }
          // Once the server has it, it is sent, whatever happened to the reply afterwards.
          if (result === 'sent' || unqueued) {
            await stored();
            sent++;
          } else if (result === 'offline') {
            offline = true;
            return;
          } else {
            await store.queue({ ...entry, error: result.error });
            return;
          }
        }
      }),
    );
  }
  const left = (await store.outbox()).length;
  return { sent, left, offline };
}

/**
 * Resolves once no flush holds the outbox (at once without Web Locks). A tab whose flush found
 * another one running (another tab, the worker) waits for it, then reads what is left.
 */
export async function outboxFlushed(): Promise<void> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return;
  await locks.request(LOCK, () => undefined);
}

/** Asks for a Background Sync (where the browser has it), so the worker flushes even if the app is closed. */
export async function requestBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    const sync = (registration as { sync?: { register(tag: string): Promise<void> } } | undefined)?.sync;
    await sync?.register(SYNC_TAG);
  } catch {
    /* no worker, no Background Sync, or refused: the page flushes on `online` and at start */
  }
}
