/** Pure helpers over a conversation's message tree (no database). */

/** Parents before children, whatever order the list is in (linear time); cycles are cut. */
export function parentsFirst<T extends { id: string; parentId: string | null }>(messages: T[]): T[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const placed = new Set<string>();
  const out: T[] = [];
  for (const m of messages) {
    // Climb to the first ancestor already placed, then place the chain top-down.
    const chain: T[] = [];
    const seen = new Set<string>();
    let current: T | undefined = m;
    while (current && !placed.has(current.id) && !seen.has(current.id)) {
      seen.add(current.id);
      chain.push(current);
      current = current.parentId ? byId.get(current.parentId) : undefined;
    }
    for (const c of chain.reverse()) {
      placed.add(c.id);
      out.push(c);
    }
  }
  return out;
}
