/**
 * Rooms and Web Push: a member mentioned by `@name` gets a notification that opens the
 * room, unless they have the room open in a visible window; nobody else does (not the
 * author, not members who were not named, not accounts outside the room). The local push
 * service (tests/support/push-service) decrypts what Parley sends.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { Client, signUp, via } from '../support/client';
import { eventually } from '../support/eventually';
import { startPushService, type PushService } from '../support/push-service';
import { embedded, startServer, type TestServer } from '../support/server';
import { handlesOf, mentionedHandles, mentions } from '../../server/common/rooms';
import { loadConfig } from '../../server/config';
import { openDatabase } from '../../server/db';
import { createApp } from '../../server/app';

// Deliveries run after the POST has answered: on a loaded machine that takes seconds.
setDefaultTimeout(30_000);

let server: TestServer;
let push: PushService;
beforeAll(async () => {
  push = await startPushService();
  server = await startServer({ PUSH_ALLOWED_HOSTS: push.host });
}, 30_000);
afterAll(async () => {
  await server.stop();
  await push.stop();
});

async function person(name: string) {
  const account = await signUp(server.url, name);
  const sub = push.subscribe();
  expect((await account.client.post('/api/push/subscriptions', { endpoint: sub.endpoint, keys: sub.keys })).status).toBe(201);
  return { ...account, sub };
}

async function roomOf(owner: Client, members: { email: string }[], name = 'Kitchen') {
  const res = await owner.json('POST', '/api/rooms', { name, visibility: 'private' });
  expect(res.status).toBe(201);
  const room = (res.body as { room: { id: string } }).room;
  for (const m of members) expect((await owner.json('POST', `/api/rooms/${room.id}/members`, { email: m.email })).status).toBe(201);
  return room;
}

const say = async (client: Client, roomId: string, content: string) => {
  const res = await client.json('POST', `/api/rooms/${roomId}/messages`, { id: crypto.randomUUID(), content });
  expect(res.status).toBe(201);
  return (res.body as { message: { id: string } }).message.id;
};

const ids = (sub: { id: string }) => push.for(sub.id).map((d) => (d.payload as { messageId: string }).messageId);

describe('mentions', () => {
  test('who a message names: the first word of a name or the whole name, any case; @ai is not a person', () => {
    expect(handlesOf('Ada Lovelace')).toEqual(['ada', 'adalovelace']);
    expect(handlesOf('  ')).toEqual([]);
    expect([...mentionedHandles('hi @Ada, and @bob. (@carol) mail x@dave.org @ai')]).toEqual(['ada', 'bob', 'carol', 'ai']);
    expect(mentions('thanks @AdaLovelace!', 'Ada Lovelace')).toBe(true);
    expect(mentions('email ada@example.org', 'Ada')).toBe(false);
    expect(mentions('@ai what do you think', 'ai')).toBe(false);
    expect(mentions('@adam hello', 'Ada')).toBe(false);
  });
});

describe('a mention in a room', () => {
  test('notifies the member it names, with the room to open; not the author, other members or outsiders', async () => {
    const ada = await person('ada');
    const bob = await person('bob');
    const carol = await person('carol');
    const outsider = await person('dave');
    const room = await roomOf(ada.client, [bob, carol], 'Kitchen');

    const first = await say(ada.client, room.id, '@bob the soup is ready, @ada @dave');
    const [delivery] = await eventually(() => push.for(bob.sub.id).length > 0 && push.for(bob.sub.id), { message: 'bob notified', timeout: 10_000 });
    expect(delivery!.payload).toEqual({
      title: 'ada in # Kitchen',
      body: '@bob the soup is ready, @ada @dave',
      roomId: room.id,
      messageId: first,
      url: `${server.config.http.publicUrl}/rooms/${room.id}`,
    });
    // Then carol is named: hers is the only delivery she has; the author and the outsider got none.
    const second = await say(bob.client, room.id, 'hey @Carol, want some?');
    await eventually(() => ids(carol.sub).length > 0, { message: 'carol notified', timeout: 10_000 });
    expect(ids(carol.sub)).toEqual([second]);
    expect(ids(bob.sub)).toEqual([first]);
    expect(push.for(ada.sub.id)).toEqual([]);
    expect(push.for(outsider.sub.id)).toEqual([]);
    expect(push.failures).toEqual([]);
  });

  test('a member with the room open in a visible window is not notified; hidden (or closed), they are', async () => {
    const ada = await person('ada');
    const bob = await person('bob');
    const room = await roomOf(ada.client, [bob]);
    const abort = new AbortController();
    const stream = await bob.client.request('GET', `/api/rooms/${room.id}/events`, undefined, { signal: abort.signal });
    expect(stream.status).toBe(200);

    await say(ada.client, room.id, '@bob are you there? (watching)');
    // Hidden: the same open stream no longer counts as watching.
    expect((await bob.client.post('/api/push/visibility', { hidden: true })).status).toBe(204);
    const hidden = await say(ada.client, room.id, '@bob are you there? (hidden)');
    await eventually(() => ids(bob.sub).length > 0, { message: 'bob notified while hidden', timeout: 10_000 });
    expect(ids(bob.sub)).toEqual([hidden]);

    // Visible and watching again: nothing; then the room closed: notified.
    expect((await bob.client.post('/api/push/visibility', { hidden: false })).status).toBe(204);
    await say(ada.client, room.id, '@bob are you there? (visible again)');
    abort.abort();
    await stream.body?.cancel().catch(() => {});
    // Closing the stream marks bob offline in the room (presence): wait for that, then mention.
    await eventually(async () => {
      const [row] = await server.db.sql`select online_until from room_members where room_id = ${room.id} and user_id = ${bob.user.id}`;
      return row?.onlineUntil === null;
    }, { message: 'bob offline', timeout: 10_000 });
    const closed = await say(ada.client, room.id, '@bob are you there? (closed)');
    await eventually(() => ids(bob.sub).length > 1, { message: 'bob notified with the room closed', timeout: 10_000 });
    expect(ids(bob.sub)).toEqual([hidden, closed]);
  });
});

describe.skipIf(embedded)('with the room open on another instance', () => {
  test('a mention posted through A is not pushed while the member has the room open through B; closed there, it is', async () => {
    // B: a second app on the same database and DATA_DIR (the same VAPID keys), as index.ts makes one.
    const config = loadConfig({
      DATA_DIR: server.config.dataDir,
      DATABASE_URL: server.config.db.url!,
      PORT: '0',
      HOST: '127.0.0.1',
      AUTH_IP_LIMIT: '100000',
      PUSH_ALLOWED_HOSTS: push.host,
    });
    const db = await openDatabase(config.db);
    const b = createApp({ config, sql: db.sql });
    b.listen({ port: 0, hostname: '127.0.0.1' });
    try {
      const ada = await person('ada');
      const bob = await person('bob');
      const room = await roomOf(ada.client, [bob]);
      const viaB = via(bob.client, `http://127.0.0.1:${b.server!.port}`);
      const abort = new AbortController();
      const stream = await viaB.request('GET', `/api/rooms/${room.id}/events`, undefined, { signal: abort.signal });
      expect(stream.status).toBe(200);
      // B marks bob present in the room (the table every instance reads).
      const present = async (yes: boolean) =>
        eventually(async () => {
          const [row] = await server.db.sql<{ on: boolean }[]>`
            select coalesce(online_until > now(), false) as on from room_members where room_id = ${room.id} and user_id = ${bob.user.id}`;
          return row?.on === yes;
        }, { message: `bob ${yes ? 'present' : 'gone'} in the room`, timeout: 10_000 });
      await present(true);
      await say(ada.client, room.id, '@bob (open on B)');
      abort.abort();
      await stream.body?.cancel().catch(() => {});
      await present(false);
      const closed = await say(ada.client, room.id, '@bob (closed)');
      await eventually(() => ids(bob.sub).length > 0, { message: 'bob notified', timeout: 10_000 });
      expect(ids(bob.sub)).toEqual([closed]);
    } finally {
      await b.stop(true);
      await db.close();
    }
  });
});
