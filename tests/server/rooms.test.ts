/**
 * Rooms: membership and who may do what (someone else's private room is absent on
 * every route), posting (idempotent, capped, rate-limited), the event stream's exact
 * replay (`since` and Last-Event-ID), the assistant called in by a mention (streamed
 * to everyone, one at a time, failures shown), and two instances on one PostgreSQL
 * behaving as one (LISTEN/NOTIFY).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { Client, signUp, via } from '../support/client';
import { startFakeProvider, type FakeProvider } from '../support/fake-provider';
import { embedded, startServer, type TestServer } from '../support/server';
import { eventually } from '../support/eventually';
import { loadConfig } from '../../server/config';
import { openDatabase } from '../../server/db';
import { createApp } from '../../server/app';
import { postgresBus } from '../../server/infra/notify';
import type { RoomEvent, RoomMessage } from '../../server/rooms/model';
import { mentionsAssistant } from '../../server/common/rooms';
import { roomContext } from '../../server/rooms/assistant';

let fake: FakeProvider;
let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeProvider();
  env = {
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    OPENAI_API_KEY: 'server-openai-key',
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    PROVIDER_TIMEOUT_MS: '3000',
  };
  server = await startServer(env);
}, 60_000);
afterAll(async () => {
  await server.stop();
  fake.stop();
}, 30_000);
afterEach(() => fake.reset());

type Ev = { event: RoomEvent['event']; data: any; id: string | null };

/** Reads a room's event stream, with the SSE ids. */
class Events {
  events: Ev[] = [];
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = '';
  #decoder = new TextDecoder();
  constructor(res: Response) {
    this.#reader = res.body!.getReader();
  }
  async next(): Promise<Ev | null> {
    for (;;) {
      const end = this.#buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        let event = '';
        let id: string | null = null;
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('id:')) id = line.slice(3).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trimStart();
        }
        if (!data) continue;
        const ev = { event: event as Ev['event'], data: JSON.parse(data), id };
        this.events.push(ev);
        return ev;
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }
  /** Reads until `check` passes on the events so far. */
  async until(check: (events: Ev[]) => boolean, timeout = 8000) {
    const deadline = performance.now() + timeout;
    while (!check(this.events)) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`events never matched; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      const ev = await Promise.race([this.next(), Bun.sleep(left).then(() => 'timeout' as const)]);
      if (ev === null) throw new Error('stream ended');
    }
    return this.events;
  }
  close() {
    void this.#reader.cancel().catch(() => {});
  }
}

async function openEvents(client: Client, roomId: string, since?: number, headers: Record<string, string> = {}) {
  const res = await client.request('GET', `/api/rooms/${roomId}/events${since === undefined ? '' : `?since=${since}`}`, undefined, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  return new Events(res);
}

async function newRoom(client: Client, body: Record<string, unknown> = {}) {
  const res = await client.json('POST', '/api/rooms', { name: 'Kitchen', visibility: 'private', ...body });
  expect(res.status).toBe(201);
  return (res.body as any).room as { id: string; seq: number; ownerId: string };
}

async function say(client: Client, roomId: string, content: string, id: string = crypto.randomUUID()) {
  return client.json('POST', `/api/rooms/${roomId}/messages`, { id, content });
}

const messagesOf = async (client: Client, roomId: string) =>
  ((await client.json('GET', `/api/rooms/${roomId}/messages?limit=200`)).body as any).messages as RoomMessage[];

describe('rooms and members', () => {
  test('create, read, rename, delete; the owner is a member; public rooms are listed for everyone, private ones only for members', async () => {
    const owner = await signUp(server.url, 'owner');
    const other = await signUp(server.url, 'other');
    const priv = await newRoom(owner.client, { name: 'Family', description: 'Just us', systemPrompt: 'Be brief.' });
    const pub = await newRoom(owner.client, { name: 'Lobby', visibility: 'public' });
    const mine = (await owner.client.json('GET', '/api/rooms')).body as any;
    expect(mine.rooms.map((r: any) => r.name).sort()).toEqual(['Family', 'Lobby']);
    const fam = mine.rooms.find((r: any) => r.name === 'Family');
    expect(fam).toMatchObject({ description: 'Just us', systemPrompt: 'Be brief.', memberCount: 1, joined: true, ownerId: owner.user.id });
    const theirs = (await other.client.json('GET', '/api/rooms')).body as any;
    expect(theirs.rooms.map((r: any) => r.id)).toEqual([pub.id]);
    expect(theirs.rooms[0].joined).toBe(false);

    const renamed = await owner.client.json('PATCH', `/api/rooms/${priv.id}`, { name: 'Family room' });
    expect((renamed.body as any).room.name).toBe('Family room');
    expect((await owner.client.json('PATCH', `/api/rooms/${priv.id}`, { name: '   ' })).status).toBe(400);
    expect((await owner.client.request('DELETE', `/api/rooms/${pub.id}`)).status).toBe(204);
    expect((await owner.client.request('GET', `/api/rooms/${pub.id}`)).status).toBe(404);
  });

  test('someone else’s private room is absent on every route (404), and their public room cannot be changed (403)', async () => {
    const owner = await signUp(server.url, 'owner');
    const stranger = await signUp(server.url, 'stranger');
    const room = await newRoom(owner.client);
    const pub = await newRoom(owner.client, { visibility: 'public' });
    await say(owner.client, room.id, 'secret plans');
    const msgId = (await messagesOf(owner.client, room.id))[0]!.id;
    const routes: [string, string, unknown?][] = [
      ['GET', `/api/rooms/${room.id}`],
      ['PATCH', `/api/rooms/${room.id}`, { name: 'mine now' }],
      ['DELETE', `/api/rooms/${room.id}`],
      ['GET', `/api/rooms/${room.id}/members`],
      ['POST', `/api/rooms/${room.id}/members`, { email: stranger.email }],
      ['DELETE', `/api/rooms/${room.id}/members/${owner.user.id}`],
      ['POST', `/api/rooms/${room.id}/join`],
      ['GET', `/api/rooms/${room.id}/messages`],
      ['POST', `/api/rooms/${room.id}/messages`, { id: crypto.randomUUID(), content: 'hi' }],
      ['DELETE', `/api/rooms/${room.id}/messages/${msgId}`],
      ['POST', `/api/rooms/${room.id}/typing`],
      ['GET', `/api/rooms/${room.id}/events`],
    ];
    for (const [method, path, body] of routes) {
      const res = await stranger.client.request(method, path, body);
      expect(`${method} ${path} → ${res.status}`).toBe(`${method} ${path} → 404`);
    }
    expect((await messagesOf(owner.client, room.id)).map((m) => m.content)).toEqual(['secret plans']);
    for (const [method, path, body] of [
      ['PATCH', `/api/rooms/${pub.id}`, { name: 'mine now' }],
      ['DELETE', `/api/rooms/${pub.id}`],
      ['POST', `/api/rooms/${pub.id}/members`, { email: stranger.email }],
    ] as const) {
      expect((await stranger.client.request(method, path, body)).status).toBe(403);
    }
    // Signed out: 401 before anything.
    expect((await new Client(server.url).request('GET', `/api/rooms/${pub.id}`)).status).toBe(401);
  });

  test('the owner adds members by email; a member can read and post but not manage; members leave; the owner cannot', async () => {
    const owner = await signUp(server.url, 'owner');
    const kid = await signUp(server.url, 'kid');
    const room = await newRoom(owner.client);
    expect((await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: 'nobody@example.test' })).body).toMatchObject({
      error: { fields: { email: expect.any(String) } },
    });
    const added = await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: kid.email.toUpperCase() });
    expect(added.status).toBe(201);
    expect((await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: kid.email })).status).toBe(409);
    expect((await say(kid.client, room.id, 'hello')).status).toBe(201);
    expect((await kid.client.json('PATCH', `/api/rooms/${room.id}`, { name: 'x' })).status).toBe(403);
    expect((await kid.client.request('DELETE', `/api/rooms/${room.id}/members/${owner.user.id}`)).status).toBe(403);
    const members = ((await kid.client.json('GET', `/api/rooms/${room.id}/members`)).body as any).members;
    expect(members.map((m: any) => m.role).sort()).toEqual(['member', 'owner']);
    expect((await owner.client.request('DELETE', `/api/rooms/${room.id}/members/${owner.user.id}`)).status).toBe(409);
    expect((await kid.client.request('DELETE', `/api/rooms/${room.id}/members/${kid.user.id}`)).status).toBe(204);
    expect((await kid.client.request('GET', `/api/rooms/${room.id}`)).status).toBe(404);
  });

  test('a restricted account sees and uses only the rooms it was added to, and starts none', async () => {
    const owner = await signUp(server.url, 'parent');
    const child = await signUp(server.url, 'child');
    await server.db.sql`update users set role = 'restricted' where id = ${child.user.id}`;
    const pub = await newRoom(owner.client, { name: 'Open to all', visibility: 'public' });
    const family = await newRoom(owner.client, { name: 'Family' });
    await owner.client.json('POST', `/api/rooms/${family.id}/members`, { email: child.email });
    const listed = ((await child.client.json('GET', '/api/rooms')).body as any).rooms.map((r: any) => r.name);
    expect(listed).toEqual(['Family']);
    for (const [method, path, body] of [
      ['GET', `/api/rooms/${pub.id}`],
      ['POST', `/api/rooms/${pub.id}/join`],
      ['POST', `/api/rooms/${pub.id}/messages`, { id: crypto.randomUUID(), content: 'hi' }],
      ['GET', `/api/rooms/${pub.id}/events`],
    ] as const) {
      expect(`${method} ${path} → ${(await child.client.request(method, path, body)).status}`).toBe(`${method} ${path} → 404`);
    }
    expect((await child.client.json('POST', '/api/rooms', { name: 'Mine', visibility: 'public' })).status).toBe(403);
    expect((await say(child.client, family.id, 'hello from the child')).status).toBe(201);
  });

  test('anyone may join a public room (posting there joins it too)', async () => {
    const owner = await signUp(server.url, 'owner');
    const a = await signUp(server.url, 'a');
    const b = await signUp(server.url, 'b');
    const pub = await newRoom(owner.client, { visibility: 'public' });
    expect((await a.client.json('POST', `/api/rooms/${pub.id}/join`)).status).toBe(201);
    expect((await say(b.client, pub.id, 'hi all')).status).toBe(201);
    const members = ((await owner.client.json('GET', `/api/rooms/${pub.id}/members`)).body as any).members;
    expect(members).toHaveLength(3);
  });
});

describe('messages', () => {
  test('posting is idempotent on the client id; another member cannot reuse it; bad input names the field', async () => {
    const owner = await signUp(server.url, 'owner');
    const other = await signUp(server.url, 'other');
    const room = await newRoom(owner.client, { visibility: 'public' });
    const id = crypto.randomUUID();
    const first = await say(owner.client, room.id, 'once', id);
    const again = await say(owner.client, room.id, 'once', id);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect((again.body as any).message.id).toBe(id);
    expect((await say(other.client, room.id, 'hijack', id)).status).toBe(409);
    expect((await messagesOf(owner.client, room.id)).map((m) => m.content)).toEqual(['once']);
    const long = await say(owner.client, room.id, 'x'.repeat(4001));
    expect(long.status).toBe(400);
    expect(JSON.stringify(long.body)).toContain('content');
    expect((await say(owner.client, room.id, '   ')).status).toBe(400);
    expect((await owner.client.json('POST', `/api/rooms/${room.id}/messages`, { id: 'nope', content: 'x' })).status).toBe(400);
  });

  test('a member is rate-limited (429), and what was posted before stays', async () => {
    const owner = await signUp(server.url, 'owner');
    const room = await newRoom(owner.client);
    let limited = 0;
    for (let i = 0; i < 22; i++) if ((await say(owner.client, room.id, `m${i}`)).status === 429) limited++;
    expect(limited).toBe(2);
    expect(await messagesOf(owner.client, room.id)).toHaveLength(20);
  });

  test('the owner removes a message: its text is gone for everyone, live', async () => {
    const owner = await signUp(server.url, 'owner');
    const member = await signUp(server.url, 'member');
    const room = await newRoom(owner.client);
    await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: member.email });
    const rude = ((await say(member.client, room.id, 'something rude')).body as any).message as RoomMessage;
    const watching = await openEvents(member.client, room.id, rude.seq);
    expect((await owner.client.request('DELETE', `/api/rooms/${room.id}/messages/${rude.id}`)).status).toBe(204);
    await watching.until((evs) => evs.some((e) => e.event === 'message' && e.data.message.id === rude.id));
    watching.close();
    const stored = (await messagesOf(member.client, room.id)).find((m) => m.id === rude.id)!;
    expect(stored).toMatchObject({ status: 'removed', content: '' });
  });
});

describe('events', () => {
  test('a removed member’s open stream ends at once, and deleting the room ends everyone’s', async () => {
    const owner = await signUp(server.url, 'owner');
    const member = await signUp(server.url, 'member');
    const room = await newRoom(owner.client);
    await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: member.email });
    const mine = await openEvents(owner.client, room.id);
    const theirs = await openEvents(member.client, room.id);
    await mine.until((evs) => evs.some((e) => e.event === 'presence' && e.data.userId === member.user.id && e.data.online));
    expect((await owner.client.request('DELETE', `/api/rooms/${room.id}/members/${member.user.id}`)).status).toBe(204);
    const ended = async (events: Events) => {
      for (;;) if ((await events.next()) === null) return true;
    };
    expect(await Promise.race([ended(theirs), Bun.sleep(3000).then(() => false)])).toBe(true);
    expect((await member.client.request('GET', `/api/rooms/${room.id}/events`)).status).toBe(404);
    expect((await owner.client.request('DELETE', `/api/rooms/${room.id}`)).status).toBe(204);
    expect(await Promise.race([ended(mine), Bun.sleep(3000).then(() => false)])).toBe(true);
  }, 15_000);

  test('signing out ends that session’s room streams at once; disabling an account ends all of its streams', async () => {
    const owner = await signUp(server.url, 'owner');
    const member = await signUp(server.url, 'member');
    const room = await newRoom(owner.client);
    await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: member.email });
    const ended = async (events: Events) => {
      for (;;) if ((await events.next()) === null) return true;
    };
    const within = (events: Events) => Promise.race([ended(events), Bun.sleep(3000).then(() => false)]);
    // Registered in the app's stream registry, like reply streams.
    const before = server.app.streams.size;
    const mine = await openEvents(owner.client, room.id);
    expect(server.app.streams.size).toBe(before + 1);
    const out = await owner.client.request('POST', '/api/auth/logout');
    await out.body?.cancel();
    expect(await within(mine)).toBe(true);
    await eventually(() => server.app.streams.size === before, { message: 'the stream left the registry' });

    // An admin disables the member: every stream of theirs ends (other instances hear the
    // users table's trigger; tests/cluster covers that path for the registry).
    const admin = await signUp(server.url, 'admin');
    await server.db.sql`update users set role = 'admin' where id = ${admin.user.id}`;
    const theirs = await openEvents(member.client, room.id);
    const res = await admin.client.json('PATCH', `/api/admin/users/${member.user.id}`, { disabled: true });
    expect(res.status).toBe(200);
    expect(await within(theirs)).toBe(true);
  }, 15_000);

  test('since= replays exactly what came after it, each once, in seq order, with the seq as the SSE id; Last-Event-ID works too', async () => {
    const owner = await signUp(server.url, 'owner');
    const room = await newRoom(owner.client);
    const posted: RoomMessage[] = [];
    for (const text of ['one', 'two', 'three']) posted.push(((await say(owner.client, room.id, text)).body as any).message);
    const all = await openEvents(owner.client, room.id, 0);
    await all.until((evs) => evs.filter((e) => e.event === 'message').length >= 3);
    all.close();
    const replayed = all.events.filter((e) => e.event === 'message');
    expect(replayed.map((e) => e.data.message.content)).toEqual(['one', 'two', 'three']);
    expect(replayed.map((e) => Number(e.id))).toEqual(posted.map((m) => m.seq));

    const after = await openEvents(owner.client, room.id, posted[1]!.seq);
    await after.until((evs) => evs.some((e) => e.event === 'message'));
    await say(owner.client, room.id, 'four');
    await after.until((evs) => evs.filter((e) => e.event === 'message').length >= 2);
    after.close();
    expect(after.events.filter((e) => e.event === 'message').map((e) => e.data.message.content)).toEqual(['three', 'four']);

    const resumed = await openEvents(owner.client, room.id, undefined, { 'last-event-id': String(posted[0]!.seq) });
    await resumed.until((evs) => evs.filter((e) => e.event === 'message').length >= 3);
    resumed.close();
    expect(resumed.events.filter((e) => e.event === 'message').map((e) => e.data.message.content)).toEqual(['two', 'three', 'four']);
  });

  test('presence: a member opening the room shows online to the others, and offline when they leave; typing reaches the others', async () => {
    const owner = await signUp(server.url, 'owner');
    const member = await signUp(server.url, 'member');
    const room = await newRoom(owner.client);
    await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: member.email });
    const ownerView = await openEvents(owner.client, room.id);
    const memberView = await openEvents(member.client, room.id);
    await ownerView.until((evs) => evs.some((e) => e.event === 'presence' && e.data.userId === member.user.id && e.data.online));
    const members = ((await owner.client.json('GET', `/api/rooms/${room.id}/members`)).body as any).members;
    expect(members.find((m: any) => m.userId === member.user.id).online).toBe(true);
    expect((await member.client.request('POST', `/api/rooms/${room.id}/typing`)).status).toBe(204);
    await ownerView.until((evs) => evs.some((e) => e.event === 'typing' && e.data.userId === member.user.id));
    memberView.close();
    await ownerView.until((evs) => evs.some((e) => e.event === 'presence' && e.data.userId === member.user.id && !e.data.online));
    ownerView.close();
    await eventually(async () => {
      const now = ((await owner.client.json('GET', `/api/rooms/${room.id}/members`)).body as any).members;
      expect(now.find((m: any) => m.userId === member.user.id).online).toBe(false);
    });
  });

  test('presence: a stream opened after another member arrived says who is here, before live events', async () => {
    const owner = await signUp(server.url, 'owner');
    const member = await signUp(server.url, 'member');
    const room = await newRoom(owner.client);
    await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: member.email });
    // The member's arrival note has been delivered (a first view of the owner's got it) before
    // the owner's second view opens: that one hears it from the snapshot or not at all.
    const first = await openEvents(owner.client, room.id);
    const memberView = await openEvents(member.client, room.id);
    await first.until((evs) => evs.some((e) => e.event === 'presence' && e.data.userId === member.user.id && e.data.online));
    first.close();
    const ownerView = await openEvents(owner.client, room.id);
    await ownerView.until((evs) => evs.some((e) => e.event === 'presence' && e.data.userId === member.user.id && e.data.online));
    memberView.close();
    await ownerView.until((evs) => evs.some((e) => e.event === 'presence' && e.data.userId === member.user.id && !e.data.online));
    ownerView.close();
    // And one who left: a new stream says so.
    const again = await openEvents(owner.client, room.id);
    await again.until((evs) => evs.some((e) => e.event === 'presence' && e.data.userId === member.user.id));
    again.close();
    expect(again.events.find((e) => e.event === 'presence' && e.data.userId === member.user.id)!.data.online).toBe(false);
  });
});

describe('the assistant', () => {
  test('mentions that call it, and text that does not', () => {
    for (const yes of ['@ai what time is it', 'hey @assistant', 'ai: summarise', 'AI : hi', 'Hey AI, help', 'hey, ai what now', 'thanks (@ai)']) {
      expect(`${yes}: ${mentionsAssistant(yes)}`).toBe(`${yes}: true`);
    }
    for (const no of ['said ai: later', 'email@ai.com', 'maintain', 'the aim is', 'hey aiden', 'paid: yes']) {
      expect(`${no}: ${mentionsAssistant(no)}`).toBe(`${no}: false`);
    }
  });

  test('a mention is answered once, streamed to every member, with the room’s prompt and names attributed', async () => {
    const owner = await signUp(server.url, 'Alice');
    const member = await signUp(server.url, 'Bob');
    const room = await newRoom(owner.client, { systemPrompt: 'You are the family helper.' });
    await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: member.email });
    await say(member.client, room.id, 'I think pasta tonight');
    const bobSees = await openEvents(member.client, room.id);
    fake.chat.script({ chunks: ['Pasta ', 'sounds ', 'good, ', 'Alice.'], chunkDelayMs: 30 });
    const res = await say(owner.client, room.id, '@ai what should we cook?');
    expect(res.status).toBe(201);
    const events = await bobSees.until((evs) => evs.some((e) => e.event === 'done'));
    bobSees.close();
    const reply = events.find((e) => e.event === 'done')!.data.message as RoomMessage;
    expect(reply).toMatchObject({ role: 'assistant', status: 'complete', content: 'Pasta sounds good, Alice.' });
    const deltas = events.filter((e) => e.event === 'delta' && e.data.id === reply.id);
    expect(deltas.length).toBeGreaterThan(0);
    // The deltas, joined, are the reply: nothing lost or doubled.
    const streamed = events
      .filter((e) => (e.event === 'delta' && e.data.id === reply.id) || (e.event === 'message' && e.data.message.id === reply.id))
      .reduce((text, e) => (e.event === 'delta' ? text + e.data.text : e.data.message.content), '');
    expect(streamed).toBe(reply.content);
    const seqs = events.filter((e) => e.id !== null).map((e) => Number(e.id));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);

    expect(fake.chat.requests).toHaveLength(1);
    const sent = fake.chat.requests[0]!.messages;
    expect(String(sent[0]!.content)).toContain('You are the family helper.');
    expect(sent.slice(1).map((m) => m.content)).toEqual([expect.stringMatching(/^Bob.*: I think pasta tonight$/), expect.stringMatching(/^Alice.*: @ai what should we cook\?$/)]);
    const stored = await messagesOf(owner.client, room.id);
    expect(stored.find((m) => m.id === reply.id)!.content).toBe('Pasta sounds good, Alice.');
  });

  test('two mentions at once queue: the second reply starts after the first ends, never interleaved', async () => {
    const owner = await signUp(server.url, 'owner');
    const room = await newRoom(owner.client);
    const view = await openEvents(owner.client, room.id);
    fake.chat.script({ chunks: ['A1 ', 'A2 ', 'A3'], chunkDelayMs: 40 }, { chunks: ['B1 ', 'B2 ', 'B3'], chunkDelayMs: 40 });
    await Promise.all([say(owner.client, room.id, '@ai first'), say(owner.client, room.id, '@ai second')]);
    const events = await view.until((evs) => evs.filter((e) => e.event === 'done').length >= 2);
    view.close();
    const dones = events.filter((e) => e.event === 'done').map((e) => e.data.message as RoomMessage);
    expect(dones.map((m) => m.content).sort()).toEqual(['A1 A2 A3', 'B1 B2 B3']);
    const firstDone = events.findIndex((e) => e.event === 'done');
    const second = dones[1]!.id;
    expect(events.slice(0, firstDone).some((e) => e.event === 'delta' && e.data.id === second)).toBe(false);
  });

  test('the provider failing shows an error in the room; the question is kept', async () => {
    const owner = await signUp(server.url, 'owner');
    const room = await newRoom(owner.client);
    const view = await openEvents(owner.client, room.id);
    fake.chat.script({ status: 500, message: 'model exploded' });
    await say(owner.client, room.id, 'hey ai are you there?');
    const events = await view.until((evs) => evs.some((e) => e.event === 'done'));
    view.close();
    const reply = events.find((e) => e.event === 'done')!.data.message as RoomMessage;
    expect(reply.status).toBe('error');
    expect(reply.error).toBeTruthy();
    expect((await messagesOf(owner.client, room.id)).map((m) => m.content)).toContain('hey ai are you there?');
  });

  test('!help lists the commands without calling the provider', async () => {
    const owner = await signUp(server.url, 'owner');
    const room = await newRoom(owner.client);
    await say(owner.client, room.id, '!help');
    const msgs = await messagesOf(owner.client, room.id);
    expect(msgs.find((m) => m.role === 'assistant')!.content).toContain('@ai');
    expect(fake.chat.requests).toHaveLength(0);
  });

  test('deleting the room while the assistant answers stops the provider request', async () => {
    const owner = await signUp(server.url, 'owner');
    const room = await newRoom(owner.client);
    fake.chat.script({ chunks: Array.from({ length: 200 }, (_, i) => `w${i} `), chunkDelayMs: 30 });
    await say(owner.client, room.id, '@ai tell me a long story');
    const request = await fake.chat.waitForRequests(1);
    await eventually(async () => expect((await messagesOf(owner.client, room.id)).some((m) => m.content.startsWith('w0'))).toBe(true));
    expect((await owner.client.request('DELETE', `/api/rooms/${room.id}`)).status).toBe(204);
    await fake.chat.waitForFinish(request);
    expect(request.aborted).toBe(true);
  });

  test('the history given to the model keeps the newest messages within the budget', () => {
    const history = Array.from({ length: 10 }, (_, i) => ({ authorName: `P${i}`, role: 'user' as const, content: 'x'.repeat(100) })).reverse();
    const context = roomContext({ name: 'R', systemPrompt: null }, history, 350);
    expect(context.slice(1).map((m) => String(m.content).split(':')[0])).toEqual(['P7', 'P8', 'P9']);
  });
});

describe('flags on room messages', () => {
  test('a member flags the assistant’s answer in a room; a stranger cannot; the admin sees it in its room with context', async () => {
    const owner = await signUp(server.url, 'Alice');
    const stranger = await signUp(server.url, 'Mallory');
    const reviewer = await signUp(server.url, 'Reviewer');
    await server.db.sql`update users set role = 'admin' where id = ${reviewer.user.id}`;
    const room = await newRoom(owner.client);
    const view = await openEvents(owner.client, room.id);
    fake.chat.script({ text: 'Something questionable' });
    const question = ((await say(owner.client, room.id, '@ai say something')).body as any).message as RoomMessage;
    const events = await view.until((evs) => evs.some((e) => e.event === 'done'));
    view.close();
    const reply = events.find((e) => e.event === 'done')!.data.message as RoomMessage;

    expect((await stranger.client.json('POST', `/api/messages/${reply.id}/flag`, { reason: 'spam' })).status).toBe(404);
    expect((await owner.client.json('POST', `/api/messages/${question.id}/flag`, { reason: 'mine' })).status).toBe(400);
    const flagged = await owner.client.json('POST', `/api/messages/${reply.id}/flag`, { reason: 'Not for children' });
    expect(flagged.status).toBe(201);
    expect((flagged.body as any).flag).toMatchObject({ messageId: reply.id, roomId: room.id, threadId: null, status: 'open' });

    const list = (await reviewer.client.json('GET', '/api/admin/flags?status=open')).body as any;
    const mine = list.flags.find((f: any) => f.messageId === reply.id);
    expect(mine).toMatchObject({ roomId: room.id, excerpt: 'Something questionable' });
    const detail = (await reviewer.client.json('GET', `/api/admin/flags/${mine.id}`)).body as any;
    expect(detail.context.map((m: any) => m.content)).toEqual([expect.stringMatching(/^Alice.*: @ai say something$/), 'Something questionable']);
    // The room gone, its flags go with it.
    expect((await owner.client.request('DELETE', `/api/rooms/${room.id}`)).status).toBe(204);
    expect((await reviewer.client.request('GET', `/api/admin/flags/${mine.id}`)).status).toBe(404);
  });
});

describe.skipIf(embedded)('two instances on one PostgreSQL', () => {
  /** Two instances as server/index.ts makes them: each its own pool and LISTEN connection. */
  async function twoInstances() {
    const instances = [];
    for (let i = 0; i < 2; i++) {
      // (Many accounts register from 127.0.0.1 in this file: the per-IP limit is raised, as startServer does.)
      const config = loadConfig({ ...env, DATA_DIR: server.config.dataDir, DATABASE_URL: server.config.db.url!, PORT: '0', HOST: '127.0.0.1', AUTH_IP_LIMIT: '100000' });
      const db = await openDatabase(config.db);
      const app = createApp({ config, sql: db.sql, bus: postgresBus(db.sql, config.db.url!) });
      await app.bus.ready();
      app.listen({ port: 0, hostname: '127.0.0.1' });
      instances.push({ app, db, url: `http://127.0.0.1:${app.server!.port}` });
    }
    return instances;
  }

  test('removed, or signed out, through A: the member’s stream open through B ends at once', async () => {
    const instances = await twoInstances();
    try {
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
      const owner = await signUp(a.url, 'owner');
      const removed = await signUp(a.url, 'removed');
      const leaving = await signUp(a.url, 'leaving');
      const room = await newRoom(owner.client);
      for (const m of [removed, leaving]) await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: m.email });
      const throughB = async (client: Client) => {
        return openEvents(via(client, b.url), room.id);
      };
      const ended = async (events: Events) => {
        for (;;) if ((await events.next()) === null) return true;
      };
      const within = (events: Events) => Promise.race([ended(events), Bun.sleep(3000).then(() => false)]);
      const removedView = await throughB(removed.client);
      const leavingView = await throughB(leaving.client);
      const ownerView = await throughB(owner.client);
      expect(b.app.streams.size).toBe(3);

      expect((await owner.client.request('DELETE', `/api/rooms/${room.id}/members/${removed.user.id}`)).status).toBe(204);
      expect(await within(removedView)).toBe(true);
      // Signing out through A: the session's trigger tells B, whose registry ends the stream.
      const out = await leaving.client.request('POST', '/api/auth/logout');
      await out.body?.cancel();
      expect(await within(leavingView)).toBe(true);
      await eventually(() => b.app.streams.size === 1, { message: 'only the owner’s stream left on B' });
      ownerView.close();
    } finally {
      for (const i of instances) {
        await i.app.stop(true);
        await i.app.bus.close();
        await i.db.close();
      }
    }
  }, 30_000);

  test('a message posted through A and the assistant’s streamed reply reach a member watching through B, in order, once', async () => {
    const instances = await twoInstances();
    try {
      const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
      const owner = await signUp(a.url, 'owner');
      const member = await signUp(a.url, 'member');
      const room = await newRoom(owner.client);
      await owner.client.json('POST', `/api/rooms/${room.id}/members`, { email: member.email });
      const viaB = via(member.client, b.url);
      const view = await openEvents(viaB, room.id);
      fake.chat.script({ chunks: ['one ', 'two ', 'three ', 'four'], chunkDelayMs: 40 });
      await say(owner.client, room.id, '@ai count to four');
      const events = await view.until((evs) => evs.some((e) => e.event === 'done'));
      view.close();
      const question = events.find((e) => e.event === 'message' && e.data.message.role === 'user')!.data.message;
      expect(question.content).toBe('@ai count to four');
      const reply = events.find((e) => e.event === 'done')!.data.message as RoomMessage;
      expect(reply.content).toBe('one two three four');
      expect(events.some((e) => e.event === 'delta')).toBe(true);
      const seqs = events.filter((e) => e.id !== null).map((e) => Number(e.id));
      expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
    } finally {
      for (const i of instances) {
        await i.app.stop(true);
        await i.app.bus.close();
        await i.db.close();
      }
    }
  }, 30_000);
});
