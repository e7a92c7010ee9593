/**
 * Attaching a client to a reply: a generation in this process (live), a reply that is
 * already final (replayed), or one generating in another instance (followed through the
 * relay, over PostgreSQL LISTEN/NOTIFY). Every client gets `start`, one `delta` with the
 * text so far, then live events.
 */
import type { Message } from '../threads/model';
import type { Generation, Generations } from './generations';
import { finalEventOf, type Relay } from './relay';
import type { Feed } from './types';

export type Source =
  | { kind: 'live'; generation: Generation }
  | { kind: 'final'; message: Message }
  | { kind: 'remote'; message: Message };

const clean = (m: Message): Message => ({ ...m, content: '' });

/** Where a client attaching to this assistant message gets its events from. */
export function sourceFor(generations: Generations, message: Message): Source {
  const live = generations.get(message.id);
  if (live) return { kind: 'live', generation: live };
  if (message.status === 'streaming') return { kind: 'remote', message };
  return { kind: 'final', message };
}

/** The feed of a source: everything so far, then live events, then the end. */
export function feedOf(deps: { relay: Relay }, userId: string, source: Source): Feed {
  return (send, close, viewer) => {
    switch (source.kind) {
      case 'live':
        return source.generation.attach(send, close, viewer);
      case 'final':
        send({ event: 'start', data: { message: clean(source.message) } });
        if (source.message.content) send({ event: 'delta', data: { id: source.message.id, text: source.message.content } });
        send(finalEventOf(source.message));
        close();
        return;
      case 'remote':
        // Generating in another instance: its deltas come over LISTEN/NOTIFY (relay.ts).
        return deps.relay.follow(userId, source.message, send, close);
    }
  };
}
