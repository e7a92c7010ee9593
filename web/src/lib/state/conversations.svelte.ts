/**
 * The open conversations, one per thread, kept while the app is open (a reply keeps
 * streaming while the user looks at another thread). Wired by `connect` (state/root.ts):
 * outbox entries are delivered into an open thread (or directly), sync pages reach open
 * threads, and replies cut off by the network are let go and followed again.
 */
import { SvelteMap } from 'svelte/reactivity';
import type { OutboxEntry } from '$lib/offline/db';
import { deliverEntry } from '$lib/offline/deliver';
import type { SyncPage } from '$lib/offline/mirror';
import type { Delivery } from '$lib/offline/outbox';
import type { Message, Thread } from '$server/threads/model';
import { Conversation } from './conversation.svelte';

class Conversations {
  #open = new SvelteMap<string, Conversation>();

  get(id: string, thread?: Thread): Conversation {
    let c = this.#open.get(id);
    if (!c) {
      c = new Conversation(id, thread);
      this.#open.set(id, c);
    }
    return c;
  }

  /** Whether any reply is streaming (the update prompt waits for it). */
  get streaming(): boolean {
    for (const c of this.#open.values()) if (c.busy) return true;
    return false;
  }

  forget(id: string) {
    this.#open.delete(id);
  }

  /** Sign-out: nothing of the account stays in memory. */
  clear() {
    this.#open.clear();
  }

  /** An outbox entry goes through its open thread (its reply streams in there), else directly. */
  deliver(entry: OutboxEntry, stored: () => Promise<void>): Promise<Delivery> {
    const open = this.#open.get(entry.threadId);
    return open ? open.deliver(entry, stored) : deliverEntry(entry, stored);
  }

  /** Back online, or back in front: replies that went on without us are followed again. */
  resume() {
    for (const c of this.#open.values()) c.resume();
  }

  /** The network went away: let go of live replies now. */
  detach() {
    for (const c of this.#open.values()) c.detach();
  }

  /** A sync page reaches the threads open in memory. */
  synced(page: SyncPage) {
    if (!this.#open.size) return;
    const byThread = new Map<string, Message[]>();
    for (const m of page.messages) byThread.set(m.threadId, [...(byThread.get(m.threadId) ?? []), m]);
    const gone = new Set(page.deletedThreadIds);
    for (const [id, c] of this.#open) {
      const thread = page.threads.find((t) => t.id === id);
      if (thread) c.setThread(thread);
      const messages = byThread.get(id);
      if (messages) c.applySynced(messages);
      if (gone.has(id)) c.gone();
    }
  }
}

export const conversations = new Conversations();
