import { describe, expect, test } from 'bun:test';
import { messageBody, outboxEntry } from './outgoing';

describe('outgoing', () => {
  test('an outbox entry keeps the message id; only the first of a thread names its parent', () => {
    const first = outboxEntry('t', 'm1', '  hi  ', 'p', [{ id: 'f1' }, { id: '' }], true)!;
    expect(first).toMatchObject({ id: 'm1', threadId: 't', content: 'hi', parentId: 'p', attachments: [{ id: 'f1' }] });
    const next = outboxEntry('t', 'm2', 'again', 'p', [], false)!;
    expect('parentId' in next).toBe(false);
    expect('attachments' in next).toBe(false);
    expect(outboxEntry('t', 'm3', '   ', null, [], true)).toBeNull();
  });

  test('the POST body: parentId only when given (null = a new first message), file ids only', () => {
    expect(messageBody('m', 'hi', undefined, [])).toEqual({ id: 'm', content: 'hi' });
    expect(messageBody('m', 'hi', null, [{ id: 'f' }])).toEqual({ id: 'm', content: 'hi', parentId: null, attachments: [{ id: 'f' }] });
  });
});
