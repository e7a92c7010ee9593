/**
 * The colour theme: 'system' follows the device; 'light'/'dark' force it. The choice is
 * saved in the account's settings and mirrored in localStorage, which app.html's inline
 * script reads before the first paint.
 */
import type { Theme } from '$server/settings/model';

const KEY = 'parley:theme';

class ThemeState {
  #theme = $state<Theme>('system');

  constructor() {
    if (typeof window === 'undefined') return;
    try {
      const saved = localStorage.getItem(KEY);
      if (saved === 'light' || saved === 'dark') this.#theme = saved;
    } catch {
      /* no storage */
    }
  }

  get current() {
    return this.#theme;
  }

  apply(theme: Theme) {
    this.#theme = theme;
    const root = document.documentElement;
    if (theme === 'system') delete root.dataset.theme;
    else root.dataset.theme = theme;
    try {
      if (theme === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, theme);
    } catch {
      /* no storage */
    }
    // The browser chrome follows the chosen theme, not only the device's.
    for (const meta of document.querySelectorAll<HTMLMetaElement>('meta[name="theme-color"]')) {
      const dark = theme === 'dark' || (theme === 'system' && meta.media.includes('dark'));
      meta.content = dark ? '#14151f' : '#ffffff';
    }
  }
}

export const theme = new ThemeState();
