/**
 * Unsent text per thread ('new' for a chat not created yet), kept in localStorage so a
 * draft survives switching threads and reloading. Cleared at sign-out (session.svelte.ts).
 */
const PREFIX = 'parley:draft:';

class Drafts {
  #timers = new Map<string, ReturnType<typeof setTimeout>>();

  get(key: string): string {
    try {
      return localStorage.getItem(PREFIX + key) ?? '';
    } catch {
      return '';
    }
  }

  /** Saves after a short pause in typing. */
  set(key: string, text: string) {
    clearTimeout(this.#timers.get(key));
    this.#timers.set(
      key,
      setTimeout(() => this.#write(key, text), 250),
    );
  }

  clear(key: string) {
    clearTimeout(this.#timers.get(key));
    this.#write(key, '');
  }

  /** Carries the new-chat draft over to the thread it created. */
  move(from: string, to: string) {
    const text = this.get(from);
    this.clear(from);
    if (text) this.#write(to, text);
  }

  #write(key: string, text: string) {
    try {
      if (text.trim()) localStorage.setItem(PREFIX + key, text);
      else localStorage.removeItem(PREFIX + key);
    } catch {
      /* storage full or unavailable: the draft stays in memory only */
    }
  }
}

export const drafts = new Drafts();
