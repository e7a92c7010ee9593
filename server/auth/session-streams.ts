/**
 * Open streams (reply SSE) by the session and account that opened them, so that
 * signing out, a password change, deleting a session or disabling an account ends
 * them at once (security classes 6 and 12): an access token is checked when a stream
 * opens, not for every chunk after.
 *
 * This registry is per process. `endSession`/`endUser` are the one place that ends
 * streams; to reach other instances, call them from a cross-instance notification too.
 */
export interface StreamOwner {
  userId: string;
  sessionId: string;
}

export class SessionStreams {
  #open = new Map<AbortController, StreamOwner>();

  /**
   * A signal that aborts when the request goes away or the stream's session is ended,
   * and `release`, to call when the stream is over.
   */
  open(owner: StreamOwner, request: AbortSignal): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    this.#open.set(controller, owner);
    const release = () => {
      this.#open.delete(controller);
      request.removeEventListener('abort', release);
    };
    request.addEventListener('abort', release, { once: true });
    return { signal: AbortSignal.any([request, controller.signal]), release };
  }

  /** Ends the streams of one session (sign-out, that session deleted). Returns how many. */
  endSession(sessionId: string): number {
    return this.#end((o) => o.sessionId === sessionId);
  }

  /** Ends an account's streams, except `keepSessionId`'s (password change keeps the current one). */
  endUser(userId: string, keepSessionId?: string): number {
    return this.#end((o) => o.userId === userId && o.sessionId !== keepSessionId);
  }

  get size() {
    return this.#open.size;
  }

  #end(match: (o: StreamOwner) => boolean): number {
    let n = 0;
    for (const [controller, owner] of [...this.#open]) {
      if (!match(owner)) continue;
      controller.abort('session ended');
      n++;
    }
    return n;
  }
}
