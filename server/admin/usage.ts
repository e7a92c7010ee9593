/**
 * Usage and the ledger as the admin reads them. Usage comes from `usage_daily` (one row
 * per day, account and model, kept in the debit's transaction), so a period costs a few
 * rows per day however long the ledger grows; cost applies the admin's per-model prices
 * (per million tokens) at read time, so a price change re-prices history.
 */
import type { Sql } from '../db';
import { keyset, parseCursor, takePage } from '../infra/paging';
import { log } from '../log';
import type { Providers } from '../providers/types';
import type { GroupBy, Prices, Transaction, Usage, UsageRow } from './model';

export async function listTransactions(
  sql: Sql,
  query: { userId?: string; kind?: string; from?: string; to?: string; limit?: number; before?: string },
) {
  const limit = query.limit ?? 50;
  const page = keyset(sql, 'created_at', 'id');
  const before = query.before ? parseCursor(query.before) : null;
  const rows = await sql<(Transaction & { cursor: string })[]>`
    select id, user_id, kind, tokens::float8 as tokens, balance_after::float8 as balance_after,
      tokens_in::float8 as tokens_in, tokens_out::float8 as tokens_out, source, message_id, model, note, actor_id,
      created_at, ${page.cursor}
    from quota_transactions
    where true
      ${query.userId ? sql`and user_id = ${query.userId}` : sql``}
      ${query.kind ? sql`and kind = ${query.kind}` : sql``}
      ${query.from ? sql`and created_at >= ${query.from}::date` : sql``}
      ${query.to ? sql`and created_at < ${query.to}::date + 1` : sql``}
      ${page.after(before)}
    order by created_at desc, id desc
    limit ${limit + 1}`;
  const { page: transactions, nextCursor } = takePage(rows, limit);
  return { transactions, nextCursor };
}

export async function usage(sql: Sql, from: string, to: string, groupBy: GroupBy = 'day'): Promise<Usage> {
  const key = {
    day: sql`to_char(d.day, 'YYYY-MM-DD')`,
    month: sql`to_char(d.day, 'YYYY-MM')`,
    user: sql`d.user_id::text`,
    model: sql`d.model`,
  }[groupBy];
  const label = {
    day: sql`to_char(d.day, 'YYYY-MM-DD')`,
    month: sql`to_char(min(d.day), 'FMMonth YYYY')`,
    user: sql`coalesce(nullif(max(u.name), ''), max(u.email), 'deleted account')`,
    model: sql`coalesce(nullif(d.model, ''), 'unknown')`,
  }[groupBy];
  // Summed per (key, model) in float8 first (bigint sums are numeric, far slower), then priced.
  const rows = await sql<{ key: string; label: string; tokensIn: number; tokensOut: number; replies: number; cost: number }[]>`
    with g as (
      select ${key} as key, ${label} as label, d.model,
        sum(d.tokens_in::float8) as tin, sum(d.tokens_out::float8) as tout, sum(d.replies::float8) as replies
      from usage_daily d
      ${groupBy === 'user' ? sql`left join users u on u.id = d.user_id` : sql``}
      where d.day between ${from}::date and ${to}::date
      group by ${key}, d.model
    )
    select g.key, min(g.label) as label, sum(g.tin) as tokens_in, sum(g.tout) as tokens_out, sum(g.replies) as replies,
      coalesce(sum((g.tin * p.input::float8 + g.tout * p.output::float8) / 1000000), 0) as cost
    from g left join model_prices p on p.model = g.model
    group by g.key
    order by ${groupBy === 'day' || groupBy === 'month' ? sql`1` : sql`6 desc, sum(g.tin) + sum(g.tout) desc, 1`}`;
  const out: UsageRow[] = rows.map((r) => ({ ...r, cost: round(r.cost) }));
  const totals = out.reduce(
    (t, r) => ({
      tokensIn: t.tokensIn + r.tokensIn,
      tokensOut: t.tokensOut + r.tokensOut,
      replies: t.replies + r.replies,
      cost: round(t.cost + r.cost),
    }),
    { tokensIn: 0, tokensOut: 0, replies: 0, cost: 0 },
  );
  return { rows: out, totals };
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** RFC 4180 CSV; cells that a spreadsheet would run as a formula are quoted with a leading '. */
export function usageCsv(data: Usage) {
  const cell = (v: string | number) => {
    let s = String(v);
    if (/^[=+\-@\t\r]/.test(s) && typeof v === 'string') s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [['key', 'label', 'tokensIn', 'tokensOut', 'replies', 'cost']];
  for (const r of data.rows) lines.push([r.key, r.label, r.tokensIn, r.tokensOut, r.replies, r.cost].map(cell) as string[]);
  lines.push(['total', 'total', ...[data.totals.tokensIn, data.totals.tokensOut, data.totals.replies, data.totals.cost].map(String)]);
  return lines.map((l) => l.join(',')).join('\r\n') + '\r\n';
}

export async function getPrices(sql: Sql): Promise<Prices> {
  const rows = await sql<{ model: string; input: number; output: number }[]>`
    select model, input::float8 as input, output::float8 as output from model_prices order by model`;
  return Object.fromEntries(rows.map((r) => [r.model, { input: r.input, output: r.output }]));
}

/** PUT /api/admin/prices: the whole table (models left out lose their price). */
export async function setPrices(sql: Sql, prices: Prices) {
  await sql.begin(async (tx) => {
    await tx`delete from model_prices`;
    for (const [model, p] of Object.entries(prices)) {
      await tx`insert into model_prices (model, input, output) values (${model}, ${p.input}, ${p.output})`;
    }
  });
  return getPrices(sql);
}

/**
 * A short written account of the period by the default model: the figures by week, user
 * and model go in as a table; the model writes two or three sentences about them.
 */
export async function summarize(deps: { sql: Sql; providers: Providers }, adminId: string, from: string, to: string) {
  const [byDay, byUser, byModel] = await Promise.all([
    usage(deps.sql, from, to, 'day'),
    usage(deps.sql, from, to, 'user'),
    usage(deps.sql, from, to, 'model'),
  ]);
  if (byDay.totals.tokensIn + byDay.totals.tokensOut === 0) return `No usage between ${from} and ${to}.`;
  const table = (u: Usage) =>
    u.rows.map((r) => `${r.label}: ${r.tokensIn} in, ${r.tokensOut} out, ${r.replies} replies, cost ${r.cost}`).join('\n');
  const prompt = [
    `Usage of an AI assistant from ${from} to ${to}. Totals: ${byDay.totals.tokensIn} tokens in, ${byDay.totals.tokensOut} out, ${byDay.totals.replies} replies, cost ${byDay.totals.cost}.`,
    `By day:\n${table(byDay)}`,
    `By person:\n${table(byUser)}`,
    `By model:\n${table(byModel)}`,
    'Write two or three plain sentences for the administrator: how spending changed over the period (with percentages), and who and which model drove it. No lists, no headings.',
  ].join('\n\n');
  const { defaultModel } = await deps.providers.models(adminId);
  if (!defaultModel) return fallbackSummary(byDay, byUser, byModel);
  let text = '';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  try {
    for await (const event of deps.providers.stream(adminId, defaultModel, [{ role: 'user', content: prompt }], controller.signal)) {
      if (event.type === 'delta') text += event.text;
      else if (event.type === 'error') throw new Error(event.message);
      else if (event.type === 'done') break;
    }
  } catch (error) {
    log.warn('usage summary failed', { error: String(error) });
    return fallbackSummary(byDay, byUser, byModel);
  } finally {
    clearTimeout(timer);
  }
  return text.trim() || fallbackSummary(byDay, byUser, byModel);
}

/** Said plainly from the figures when no model can write it. */
function fallbackSummary(byDay: Usage, byUser: Usage, byModel: Usage) {
  const total = byDay.totals.tokensIn + byDay.totals.tokensOut;
  const top = (u: Usage) => [...u.rows].sort((a, b) => b.tokensIn + b.tokensOut - (a.tokensIn + a.tokensOut))[0];
  const user = top(byUser);
  const model = top(byModel);
  return `${total} tokens over ${byDay.rows.length} active days; most by ${user?.label ?? 'nobody'}, mostly on ${model?.label ?? 'no model'}.`;
}
