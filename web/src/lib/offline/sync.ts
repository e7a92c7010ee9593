/**
 * Keeps the mirror current through GET /api/sync: pages from the stored cursor until `more`
 * is false, each applied in one transaction with its cursor (mirror.ts), then handed to
 * listeners (the thread list, open threads). Never two runs at once: a run asked for while
 * one is going starts again once it ends, so nothing asked for is missed.
 */
import { ApiError, send } from '$lib/api';
import type { Mirror, SyncPage } from './mirror';

/** Entries per table per page. Large pages mean fewer round trips on a phone network. */
export const PAGE_LIMIT = 2000;

export type SyncOutcome = 'done' | 'offline' | 'failed';

export class SyncEngine {
  readonly mirror: Mirror;
  #onPage: (page: SyncPage) => void;
  #running: Promise<SyncOutcome> | null = null;
  #again = false;

  constructor(mirror: Mirror, onPage: (page: SyncPage) => void) {
    this.mirror = mirror;
    this.#onPage = onPage;
  }

  get running() {
    return this.#running !== null;
  }

  /** Brings the mirror up to date; resolves with how it went (never rejects). */
  run(): Promise<SyncOutcome> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let outcome: SyncOutcome;
      do {
        this.#again = false;
        outcome = await this.#pull();
      } while (this.#again && outcome === 'done');
      return outcome;
    })().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pull(): Promise<SyncOutcome> {
    if (!(await this.mirror.db())) return 'failed';
    try {
      let cursor = await this.mirror.cursor();
      for (;;) {
        const res = await send('GET', `/api/sync?since=${encodeURIComponent(cursor)}&limit=${PAGE_LIMIT}`);
        const page = (await res.json()) as SyncPage;
        if (this.mirror.closed) return 'failed';
        await this.mirror.apply(page);
        this.#onPage(page);
        cursor = page.cursor;
        if (!page.more) return 'done';
      }
    } catch (error) {
      // A dropped connection can also surface while reading a body (a TypeError).
      const gone = (error instanceof ApiError && error.offline) || error instanceof TypeError || !navigator.onLine;
      return gone ? 'offline' : 'failed';
    }
  }
}
