/**
 * A server-sent-events Response fed by a Feed. Heartbeat comments keep a quiet
 * stream open past Bun's 10 s idle timeout; a closed client (request.signal) or the
 * feed's `close` (a reply over, completion steps included) ends the stream and runs
 * the cleanup, so nothing leaks.
 */
import type { ReplyEvent } from './types';

/** Any named event with a JSON payload (replies', rooms'). */
export interface SseEvent {
  event: string;
  data: unknown;
}

export const HEARTBEAT_MS = 5000;

/**
 * `start` is given `send` (an event, with an optional SSE `id` so a reconnect can send
 * `Last-Event-ID`), `close`, and `viewer` (the reading client's session, to tell whether a
 * reply ended watched); it returns its cleanup.
 */
export function eventStream<E extends SseEvent = ReplyEvent>(
  signal: AbortSignal,
  start: (send: (event: E, id?: string | number) => void, close: () => void, viewer?: string) => (() => void) | void,
  viewer?: string,
): Response {
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
      const send = (event: E, id?: string | number) => {
        write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`);
      };
      onAbort = close;
      signal.addEventListener('abort', onAbort);
      heartbeat = setInterval(() => write(': ping\n\n'), HEARTBEAT_MS);
      write(': stream open\n\n');
      cleanup = start(send, close, viewer);
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
