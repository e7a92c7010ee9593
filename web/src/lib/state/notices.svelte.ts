/**
 * Short confirmations at the bottom of the screen ("Stopped sharing"): shown by any screen
 * through `notices.show`, read by Toasts.svelte, gone on their own after a few seconds.
 */
const SHOWN_MS = 4000;

class Notices {
  #items = $state<{ id: number; text: string }[]>([]);
  #next = 0;

  get items() {
    return this.#items;
  }

  show(text: string, ms = SHOWN_MS) {
    const id = ++this.#next;
    this.#items = [...this.#items, { id, text }];
    setTimeout(() => (this.#items = this.#items.filter((n) => n.id !== id)), ms);
  }
}

export const notices = new Notices();
