/**
 * Whether Parley's server can be used right now. Two ways it cannot:
 * - the network is gone (`navigator.onLine` false): "Offline";
 * - the network is there but the server does not answer (away from home with the VPN off,
 *   the server restarting): `navigator.onLine` stays true, so this is told from failed
 *   requests (the API client reports each answer and each failure, see `api.onReachability`).
 *   Then /api/health is probed with a backoff (1 s, doubling, capped at 30 s) until it answers.
 * `online` is false in both cases, so every screen keeps its offline behaviour (read from the
 * mirror, write into the outbox); when the server answers again, `onReturn` listeners run
 * (sync, outbox flush, replies followed again), without a reload.
 */
import { fromGateway } from '$lib/api';
import { retryDelay } from '$lib/offline/backoff';

const PROBE_TIMEOUT_MS = 8000;

class Connectivity {
  #network = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  #reachable = $state(true);
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #probing = false;
  #returned = new Set<() => void>();
  #lost = new Set<() => void>();

  constructor() {
    if (typeof window === 'undefined') return;
    window.addEventListener('online', () => {
      this.#network = true;
      if (!this.#reachable) this.probe();
    });
    window.addEventListener('offline', () => (this.#network = false));
    // Back in front: try at once rather than waiting out the backoff.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && !this.#reachable) this.probe();
    });
  }

  /** The server can be used: the network is there and the server answers. */
  get online() {
    return this.#network && this.#reachable;
  }

  /** The network is there but the server does not answer. */
  get unreachable() {
    return this.#network && !this.#reachable;
  }

  /** Runs when the server answers again after being unreachable. */
  onReturn(listener: () => void) {
    this.#returned.add(listener);
  }

  /** Runs when the server stops answering while the network is there. */
  onLost(listener: () => void) {
    this.#lost.add(listener);
  }

  /** A request got an answer from the server. */
  answered() {
    if (this.#reachable) return;
    clearTimeout(this.#timer);
    this.#reachable = true;
    this.#attempt = 0;
    for (const listener of this.#returned) listener();
  }

  /** A request got no answer (or a gateway's instead of the server's) while the network is there. */
  failed() {
    if (typeof navigator !== 'undefined' && !navigator.onLine) {
      this.#network = false;
      return;
    }
    if (!this.#reachable) return;
    this.#reachable = false;
    this.#attempt = 0;
    for (const listener of this.#lost) listener();
    this.#schedule();
  }

  /** Asks the server now (and, if it still does not answer, keeps asking with the backoff). */
  probe() {
    if (this.#probing) return;
    clearTimeout(this.#timer);
    this.#probing = true;
    fetch('/api/health', { cache: 'no-store', credentials: 'same-origin', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })
      .then((res) => !fromGateway(res))
      .catch(() => false)
      .then((ok) => {
        this.#probing = false;
        if (ok) this.answered();
        else if (!this.#reachable) this.#schedule();
      });
  }

  #schedule() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.probe(), retryDelay(this.#attempt++));
  }
}

export const connectivity = new Connectivity();
