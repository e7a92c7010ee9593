/**
 * The versions a reader picked in a thread ("2 / 3" set back to 1), kept on this device so
 * a reload or a later visit shows the same conversation. Only choices that differ from the
 * default (the latest version) are stored, so a thread read as it came costs nothing.
 * localStorage, one key per thread; removed with the account's other local data at sign-out
 * (session.svelte.ts, security item 13).
 */
export const BRANCH_PREFIX = 'parley:branch:';

/** parentKey → the child picked there. */
export type Remembered = Record<string, string>;

export function recallBranches(threadId: string, storage: Pick<Storage, 'getItem'> | undefined = globalStorage()): Remembered {
  try {
    const raw = storage?.getItem(BRANCH_PREFIX + threadId);
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    // Only strings survive: a damaged entry must not break the thread view.
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

export function rememberBranches(
  threadId: string,
  choices: Remembered,
  storage: Pick<Storage, 'setItem' | 'removeItem'> | undefined = globalStorage(),
) {
  try {
    if (Object.keys(choices).length) storage?.setItem(BRANCH_PREFIX + threadId, JSON.stringify(choices));
    else storage?.removeItem(BRANCH_PREFIX + threadId);
  } catch {
    /* storage full or unavailable: the choice lasts until the page closes */
  }
}

function globalStorage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage;
  } catch {
    return undefined;
  }
}
