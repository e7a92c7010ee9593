/**
 * Unsent text per thread ('new' for a chat not created yet), kept in localStorage so a
 * draft survives switching threads and reloading. Cleared at sign-out (session.svelte.ts).
 * Writes wait for a pause in typing; until then the text is answered from memory, and
 * leaving the page writes it at once.
 */
const PREFIX = 'parley:draft:';

class Drafts {
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #unsaved = new Map<string, string>();

  constructor() {
    if (typeof window !== 'undefined') window.addEventListener('pagehide', () => this.flush());
  }

  get(key: string): string {
    const unsaved = this.#unsaved.get(key);
    if (unsaved !== undefined) return unsaved;
    try {
      return localStorage.getItem(PREFIX + key) ?? '';
    } catch {
      return '';
    }
  }

  /** Saves after a short pause in typing. */
  set(key: string, text: string) {
    this.#unsaved.set(key, text);
    clearTimeout(this.#timers.get(key));
    this.#timers.set(
      key,
      setTimeout(() => this.#write(key, text), 250),
    );
  }

  clear(key: string) {
    this.#write(key, '');
  }

  /** Writes every pending draft now. */
  flush() {
    for (const [key, text] of this.#unsaved) this.#write(key, text);
  }

  /** How many drafts hold text (what signing out would delete). */
  count(): number {
    this.flush();
    try {
      return Object.keys(localStorage).filter((key) => key.startsWith(PREFIX) && localStorage.getItem(key)?.trim()).length;
    } catch {
      return 0;
    }
  }

  /** Forgets everything (sign-out); localStorage is cleared by the session. */
  reset() {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#unsaved.clear();
  }

  #write(key: string, text: string) {
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
    this.#unsaved.delete(key);
    try {
      if (text.trim()) localStorage.setItem(PREFIX + key, text);
      else localStorage.removeItem(PREFIX + key);
    } catch {
      /* storage full or unavailable: the draft stays in memory only */
    }
  }
}

export const drafts = new Drafts();
