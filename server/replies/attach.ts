/**
 * Attaching a client to a reply: a generation in this process (live), a reply that is
 * already final (replayed), or one generating in another instance (followed by polling
 * its row). Every client gets `start`, one `delta` with the text so far, then live events.
 */
import { getMessage } from '../conversations/queries';
import type { Message } from '../threads/model';
import type { Generation, Generations } from './generations';
import type { Feed, FinalEvent, RunnerDeps, Send } from './types';

export type Source =
  | { kind: 'live'; generation: Generation }
  | { kind: 'final'; message: Message }
  | { kind: 'poll'; message: Message };

/** How often a reply generating in another instance is read again. */
const POLL_MS = 500;

const clean = (m: Message): Message => ({ ...m, content: '' });

/** Where a client attaching to this assistant message gets its events from. */
export function sourceFor(generations: Generations, message: Message): Source {
  const live = generations.get(message.id);
  if (live) return { kind: 'live', generation: live };
  if (message.status === 'streaming') return { kind: 'poll', message };
  return { kind: 'final', message };
}

function finalEvent(message: Message): FinalEvent {
  return message.status === 'error'
    ? { event: 'error', data: { message, error: { code: 'provider_error', message: message.error ?? 'The reply failed' } } }
    : { event: 'done', data: { message } };
}

/** The feed of a source: everything so far, then live events, then the end. */
export function feedOf(deps: Pick<RunnerDeps, 'sql' | 'config'>, userId: string, source: Source): Feed {
  return (send, close, viewer) => {
    switch (source.kind) {
      case 'live':
        return source.generation.attach(send, close, viewer);
      case 'final':
        send({ event: 'start', data: { message: clean(source.message) } });
        if (source.message.content) send({ event: 'delta', data: { id: source.message.id, text: source.message.content } });
        send(finalEvent(source.message));
        close();
        return;
      case 'poll':
        return follow(deps, userId, source.message, send, close);
    }
  };
}

/** A reply generating in another instance: follow its row until it is final. */
function follow(deps: Pick<RunnerDeps, 'sql' | 'config'>, userId: string, message: Message, send: Send, close: () => void) {
  let stopped = false;
  let sent = message.content.length;
  send({ event: 'start', data: { message: clean(message) } });
  if (message.content) send({ event: 'delta', data: { id: message.id, text: message.content } });
  const started = Date.now();
  const end = (event: FinalEvent) => {
    send(event);
    close();
  };
  void (async () => {
    while (!stopped) {
      await Bun.sleep(POLL_MS);
      if (stopped) return;
      const row = await getMessage(deps.sql, userId, message.id).catch(() => undefined);
      if (row === undefined) continue; // database hiccup: try again
      if (row === null) {
        return end({ event: 'error', data: { message, error: { code: 'not_found', message: 'The reply was deleted' } } });
      }
      if (row.content.length > sent) {
        send({ event: 'delta', data: { id: row.id, text: row.content.slice(sent) } });
        sent = row.content.length;
      }
      if (row.status !== 'streaming') return end(finalEvent(row));
      if (Date.now() - started > deps.config.ai.timeoutMs * 10) {
        return end({ event: 'error', data: { message: row, error: { code: 'provider_timeout', message: 'The reply stopped making progress' } } });
      }
    }
  })();
  return () => {
    stopped = true;
  };
}
