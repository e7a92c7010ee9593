/**
 * The thread list in groups: pinned threads first under "Pinned", then the rest by last activity
 * under "Today", "Yesterday", "Previous 7 days" and "Older" (local calendar days). Pure, so it
 * is unit-tested and cheap: one pass over threads already sorted (pinned first, newest first).
 */
export interface ListThread {
  id: string;
  pinned: boolean;
  updatedAt: string;
  folderId?: string | null;
}

export interface Group<T extends ListThread> {
  /** A day group's name, or the folder's name. */
  label: string;
  /** Set on a folder's group. */
  folderId?: string;
  threads: T[];
}

export interface ListFolder {
  id: string;
  name: string;
}

export const GROUPS = ['Pinned', 'Today', 'Yesterday', 'Previous 7 days', 'Older'] as const;

/** Local midnight of `now`, and of the day before, and six days before that, as ISO strings. */
function boundaries(now: Date) {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const day = (n: number) => new Date(midnight.getFullYear(), midnight.getMonth(), midnight.getDate() - n).toISOString();
  return { today: day(0), yesterday: day(1), week: day(7) };
}

/** The group of an unpinned thread (ISO strings compare in time order, so no Date per thread). */
export function groupOf(updatedAt: string, b: ReturnType<typeof boundaries>): (typeof GROUPS)[number] {
  if (updatedAt >= b.today) return 'Today';
  if (updatedAt >= b.yesterday) return 'Yesterday';
  if (updatedAt >= b.week) return 'Previous 7 days';
  return 'Older';
}

/**
 * The groups of the first `limit` threads of `sorted` (the list renders a window and grows it as
 * it is scrolled, so 20,000 threads never become 20,000 elements at once).
 */
export function listGroups<T extends ListThread>(
  sorted: readonly T[],
  limit: number,
  now = new Date(),
  folders: readonly ListFolder[] = [],
): Group<T>[] {
  const b = boundaries(now);
  // Pinned first; then each folder (in the order given, empty ones too, so they can be
  // dropped on); then the unfiled threads by day.
  const pinned: T[] = [];
  const inFolder = new Map<string, T[]>(folders.map((f) => [f.id, []]));
  const loose: T[] = [];
  for (const thread of sorted) {
    if (thread.pinned) pinned.push(thread);
    else if (thread.folderId && inFolder.has(thread.folderId)) inFolder.get(thread.folderId)!.push(thread);
    else loose.push(thread);
  }
  const groups: Group<T>[] = [];
  let left = limit;
  const take = (label: string, threads: T[], folderId?: string) => {
    const shown = threads.slice(0, Math.max(0, left));
    left -= shown.length;
    if (shown.length || (folderId && left > 0)) groups.push({ label, threads: shown, ...(folderId ? { folderId } : {}) });
  };
  if (pinned.length) take('Pinned', pinned);
  for (const f of folders) take(f.name, inFolder.get(f.id)!, f.id);
  let current: Group<T> | undefined;
  for (const thread of loose) {
    if (left <= 0) break;
    const label = groupOf(thread.updatedAt, b);
    if (label !== current?.label || current.folderId) groups.push((current = { label, threads: [] }));
    current.threads.push(thread);
    left--;
  }
  return groups;
}

/** Newest activity first, pinned before the rest; ISO strings compare without localeCompare. */
export function byPinnedThenRecent(a: ListThread, b: ListThread): number {
  if (a.pinned !== b.pinned) return a.pinned ? -1 : 1;
  return a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0;
}
