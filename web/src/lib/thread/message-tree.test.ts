import { describe, expect, test } from 'bun:test';
import { MessageTree, ROOT, mergeable, parentKey } from './message-tree';

let clock = 0;
const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
function msg(id: string, parentId: string | null, role = 'user', createdAt = at(++clock), status = 'complete') {
  return { id, parentId, role, createdAt, status };
}

describe('MessageTree', () => {
  test('path follows the latest child at each level by default', () => {
    const tree = new MessageTree([msg('u1', null), msg('a1', 'u1', 'assistant'), msg('a2', 'u1', 'assistant'), msg('u2', 'a2')]);
    expect(tree.path().map((m) => m.id)).toEqual(['u1', 'a2', 'u2']);
  });

  test('a selection picks an older branch, and the path continues under it', () => {
    const tree = new MessageTree([msg('u1', null), msg('a1', 'u1', 'assistant'), msg('u1b', 'a1'), msg('a2', 'u1', 'assistant')]);
    expect(tree.path({ u1: 'a1' }).map((m) => m.id)).toEqual(['u1', 'a1', 'u1b']);
    // A selection naming a message that is not a child there is ignored.
    expect(tree.path({ u1: 'nope' }).map((m) => m.id)).toEqual(['u1', 'a2']);
  });

  test('equal times are ordered by id, whatever order the messages came in', () => {
    const t = at(100);
    const a = [msg('r', null, 'user', at(1)), msg('b', 'r', 'assistant', t), msg('a', 'r', 'assistant', t)];
    const one = new MessageTree(a).path().map((m) => m.id);
    const two = new MessageTree([...a].reverse()).path().map((m) => m.id);
    expect(one).toEqual(['r', 'b']);
    expect(two).toEqual(one);
  });

  test('system messages are left out', () => {
    const tree = new MessageTree([msg('s', null, 'system', at(0)), msg('u', null, 'user', at(1))]);
    expect(tree.path().map((m) => m.id)).toEqual(['u']);
    expect(tree.children(ROOT).map((m) => m.id)).toEqual(['u']);
  });

  test('branchOf and sibling say where a version sits and step between versions', () => {
    const u = msg('u', null);
    const a1 = msg('a1', 'u', 'assistant');
    const a2 = msg('a2', 'u', 'assistant');
    const a3 = msg('a3', 'u', 'assistant');
    const tree = new MessageTree([a3, u, a1, a2]);
    expect(tree.branchOf(a2)).toEqual({ index: 1, count: 3 });
    expect(tree.sibling(a2, -1)?.id).toBe('a1');
    expect(tree.sibling(a2, 1)?.id).toBe('a3');
    expect(tree.sibling(a3, 1)).toBeUndefined();
    expect(tree.branchOf(msg('lonely', 'x'))).toEqual({ index: 0, count: 1 });
  });

  test('a cycle in bad data ends the path instead of looping', () => {
    const tree = new MessageTree([msg('a', null), msg('b', 'a'), { ...msg('a', 'b') }]);
    expect(tree.path().length).toBeLessThanOrEqual(3);
  });

  test('an empty conversation has an empty path', () => {
    expect(new MessageTree([]).path()).toEqual([]);
    expect(parentKey({ parentId: null })).toBe(ROOT);
  });
});

describe('mergeable', () => {
  test('skips the reply being streamed here and never turns a final message back to streaming', () => {
    const held = {
      done: msg('done', null, 'assistant', at(1), 'complete'),
      live: msg('live', null, 'assistant', at(2), 'streaming'),
    };
    const incoming = [
      msg('done', null, 'assistant', at(1), 'streaming'),
      msg('live', null, 'assistant', at(2), 'complete'),
      msg('new', null, 'user', at(3)),
    ];
    expect(mergeable(held, incoming, 'live').map((m) => m.id)).toEqual(['new']);
    // Without a live reply, a final copy replaces a streaming one.
    expect(mergeable(held, incoming, null).map((m) => m.id)).toEqual(['live', 'new']);
  });
});
