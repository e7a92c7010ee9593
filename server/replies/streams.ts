/**
 * The reply streams (SSE responses) open in this process, by account and session, so a
 * sign-out, a revoked session or a disabled account ends them at once. The relay calls
 * `endSession`/`endUser` when the bus says so (every instance hears it, this one too);
 * `open` wraps a Feed so the stream registers itself and leaves the registry when it ends.
 */
import type { Feed } from './types';

interface Entry {
  userId: string;
  sessionId: string | null;
  close: () => void;
}

export class Streams {
  #open = new Set<Entry>();

  /** The feed (a reply's, or any other event stream's: rooms'), registered for its owner while it runs. */
  open<F extends (send: never, close: () => void, viewer?: string) => (() => void) | void = Feed>(
    owner: { userId: string; sessionId: string | null },
    feed: F,
  ): F {
    return ((send: never, close: () => void, viewer?: string) => {
      const entry: Entry = { ...owner, close };
      this.#open.add(entry);
      const cleanup = feed(send, close, viewer);
      return () => {
        this.#open.delete(entry);
        cleanup?.();
      };
    }) as F;
  }

  /** Ends the streams of one session (signed out, revoked). */
  endSession(sessionId: string) {
    this.#end((e) => e.sessionId === sessionId);
  }

  /** Ends every stream of an account (disabled, deleted), except `keepSessionId`'s (a password change keeps the current one). */
  endUser(userId: string, keepSessionId?: string) {
    this.#end((e) => e.userId === userId && (keepSessionId === undefined || e.sessionId !== keepSessionId));
  }

  get size() {
    return this.#open.size;
  }

  #end(match: (e: Entry) => boolean) {
    for (const e of [...this.#open]) {
      if (!match(e)) continue;
      this.#open.delete(e);
      e.close();
    }
  }
}
