/** The outbox's flush: order, exactly once, what stops it, and what a user removed. */
import { describe, expect, test } from 'bun:test';
import type { OutboxEntry } from './db';
import { flushOutbox, postBody, refusedForGood, type Deliver, type OutboxStore } from './outbox';

let clock = 0;
const entry = (threadId: string, content: string, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({
  id: crypto.randomUUID(),
  threadId,
  content,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString(),
  ...extra,
});

/** An outbox in memory, as IndexedDB would hold it (returned oldest first). */
function memoryStore(entries: OutboxEntry[]): OutboxStore & { entries: Map<string, OutboxEntry> } {
  const map = new Map(entries.map((e) => [e.id, e]));
  return {
    entries: map,
    outbox: async () => [...map.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
    queue: async (e) => void map.set(e.id, e),
    unqueue: async (id) => void map.delete(id),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('flushOutbox', () => {
  test('a thread’s messages go in the order written, each after the previous reply; threads side by side', async () => {
    const a1 = entry('a', 'a1');
    const b1 = entry('b', 'b1');
    const a2 = entry('a', 'a2');
    const store = memoryStore([a1, b1, a2]);
    const log: string[] = [];
    const deliver: Deliver = async (e, stored) => {
      log.push(`start ${e.content}`);
      await stored();
      await tick();
      log.push(`end ${e.content}`);
      return 'sent';
    };
    const result = await flushOutbox(store, deliver);
    expect(result).toEqual({ sent: 3, left: 0, offline: false });
    expect(log.indexOf('start a2')).toBeGreaterThan(log.indexOf('end a1'));
    // b does not wait for a.
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(store.entries.size).toBe(0);
  });

  test('no network: it stops, and everything not stored stays, in order, for next time', async () => {
    const store = memoryStore([entry('a', 'one'), entry('a', 'two')]);
    const tried: string[] = [];
    const result = await flushOutbox(store, async (e) => {
      tried.push(e.content);
      return 'offline';
    });
    expect(result).toEqual({ sent: 0, left: 2, offline: true });
    expect(tried).toEqual(['one']);
    expect([...store.entries.values()].map((e) => e.content)).toEqual(['one', 'two']);
  });

  test('a refused message keeps the reason and holds back the rest of its thread only', async () => {
    const store = memoryStore([entry('a', 'bad'), entry('a', 'after bad'), entry('b', 'fine')]);
    const sent: string[] = [];
    const result = await flushOutbox(store, async (e) => {
      if (e.content === 'bad') return { error: 'is not one of your files' };
      sent.push(e.content);
      return 'sent';
    });
    expect(sent).toEqual(['fine']);
    expect(result).toEqual({ sent: 1, left: 2, offline: false });
    const left = await store.outbox();
    expect(left.map((e) => [e.content, e.error])).toEqual([
      ['bad', 'is not one of your files'],
      ['after bad', undefined],
    ]);
    // Next time the thread is still held back: nothing is sent out of order.
    expect((await flushOutbox(store, async () => 'sent'))?.sent).toBe(0);
  });

  test('removed while an earlier message of its thread was being answered: never sent', async () => {
    const first = entry('a', 'first');
    const regret = entry('a', 'regret');
    const store = memoryStore([first, regret]);
    const sent: string[] = [];
    await flushOutbox(store, async (e, stored) => {
      sent.push(e.content);
      await stored();
      if (e.id === first.id) await store.unqueue(regret.id); // the user taps Remove meanwhile
      return 'sent';
    });
    expect(sent).toEqual(['first']);
  });

  test('stored once, even when the delivery fails after the server had it', async () => {
    const store = memoryStore([entry('a', 'once')]);
    let deliveries = 0;
    const result = await flushOutbox(store, async (_e, stored) => {
      deliveries++;
      await stored();
      throw new Error('the stream broke after the user event');
    });
    // The entry is gone (it is on the server) and is not tried again.
    expect(deliveries).toBe(1);
    expect(store.entries.size).toBe(0);
    expect(result?.left).toBe(0);
  });

  test('written while the flush runs: sent in the same flush', async () => {
    const store = memoryStore([entry('a', 'early')]);
    const sent: string[] = [];
    await flushOutbox(store, async (e) => {
      sent.push(e.content);
      if (e.content === 'early') await store.queue(entry('b', 'late'));
      return 'sent';
    });
    expect(sent).toEqual(['early', 'late']);
  });
});

describe('helpers', () => {
  test('the POST body keeps the client id; parentId only when set (null = a new first message)', () => {
    const e = entry('a', 'hi');
    expect(postBody(e)).toEqual({ id: e.id, content: 'hi' });
    expect(postBody({ ...e, parentId: null })).toEqual({ id: e.id, content: 'hi', parentId: null });
    expect(postBody({ ...e, parentId: 'p', attachments: [{ id: 'f' }] })).toEqual({ id: e.id, content: 'hi', parentId: 'p', attachments: [{ id: 'f' }] });
  });

  test('refused for good: bad input, gone, too large; not: no session yet, conflicts, limits, server errors', () => {
    for (const s of [400, 403, 404, 413, 415]) expect(refusedForGood(s)).toBe(true);
    for (const s of [401, 408, 409, 429, 500, 502, 503]) expect(refusedForGood(s)).toBe(false);
  });

  test('a used-up allowance (429 quota_exceeded) is refused for good: said at once, not retried', () => {
    expect(refusedForGood(429, 'quota_exceeded')).toBe(true);
    expect(refusedForGood(429, 'rate_limited')).toBe(false);
  });
});
