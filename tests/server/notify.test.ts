/**
 * The bus between instances (server/infra/notify.ts) on a real PostgreSQL of its own:
 * order kept across a burst, payloads from one instance heard by the other, and the
 * listener back by itself after the database restarts. The in-process bus on the
 * embedded database is exercised by every replies test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import postgres from 'postgres';
import { localBus, postgresBus, type Bus, type Payload } from '../../server/infra/notify';
import type { Sql } from '../../server/db';
import { setLogLevel } from '../../server/log';
import { eventually } from '../support/eventually';
import { startCluster, type Cluster } from '../support/postgres';

let pg: Cluster;
let sqlA: Sql;
let sqlB: Sql;
let a: Bus;
let b: Bus;

beforeAll(async () => {
  setLogLevel('silent');
  pg = await startCluster({ durable: true });
  sqlA = postgres(pg.url, { max: 2, onnotice: () => {} }) as unknown as Sql;
  sqlB = postgres(pg.url, { max: 2, onnotice: () => {} }) as unknown as Sql;
  a = postgresBus(sqlA, pg.url);
  b = postgresBus(sqlB, pg.url);
}, 30_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await sqlA?.end({ timeout: 1 });
  await sqlB?.end({ timeout: 1 });
  pg?.destroy();
});

describe('the PostgreSQL bus', () => {
  test('a burst published by one instance reaches the other whole and in order', async () => {
    const got: Payload[] = [];
    const off = b.subscribe('parley_test', (p) => got.push(p));
    await b.ready();
    for (let i = 0; i < 1500; i++) a.publish('parley_test', { i, text: 'x'.repeat(i % 50) });
    await a.flushed();
    await eventually(() => expect(got.length).toBe(1500), { timeout: 10_000 });
    expect(got.map((p) => p.i)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(got.every((p) => p.from === a.instanceId)).toBe(true);
    off();
  }, 30_000);

  test('after PostgreSQL restarts, the listener comes back by itself and says so', async () => {
    const got: Payload[] = [];
    let reconnects = 0;
    b.subscribe('parley_restart', (p) => got.push(p));
    b.onReconnect(() => reconnects++);
    await b.ready();
    pg.pause();
    a.publish('parley_restart', { lost: true }); // the database is away: dropped, not thrown
    await a.flushed();
    pg.resume();
    await eventually(() => expect(reconnects).toBeGreaterThan(0), { timeout: 15_000 });
    a.publish('parley_restart', { after: true });
    await eventually(() => expect(got.some((p) => p.after)).toBe(true), { timeout: 10_000 });
  }, 40_000);
});

describe('the in-process bus', () => {
  test('delivers to its own subscribers, in order, after the current task', async () => {
    const bus = localBus();
    const got: number[] = [];
    bus.subscribe('c', (p) => got.push(p.i as number));
    for (let i = 0; i < 5; i++) bus.publish('c', { i });
    expect(got).toEqual([]);
    await Promise.resolve();
    await eventually(() => expect(got).toEqual([0, 1, 2, 3, 4]));
    expect(bus.shared).toBe(false);
  });
});
