/**
 * The messages of one open thread as reactive state: held by id, walked as a MessageTree
 * along the branches the user picked. Conversation owns one; nothing else writes it.
 * The versions picked by hand are remembered on the device (branch-memory.ts).
 */
import type { ViewMessage } from '$lib/view-types';
import type { Source, ToolCall } from '$server/threads/model';
import { recallBranches, rememberBranches, type Remembered } from './branch-memory';
import { MessageTree, mergeable, parentKey } from './message-tree';

export class ThreadMessages {
  readonly #threadId: string | undefined;
  /** The picks that differ from the latest version, as stored (plain: only written here). */
  #remembered: Remembered;
  #byId = $state<Record<string, ViewMessage>>({});
  /** parentKey → the child the user picked. */
  #selected = $state<Record<string, string>>({});
  #tree = $derived(new MessageTree(Object.values(this.#byId)));
  #path = $derived(this.#tree.path(this.#selected));

  /** `threadId`: remember the versions picked in this thread across reloads. */
  constructor(threadId?: string) {
    this.#threadId = threadId;
    this.#remembered = threadId ? recallBranches(threadId) : {};
    // A remembered id that is gone (deleted, or not loaded yet) falls back to the latest version.
    this.#selected = { ...this.#remembered };
  }

  /** The visible conversation. */
  get path(): ViewMessage[] {
    return this.#path;
  }
  /** The last message shown (what a new turn answers). */
  get last(): ViewMessage | undefined {
    return this.#path[this.#path.length - 1];
  }

  get(id: string): ViewMessage | undefined {
    return this.#byId[id];
  }

  /** A reply still being written, if any. */
  live(): ViewMessage | undefined {
    return Object.values(this.#byId).find((m) => m.role === 'assistant' && m.status === 'streaming');
  }

  branchOf(m: ViewMessage) {
    return this.#tree.branchOf(m);
  }

  switchBranch(m: ViewMessage, step: -1 | 1) {
    const next = this.#tree.sibling(m, step);
    if (!next) return;
    const key = parentKey(m);
    this.#selected[key] = next.id;
    // The latest version is what shows anyway: only an older pick needs remembering.
    this.#remember(key, this.#tree.sibling(next, 1) ? next.id : null);
  }

  /**
   * Shows the branch holding a message (a search result in an older version): each message
   * from it up to the root becomes its parent's pick. False when the message is not loaded.
   */
  reveal(id: string): boolean {
    let m = this.#byId[id];
    if (!m) return false;
    const seen = new Set<string>();
    while (m && !seen.has(m.id)) {
      seen.add(m.id);
      this.#selected[parentKey(m)] = m.id;
      m = m.parentId ? this.#byId[m.parentId] : undefined;
    }
    return true;
  }

  /** Adds or replaces a message and makes it the visible branch. */
  show(m: ViewMessage) {
    this.#byId[m.id] = m;
    const key = parentKey(m);
    this.#selected[key] = m.id;
    // A new version (regenerated, edited) is the latest: an older pick there is over.
    if (key in this.#remembered) this.#remember(key, null);
  }

  #remember(key: string, id: string | null) {
    if (!this.#threadId || this.#remembered[key] === (id ?? undefined)) return;
    if (id) this.#remembered[key] = id;
    else delete this.#remembered[key];
    rememberBranches(this.#threadId, this.#remembered);
  }

  /** Takes a message back (a placeholder, a send that did not happen). */
  unshow(m: ViewMessage) {
    delete this.#byId[m.id];
    if (this.#selected[parentKey(m)] === m.id) delete this.#selected[parentKey(m)];
  }

  /** Replaces a message where it is (its final state). */
  set(m: ViewMessage) {
    this.#byId[m.id] = m;
  }

  appendText(id: string, text: string) {
    const m = this.#byId[id];
    if (m) m.content += text;
  }

  appendReasoning(id: string, text: string) {
    const m = this.#byId[id];
    if (m) m.reasoning = (m.reasoning ?? '') + text;
  }

  /** A tool call's new state replaces the one before (same call id). */
  setToolCall(id: string, call: ToolCall) {
    const m = this.#byId[id];
    if (!m) return;
    const calls = m.toolCalls ?? [];
    const at = calls.findIndex((c) => c.id === call.id);
    m.toolCalls = at < 0 ? [...calls, call] : calls.map((c, i) => (i === at ? call : c));
  }

  setSources(id: string, sources: Source[]) {
    const m = this.#byId[id];
    if (m) m.sources = sources;
  }

  /** Copies from the mirror or a sync, without going back (see `mergeable`). */
  merge(messages: ViewMessage[], live: string | null) {
    for (const m of mergeable(this.#byId, messages, live)) this.#byId[m.id] = m;
  }

  /** The server's full list; the reply streaming here (`keep`) stays ahead of it. */
  replace(messages: ViewMessage[], keep: string | null) {
    const byId: Record<string, ViewMessage> = {};
    for (const m of messages) byId[m.id] = m;
    const live = keep ? this.#byId[keep] : undefined;
    if (live) byId[live.id] = live;
    this.#byId = byId;
  }
}
