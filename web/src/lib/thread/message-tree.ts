/**
 * A conversation as a tree: edits and regenerations are siblings under one parent, and the
 * conversation shown is one path from the root, taking at each level the branch the reader
 * picked or else the latest one. Pure (no runes, no I/O), so the thread view and the share
 * page walk it the same way, ties included, and it is unit-tested (message-tree.test.ts).
 */

/** The fields the tree needs; thread messages and share snapshots both have them. */
export interface TreeMessage {
  id: string;
  parentId: string | null;
  role: string;
  createdAt: string;
}

/** The key of the root level (messages without a parent). */
export const ROOT = '∅';

export const parentKey = (m: Pick<TreeMessage, 'parentId'>): string => m.parentId ?? ROOT;

/** parentKey → the child picked there. */
export type Selection = Readonly<Record<string, string>>;

/** Oldest first; equal times fall back to the id, so every reader sees the same order. */
const byAge = (a: TreeMessage, b: TreeMessage) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);

export class MessageTree<M extends TreeMessage> {
  readonly #children = new Map<string, M[]>();

  /** System messages are not part of what is shown. */
  constructor(messages: Iterable<M>) {
    for (const m of messages) {
      if (m.role === 'system') continue;
      const key = parentKey(m);
      const list = this.#children.get(key);
      if (list) list.push(m);
      else this.#children.set(key, [m]);
    }
    for (const list of this.#children.values()) list.sort(byAge);
  }

  /** The children of a message (or of the root), oldest first. */
  children(key: string): readonly M[] {
    return this.#children.get(key) ?? [];
  }

  /** The visible conversation: from the root, the picked (or latest) child at each level. */
  path(selected: Selection = {}): M[] {
    const out: M[] = [];
    const seen = new Set<string>();
    let key = ROOT;
    for (;;) {
      const kids = this.#children.get(key);
      if (!kids?.length) break;
      const pick = kids.find((k) => k.id === selected[key]) ?? kids[kids.length - 1]!;
      // A cycle in bad data must not hang the page.
      if (seen.has(pick.id)) break;
      seen.add(pick.id);
      out.push(pick);
      key = pick.id;
    }
    return out;
  }

  /** "2 / 3": where a message sits among its siblings (index from 0). */
  branchOf(m: Pick<M, 'id' | 'parentId'>): { index: number; count: number } {
    const kids = this.#children.get(parentKey(m));
    if (!kids?.length) return { index: 0, count: 1 };
    return { index: Math.max(0, kids.findIndex((k) => k.id === m.id)), count: kids.length };
  }

  /** The sibling `step` places away (previous or next version), if there is one. */
  sibling(m: Pick<M, 'id' | 'parentId'>, step: -1 | 1): M | undefined {
    const kids = this.#children.get(parentKey(m)) ?? [];
    const i = kids.findIndex((k) => k.id === m.id);
    return i < 0 ? undefined : kids[i + step];
  }
}

/** What merging needs to know of a message beyond the tree. */
export interface MergeMessage extends TreeMessage {
  status: string;
}

/**
 * The incoming copies (a sync page, the mirror) that may replace what is held, without going
 * back: the reply being streamed here is ahead of any copy, and a final message never becomes
 * `streaming` again.
 */
export function mergeable<M extends MergeMessage>(held: Readonly<Record<string, M>>, incoming: Iterable<M>, live: string | null): M[] {
  const out: M[] = [];
  for (const m of incoming) {
    if (m.id === live) continue;
    const mine = held[m.id];
    if (mine && mine.status !== 'streaming' && m.status === 'streaming') continue;
    out.push(m);
  }
  return out;
}
