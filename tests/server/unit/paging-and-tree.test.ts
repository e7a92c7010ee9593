/** Unit tier: keyset-paging cursors (server/infra/paging.ts) and message-tree order (server/conversations/tree.ts). */
import { describe, expect, test } from 'bun:test';
import { parseCursor, takePage } from '../../../server/infra/paging';
import { parentsFirst } from '../../../server/conversations/tree';

const ID = '0b9d6c1e-2f3a-4b5c-8d7e-9f0a1b2c3d4e';

describe('cursors', () => {
  test('"<micros>_<uuid>" splits in two; anything else is null', () => {
    expect(parseCursor(`1764460000123456_${ID}`)).toEqual(['1764460000123456', ID]);
    for (const bad of ['', ID, `_${ID}`, `12_${ID}x`, `-1_${ID}`, `1.5_${ID}`, '12_not-a-uuid', `12_${ID}_3`]) {
      expect([bad, parseCursor(bad)]).toEqual([bad, null]);
    }
  });

  test('takePage: a full page plus one row gives the last row’s cursor; fewer give none; cursors are dropped', () => {
    const rows = [1, 2, 3, 4].map((n) => ({ n, cursor: `c${n}` }));
    expect(takePage(rows, 3)).toEqual({ page: [{ n: 1 }, { n: 2 }, { n: 3 }], nextCursor: 'c3' });
    expect(takePage(rows.slice(0, 3), 3)).toEqual({ page: [{ n: 1 }, { n: 2 }, { n: 3 }], nextCursor: null });
    expect(takePage([], 3)).toEqual({ page: [], nextCursor: null });
  });
});

describe('parentsFirst', () => {
  const m = (id: string, parentId: string | null) => ({ id, parentId });

  test('every message comes after its parent, whatever the input order; nothing is lost or doubled', () => {
    const input = [m('d', 'c'), m('b', 'a'), m('c', 'b'), m('a', null), m('e', 'a')];
    const out = parentsFirst(input);
    expect(out.map((x) => x.id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    const index = new Map(out.map((x, i) => [x.id, i]));
    for (const x of out) if (x.parentId) expect(index.get(x.parentId)!).toBeLessThan(index.get(x.id)!);
  });

  test('already ordered input keeps its order; unknown parents and cycles do not hang', () => {
    const ordered = [m('a', null), m('b', 'a'), m('c', 'b')];
    expect(parentsFirst(ordered)).toEqual(ordered);
    expect(parentsFirst([m('x', 'missing'), m('y', 'x')]).map((x) => x.id)).toEqual(['x', 'y']);
    expect(parentsFirst([m('p', 'q'), m('q', 'p')]).map((x) => x.id).sort()).toEqual(['p', 'q']);
  });
});
