import { describe, expect, test } from 'bun:test';
import { BRANCH_PREFIX, recallBranches, rememberBranches } from './branch-memory';

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
}

describe('branch memory', () => {
  test('a pick is recalled for its thread only', () => {
    const storage = memoryStorage();
    rememberBranches('t1', { root: 'm1', m2: 'm3' }, storage);
    expect(recallBranches('t1', storage)).toEqual({ root: 'm1', m2: 'm3' });
    expect(recallBranches('t2', storage)).toEqual({});
    expect([...storage.items.keys()]).toEqual([`${BRANCH_PREFIX}t1`]);
  });

  test('no picks left: the key goes', () => {
    const storage = memoryStorage();
    rememberBranches('t1', { root: 'm1' }, storage);
    rememberBranches('t1', {}, storage);
    expect(storage.items.size).toBe(0);
  });

  test('a damaged entry reads as no picks', () => {
    const storage = memoryStorage();
    storage.items.set(`${BRANCH_PREFIX}t1`, '{not json');
    expect(recallBranches('t1', storage)).toEqual({});
    storage.items.set(`${BRANCH_PREFIX}t1`, JSON.stringify({ root: 5, m: 'ok' }));
    expect(recallBranches('t1', storage)).toEqual({ m: 'ok' });
    storage.items.set(`${BRANCH_PREFIX}t1`, '["a"]');
    expect(recallBranches('t1', storage)).toEqual({});
  });

  test('no storage at all is not an error', () => {
    expect(recallBranches('t1', undefined)).toEqual({});
    expect(() => rememberBranches('t1', { root: 'm' }, undefined)).not.toThrow();
  });
});
