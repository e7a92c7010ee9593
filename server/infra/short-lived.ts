/**
 * A value read again once it is older than `ttlMs` (shared by concurrent callers; a failed read
 * is not kept). For rows every reply reads and that rarely change: this instance's writes call
 * `clear`, another instance's show within `ttlMs`.
 */
export function shortLived<T>(load: () => Promise<T>, ttlMs: number) {
  let held: { at: number; value: Promise<T> } | null = null;
  return {
    get(): Promise<T> {
      if (!held || Date.now() - held.at > ttlMs) {
        const value = load();
        const entry = { at: Date.now(), value };
        held = entry;
        value.catch(() => {
          if (held === entry) held = null;
        });
      }
      return held.value;
    },
    clear() {
      held = null;
    },
  };
}
