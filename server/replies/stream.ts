/**
 * Attaching a client to a reply: a generation in this process (live), a reply that is
 * already final (replayed), or one generating in another instance (followed by polling
 * its row). Every client gets `start`, one `delta` with the text so far, then live events.
 */
import type { Message } from '../threads/model';
import * as q from '../threads/queries';
import type { Generation, ReplyEvent } from './generations';
import type { ReplyDeps } from './service';
import type { Send } from './sse';

export type Source =
  | { kind: 'live'; generation: Generation }
  | { kind: 'final'; message: Message; text: string; final: ReplyEvent }
  | { kind: 'poll'; message: Message };

const clean = (m: Message): Message => ({ ...m, content: '' });

/** Where a client attaching to this assistant message gets its events from. */
export async function sourceFor(deps: ReplyDeps, message: Message): Promise<Source> {
  const live = deps.generations.get(message.id);
  if (live) return { kind: 'live', generation: live };
  if (message.status === 'streaming') return { kind: 'poll', message };
  return finalSource(message);
}

function finalEvent(message: Message): ReplyEvent {
  return message.status === 'error'
    ? { event: 'error', data: { message, error: { code: 'provider_error', message: message.error ?? 'The reply failed' } } }
    : { event: 'done', data: { message } };
}

function finalSource(message: Message): Source {
  return { kind: 'final', message, text: message.content, final: finalEvent(message) };
}

/** Feeds a client: everything so far (`start`, one `delta` with the text so far), then live events. */
export function attach(deps: ReplyDeps, userId: string, source: Source, send: Send): () => void {
  if (source.kind === 'final') {
    send({ event: 'start', data: { message: clean(source.message) } });
    if (source.text) send({ event: 'delta', data: { id: source.message.id, text: source.text } });
    send(source.final);
    return () => {};
  }
  if (source.kind === 'live') {
    const g = source.generation;
    send({ event: 'start', data: { message: clean(g.message) } });
    if (g.text) send({ event: 'delta', data: { id: g.messageId, text: g.text } });
    if (g.final) {
      send(g.final);
      return () => {};
    }
    return g.subscribe(send);
  }
  return pollAttach(deps, userId, source.message, send);
}

/** A reply generating in another instance: follow its row until it is final. */
function pollAttach(deps: ReplyDeps, userId: string, message: Message, send: Send): () => void {
  let stopped = false;
  let sent = message.content.length;
  send({ event: 'start', data: { message: clean(message) } });
  if (message.content) send({ event: 'delta', data: { id: message.id, text: message.content } });
  const started = Date.now();
  void (async () => {
    while (!stopped) {
      await Bun.sleep(500);
      if (stopped) return;
      const row = await q.getMessage(deps.sql, userId, message.id).catch(() => undefined);
      if (row === undefined) continue; // database hiccup: try again
      if (row === null) {
        send({ event: 'error', data: { message, error: { code: 'not_found', message: 'The reply was deleted' } } });
        return;
      }
      if (row.content.length > sent) {
        send({ event: 'delta', data: { id: row.id, text: row.content.slice(sent) } });
        sent = row.content.length;
      }
      if (row.status !== 'streaming') {
        send(finalEvent(row));
        return;
      }
      if (Date.now() - started > deps.config.ai.timeoutMs * 10) {
        send({ event: 'error', data: { message: row, error: { code: 'provider_timeout', message: 'The reply stopped making progress' } } });
        return;
      }
    }
  })();
  return () => {
    stopped = true;
  };
}
