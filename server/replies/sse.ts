/**
 * A server-sent-events Response fed by a Feed. Heartbeat comments keep a quiet
 * stream open past Bun's 10 s idle timeout; a closed client (request.signal) or the
 * feed's `close` (a reply over, completion steps included) ends the stream and runs
 * the cleanup, so nothing leaks.
 */
import type { SessionStreams, StreamOwner } from '../auth/session-streams';
import type { Feed, Send } from './types';

/** An event stream that also ends when its session does (sign-out, password change, disabling). */
export function sessionEventStream(streams: SessionStreams, owner: StreamOwner, request: AbortSignal, feed: Feed): Response {
  const { signal, release } = streams.open(owner, request);
  return eventStream(signal, (send, close) => {
    const cleanup = feed(send, close);
    return () => {
      release();
      cleanup?.();
    };
  });
}

export const HEARTBEAT_MS = 5000;

export function eventStream(signal: AbortSignal, start: Feed): Response {
  const encoder = new TextEncoder();
  let closed = false;
  let cleanup: (() => void) | void;
  let heartbeat: ReturnType<typeof setInterval> | undefined;

  const finish = () => {
    if (closed) return false;
    closed = true;
    clearInterval(heartbeat);
    signal.removeEventListener('abort', onAbort);
    cleanup?.();
    return true;
  };
  let onAbort = () => {};

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const close = () => {
        if (!finish()) return;
        try {
          controller.close();
        } catch {
          /* already closed by the client */
        }
      };
      const write = (chunk: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(chunk));
        } catch {
          close();
        }
      };
      const send: Send = (event) => {
        write(`event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
      };
      onAbort = close;
      signal.addEventListener('abort', onAbort);
      heartbeat = setInterval(() => write(': ping\n\n'), HEARTBEAT_MS);
      write(': stream open\n\n');
      cleanup = start(send, close);
      // The source may have finished synchronously (a reply already complete).
      if (closed) cleanup?.();
    },
    cancel() {
      finish();
    },
  });

  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      'x-accel-buffering': 'no',
    },
  });
}
