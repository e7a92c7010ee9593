/**
 * Whether the network is there. The "Offline" banner reads `online`; the offline mirror
 * (src/lib/offline/) will also use it to decide when to flush its outbox.
 */
class Connectivity {
  #online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);

  constructor() {
    if (typeof window === 'undefined') return;
    window.addEventListener('online', () => (this.#online = true));
    window.addEventListener('offline', () => (this.#online = false));
  }

  get online() {
    return this.#online;
  }
}

export const connectivity = new Connectivity();
