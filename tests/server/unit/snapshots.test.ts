/** Unit tier: what a share keeps of a thread (server/shares/snapshot.ts), pure. */
import { describe, expect, test } from 'bun:test';
import type { ThreadMessage } from '../../../server/conversations/queries';
import { attachmentIds, snapshotMessages } from '../../../server/shares/snapshot';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s)).toISOString();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const F1 = '11111111-1111-4111-8111-111111111111';
const F2 = '22222222-2222-4222-8222-222222222222';

function msg(id: string, parentId: string | null, over: Partial<ThreadMessage> = {}): ThreadMessage {
  return { id, parentId, role: 'user', content: id, status: 'complete', model: null, createdAt: at(0), attachments: [], ...over };
}

describe('attachmentIds', () => {
  test('distinct, lower-cased file ids; malformed entries are ignored', () => {
    const messages = [
      msg('a', null, { attachments: [{ id: F1.toUpperCase() }, { id: F2 }] }),
      msg('b', 'a', { attachments: [{ id: F1 }, { id: 'not-a-uuid' }, { id: 42 }, {}] }),
      msg('c', 'b', { attachments: null as never }),
    ];
    expect(attachmentIds(messages).sort()).toEqual([F1, F2]);
  });
});

describe('snapshotMessages', () => {
  test('streaming and system messages are left out; children hang from the nearest kept ancestor', () => {
    const messages = [
      msg('sys', null, { role: 'system' }),
      msg('u1', 'sys', { createdAt: at(1) }),
      msg('a1', 'u1', { role: 'assistant', status: 'streaming', createdAt: at(2) }),
      msg('u2', 'a1', { createdAt: at(3) }),
      msg('a2', 'u2', { role: 'assistant', model: 'openai:gpt-4o-mini', status: 'error', createdAt: at(4) }),
    ];
    const out = snapshotMessages(messages, new Map());
    expect(out.map((m) => m.content)).toEqual(['u1', 'u2', 'a2']);
    const [u1, u2, a2] = out;
    expect(u1!.parentId).toBeNull(); // its parent (the system message) is left out
    expect(u2!.parentId).toBe(u1!.id); // its parent (the streaming reply) is left out
    expect(a2!.parentId).toBe(u2!.id);
    expect(a2).toMatchObject({ role: 'assistant', status: 'error', model: 'openai:gpt-4o-mini', createdAt: at(4) });
  });

  test('ids are fresh (the owner’s never leave their account) and consistent between parent and child', () => {
    const messages = [msg('u1', null), msg('a1', 'u1', { role: 'assistant' })];
    const out = snapshotMessages(messages, new Map());
    for (const m of out) {
      expect(m.id).toMatch(UUID);
      expect(['u1', 'a1']).not.toContain(m.id);
    }
    expect(out[1]!.parentId).toBe(out[0]!.id);
    expect(snapshotMessages(messages, new Map())[0]!.id).not.toBe(out[0]!.id);
  });

  test('attachments keep only files the share can show, described by the file rows', () => {
    const shown = { id: F1, mime: 'image/png', name: 'a.png', size: 10 };
    const messages = [msg('u1', null, { attachments: [{ id: F1.toUpperCase() }, { id: F2 }, { id: 7 }] })];
    const [m] = snapshotMessages(messages, new Map([[F1, shown]]));
    expect(m!.attachments).toEqual([shown]);
  });

  test('a parent cycle in stored data does not hang; unknown parents become roots', () => {
    const messages = [msg('x', 'y', { status: 'streaming' }), msg('y', 'x', { status: 'streaming' }), msg('z', 'x'), msg('w', 'gone')];
    const out = snapshotMessages(messages, new Map());
    expect(out.map((m) => [m.content, m.parentId])).toEqual([
      ['z', null],
      ['w', null],
    ]);
  });
});
