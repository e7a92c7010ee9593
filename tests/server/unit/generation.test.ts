/** Unit tier: a reply in flight (server/replies/generations.ts), without a provider or database. */
import { describe, expect, test } from 'bun:test';
import { Generation, Generations } from '../../../server/replies/generations';
import type { ReplyEvent } from '../../../server/replies/types';
import type { Message } from '../../../server/threads/model';

const draft = (): Message => ({
  id: crypto.randomUUID(),
  threadId: crypto.randomUUID(),
  parentId: null,
  role: 'assistant',
  content: '',
  status: 'streaming',
  model: 'openai:gpt-4o-mini',
  error: null,
  createdAt: new Date(0).toISOString(),
  attachments: [],
  tokensIn: null,
  tokensOut: null,
  reasoning: '',
  toolCalls: [],
  sources: [],
});

function client(g: Generation) {
  const events: ReplyEvent[] = [];
  let ended = false;
  const detach = g.attach((e) => events.push(e), () => (ended = true));
  return { events, names: () => events.map((e) => e.event), ended: () => ended, detach };
}

describe('Generation', () => {
  test('a client attached from the start gets start, live deltas, done, title, then the end', async () => {
    const g = new Generation('u', draft());
    const c = client(g);
    g.append('Hel');
    g.append('lo');
    const final = { ...g.message, content: g.text, status: 'complete' as const };
    g.finish({ event: 'done', data: { message: final } });
    await g.finished;
    expect(c.ended()).toBe(false); // completion steps may still speak
    g.note({ event: 'title', data: { threadId: g.threadId, title: 'Greeting' } });
    g.end();
    await g.settled;
    expect(c.names()).toEqual(['start', 'delta', 'delta', 'done', 'title']);
    expect(c.ended()).toBe(true);
    expect((c.events[0] as { data: { message: Message } }).data.message.content).toBe('');
    expect(g.message).toEqual(final);
    expect(g.listenerCount).toBe(0);
  });

  test('a late client gets the text so far in one delta, then what it missed, and nothing twice', () => {
    const g = new Generation('u', draft());
    g.append('one ');
    g.append('two ');
    const late = client(g);
    expect(late.names()).toEqual(['start', 'delta']);
    expect(late.events[1]).toEqual({ event: 'delta', data: { id: g.messageId, text: 'one two ' } });
    g.append('three');
    g.finish({ event: 'done', data: { message: { ...g.message, content: g.text, status: 'complete' } } });
    g.note({ event: 'title', data: { threadId: g.threadId, title: 'Counting' } });
    const later = client(g); // after done, before the end
    expect(later.names()).toEqual(['start', 'delta', 'done', 'title']);
    g.end();
    const last = client(g); // after the end: a replay, ended at once
    expect(last.names()).toEqual(['start', 'delta', 'done', 'title']);
    expect(last.ended()).toBe(true);
    expect(late.names()).toEqual(['start', 'delta', 'delta', 'done', 'title']);
  });

  test('detaching stops events; a throwing client is dropped without hurting the others', () => {
    const g = new Generation('u', draft());
    const a = client(g);
    const b = client(g);
    let thrown = 0;
    g.attach((e) => {
      if (e.event === 'delta') {
        thrown++;
        throw new Error('socket gone');
      }
    }, () => {});
    expect(g.listenerCount).toBe(3);
    a.detach();
    g.append('x');
    g.append('y');
    expect(thrown).toBe(1); // dropped on its first failing live event
    expect(a.names()).toEqual(['start']);
    expect(b.names()).toEqual(['start', 'delta', 'delta']);
    expect(g.listenerCount).toBe(1);
  });

  test('cancel marks it cancelled and aborts; stop aborts without cancelling; the first final state wins', () => {
    const a = new Generation('u', draft());
    a.cancel();
    expect([a.cancelled, a.signal.aborted, a.signal.reason]).toEqual([true, true, 'cancelled']);
    const b = new Generation('u', draft());
    b.stop('thread deleted');
    expect([b.cancelled, b.signal.aborted, b.signal.reason]).toEqual([false, true, 'thread deleted']);
    const c = client(b);
    const m = b.message;
    b.finish({ event: 'done', data: { message: { ...m, status: 'cancelled' } } });
    b.finish({ event: 'error', data: { message: { ...m, status: 'error' }, error: { code: 'x', message: 'x' } } });
    expect(c.names()).toEqual(['start', 'done']);
    expect(b.message.status).toBe('cancelled');
  });
});

describe('Generations', () => {
  test('a generation is found while it runs, stopped by thread or user, and let go when it ends', async () => {
    const registry = new Generations();
    const one = new Generation('alice', draft());
    const two = new Generation('bob', draft());
    registry.add(one);
    registry.add(two);
    expect(registry.get(one.messageId)).toBe(one);
    registry.cancelThread('bob', one.threadId); // someone else's thread: nothing stops
    expect(one.signal.aborted).toBe(false);
    registry.cancelThread('alice', one.threadId);
    expect([one.signal.aborted, two.signal.aborted]).toEqual([true, false]);
    registry.cancelUser('bob');
    expect(two.signal.reason).toBe('account deleted');
    const drained = registry.drain();
    one.end();
    two.end();
    await drained;
    expect(registry.get(one.messageId)).toBeNull();
    expect(registry.get(two.messageId)).toBeNull();
  });
});
