/**
 * bun run bench:usage — the admin usage endpoint over a ledger of 1,000,000 rows.
 *
 * A real PostgreSQL (tests/support/postgres.ts), the real app on a loopback port, and an
 * admin's session. LEDGER rows (default 1,000,000) of debits are seeded in SQL for USERS
 * accounts (default 200) over the past year on five models; `usage_daily` is filled from
 * them exactly as each debit keeps it. Then, median and worst of RUNS (default 20):
 *   GET /api/admin/usage for the whole year by day, month, user and model, a 30-day range
 *   by day, the CSV export, and the transactions list (first page; one user's; a date range).
 * Target (issue 12): under 200 ms each. Exits 1 when a target is missed.
 */
import { signUp } from '../tests/support/client';
import { startServer } from '../tests/support/server';

const LEDGER = Number(process.env.LEDGER ?? 1_000_000);
const USERS = Number(process.env.USERS ?? 200);
const RUNS = Number(process.env.RUNS ?? 20);
const TARGET_MS = 200;

console.error('starting PostgreSQL and the server…');
const server = await startServer();
const { sql } = server.db;
try {
  const { client: admin } = await signUp(server.url, 'admin');
  console.error(`seeding ${USERS} accounts and ${LEDGER.toLocaleString('en')} ledger rows…`);
  const t0 = performance.now();
  await sql`
    insert into users (email, name, password_hash, role)
    select 'bench-' || i || '@example.test', 'Bench ' || i, 'x', 'user' from generate_series(1, ${USERS}) i`;
  await sql`
    insert into quota_transactions (user_id, kind, tokens, balance_after, tokens_in, tokens_out, source, model, created_at)
    select u.id, 'debit', -(ti + tout), null, ti, tout, 'reply', m, at
    from (
      select (array['openai:gpt-4o-mini','openai:gpt-4o','mistral:mistral-small-latest','mistral:mistral-large-latest','openai:o3'])[1 + (i % 5)] as m,
             (i::bigint * 7919) % ${USERS} as k, 200 + (i % 900) as ti, 50 + (i % 400) as tout,
             now() - (random() * interval '365 days') as at
      from generate_series(1, ${LEDGER}) i
    ) s
    join (select id, row_number() over (order by id) - 1 as k from users where email like 'bench-%') u using (k)`;
  await sql`
    insert into usage_daily (day, user_id, model, tokens_in, tokens_out, replies)
    select (created_at at time zone 'UTC')::date, user_id, model, sum(tokens_in), sum(tokens_out), count(*)
    from quota_transactions where kind = 'debit' group by 1, 2, 3`;
  await sql`analyze`;
  const n = (await sql<{ n: string }[]>`select count(*)::text as n from quota_transactions`)[0]!.n;
  const d = (await sql<{ d: string }[]>`select count(*)::text as d from usage_daily`)[0]!.d;
  console.error(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${n} ledger rows, ${d} daily rollup rows`);

  const today = new Date().toISOString().slice(0, 10);
  const yearAgo = new Date(Date.now() - 365 * 86400_000).toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 30 * 86400_000).toISOString().slice(0, 10);
  const [someone] = await sql<{ id: string }[]>`select id from users where email like 'bench-%' limit 1`;
  const cases: [string, string][] = [
    ['usage, a year by day', `/api/admin/usage?from=${yearAgo}&to=${today}&groupBy=day`],
    ['usage, a year by month', `/api/admin/usage?from=${yearAgo}&to=${today}&groupBy=month`],
    ['usage, a year by user', `/api/admin/usage?from=${yearAgo}&to=${today}&groupBy=user`],
    ['usage, a year by model', `/api/admin/usage?from=${yearAgo}&to=${today}&groupBy=model`],
    ['usage, 30 days by day', `/api/admin/usage?from=${monthAgo}&to=${today}&groupBy=day`],
    ['usage CSV, a year by user', `/api/admin/usage?from=${yearAgo}&to=${today}&groupBy=user&format=csv`],
    ['transactions, first page', `/api/admin/transactions?limit=50`],
    ['transactions, one user', `/api/admin/transactions?userId=${someone!.id}&limit=50`],
    ['transactions, 30 days of debits', `/api/admin/transactions?from=${monthAgo}&to=${today}&kind=debit&limit=50`],
  ];
  const rows: string[] = ['| request | median ms | worst ms |', '|---|---:|---:|'];
  let missed = false;
  for (const [name, path] of cases) {
    const times: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const start = performance.now();
      const res = await admin.get(path);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      if (i >= 2) times.push(performance.now() - start); // two warm-up runs
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const worst = times.at(-1)!;
    if (median > TARGET_MS) missed = true;
    rows.push(`| ${name} | ${median.toFixed(1)} | ${worst.toFixed(1)} |`);
  }
  console.log(`\nAdmin usage over ${Number(n).toLocaleString('en')} ledger rows (${RUNS} runs each, target < ${TARGET_MS} ms)\n`);
  console.log(rows.join('\n'));
  if (missed) process.exitCode = 1;
} finally {
  await server.stop();
}
