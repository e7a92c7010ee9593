/**
 * The pool warmed at start-up (server/index.ts: warmPool + warmQuota): every connection is
 * open and the quota functions have run in each backend, and warming writes nothing.
 * Real PostgreSQL only (the embedded database has one connection and is not warmed).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { POOL_SIZE, warmPool, type Database } from '../../server/db';
import { warmQuota } from '../../server/quota/service';
import { migratedDatabase } from '../support/postgres';

let db: Database;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, close } = await migratedDatabase('warm'));
}, 60_000);
afterAll(() => close());

test.skipIf(process.env.PARLEY_TEST_DB === 'embedded')('warming opens the whole pool, runs the quota functions in each backend and writes nothing', async () => {
  expect(db.poolSize).toBe(POOL_SIZE);
  const backends = new Set<number>();
  await warmPool(db.sql, db.poolSize, async (connection) => {
    await warmQuota(connection);
    const [row] = await connection<{ pid: number }[]>`select pg_backend_pid() as pid`;
    backends.add(row!.pid);
  });
  // Each warm ran on its own connection: as many backends as the pool's size.
  expect(backends.size).toBe(POOL_SIZE);
  const [open] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend'`;
  expect(open!.n).toBeGreaterThanOrEqual(POOL_SIZE);
  const [written] = await db.sql<{ quotas: number; holds: number; ledger: number; usage: number }[]>`
    select (select count(*) from quotas)::int as quotas, (select count(*) from quota_holds)::int as holds,
           (select count(*) from quota_transactions)::int as ledger, (select count(*) from usage_daily)::int as usage`;
  expect(written).toEqual({ quotas: 0, holds: 0, ledger: 0, usage: 0 });
});

test.skipIf(process.env.PARLEY_TEST_DB === 'embedded')('a warm that fails leaves the pool usable', async () => {
  await warmPool(db.sql, 3, async (connection) => {
    await connection`select * from no_such_table`;
  });
  const [row] = await db.sql<{ one: number }[]>`select 1 as one`;
  expect(row!.one).toBe(1);
});
