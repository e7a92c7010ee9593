import { describe, expect, test } from 'bun:test';
import { readNotice } from './worker';

const origin = 'https://parley.example';
const threadId = '6f1c2a9e-1d2b-4c3d-8e4f-5a6b7c8d9e0f';

describe('readNotice (what a push may make the worker show and open)', () => {
  test('the server payload gives the title, the first words and the thread path', () => {
    expect(readNotice({ title: 'Trip', body: 'Pack light', threadId, url: `${origin}/t/${threadId}` }, origin)).toEqual({
      title: 'Trip',
      body: 'Pack light',
      threadId,
      url: `/t/${threadId}`,
    });
  });
  test('a url on another origin is never opened: the thread path is used instead', () => {
    expect(readNotice({ title: 'x', threadId, url: 'https://evil.example/t/x' }, origin)?.url).toBe(`/t/${threadId}`);
    expect(readNotice({ title: 'x', threadId, url: 'javascript:alert(1)' }, origin)?.url).toBe(`/t/${threadId}`);
  });
  test('no thread id, or not a payload: nothing to name', () => {
    expect(readNotice({ title: 'x', threadId: '../admin' }, origin)).toBeNull();
    expect(readNotice('text', origin)).toBeNull();
    expect(readNotice(null, origin)).toBeNull();
  });
  test('an empty title reads "New reply"', () => {
    expect(readNotice({ title: '', threadId }, origin)?.title).toBe('New reply');
  });
});

describe('readNotice for a mention in a room', () => {
  const roomId = '0b8c5d2e-3f4a-4b5c-9d6e-7f8a9b0c1d2e';
  test('the room’s page is opened, and one notification is kept per room', () => {
    const notice = readNotice({ title: 'Ada in # Kitchen', body: '@bob look', roomId, url: `${origin}/rooms/${roomId}` }, origin);
    expect(notice).toEqual({ title: 'Ada in # Kitchen', body: '@bob look', threadId: `room:${roomId}`, url: `/rooms/${roomId}` });
    // A tap reads the notification's own data back (threadId `room:<id>`, its url).
    expect(readNotice({ threadId: notice!.threadId, url: notice!.url }, origin)?.url).toBe(`/rooms/${roomId}`);
    expect(readNotice({ roomId, url: 'https://evil.example/x' }, origin)?.url).toBe(`/rooms/${roomId}`);
    expect(readNotice({ roomId: '../admin' }, origin)).toBeNull();
  });
});
