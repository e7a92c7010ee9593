/**
 * Rooms on two Parley processes behind nginx on one PostgreSQL (tests/support/cluster.ts):
 * a member's room stream open on B ends at once when they are removed through A, when their
 * session is signed out through A, and when their account is disabled in the database (the
 * triggers' notifications reach every instance's stream registry); and a message posted
 * through A reaches a stream on B.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Client, signUp, via } from '../support/client';
import { startParleyCluster, type ParleyCluster } from '../support/cluster';
import { eventually } from '../support/eventually';

let c: ParleyCluster;
let A: string;
let B: string;

beforeAll(async () => {
  c = await startParleyCluster({ instances: 2 });
  A = c.instanceUrl(0);
  B = c.instanceUrl(1);
}, 90_000);

afterAll(async () => {
  await c?.stop();
}, 30_000);

/** A room event stream: its text as it comes, and whether it ended. */
async function stream(client: Client, roomId: string) {
  const res = await client.request('GET', `/api/rooms/${roomId}/events`);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const state = { text: '', ended: false };
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        state.text += decoder.decode(value, { stream: true });
      }
    } catch {
      /* cancelled */
    }
    state.ended = true;
  })();
  return {
    state,
    /** True when the stream ends within `ms`. */
    endsWithin: (ms: number) => Promise.race([done.then(() => true), Bun.sleep(ms).then(() => false)]),
    cancel: () => reader.cancel().catch(() => {}),
  };
}

describe('room streams across two instances', () => {
  test('removed, signed out or disabled through A: the member’s stream on B ends at once; messages cross over', async () => {
    const owner = await signUp(A, 'owner');
    const removed = await signUp(A, 'removed');
    const leaving = await signUp(A, 'leaving');
    const disabled = await signUp(A, 'disabled');
    const created = await owner.client.json('POST', '/api/rooms', { name: 'Cluster room', visibility: 'private' });
    expect(created.status).toBe(201);
    const roomId = (created.body as { room: { id: string } }).room.id;
    for (const m of [removed, leaving, disabled]) {
      expect((await owner.client.json('POST', `/api/rooms/${roomId}/members`, { email: m.email })).status).toBe(201);
    }
    const onB = {
      owner: await stream(via(owner.client, B), roomId),
      removed: await stream(via(removed.client, B), roomId),
      leaving: await stream(via(leaving.client, B), roomId),
      disabled: await stream(via(disabled.client, B), roomId),
    };

    // A message through A reaches B's streams.
    const id = crypto.randomUUID();
    expect((await owner.client.json('POST', `/api/rooms/${roomId}/messages`, { id, content: 'hello across' })).status).toBe(201);
    await eventually(() => onB.removed.state.text.includes(id), { message: 'the message on B' });

    expect((await owner.client.request('DELETE', `/api/rooms/${roomId}/members/${removed.user.id}`)).status).toBe(204);
    expect(await onB.removed.endsWithin(3000)).toBe(true);

    const out = await leaving.client.request('POST', '/api/auth/logout');
    await out.body?.cancel();
    expect(out.status).toBe(204);
    expect(await onB.leaving.endsWithin(3000)).toBe(true);

    await c.sql`update users set disabled = true where id = ${disabled.user.id}`;
    expect(await onB.disabled.endsWithin(3000)).toBe(true);

    // The owner's stream is untouched by all of it.
    expect(onB.owner.state.ended).toBe(false);
    await onB.owner.cancel();
  }, 60_000);
});
