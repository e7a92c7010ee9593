/**
 * Quotas: per-account token balances with a periodic grant, and the append-only ledger
 * (`quota_transactions`: grant, debit, adjust) whose sum is the balance.
 *
 * No double spend: a request first takes a *hold* (an estimate of what it will use)
 * under the account's quota row lock, and is refused while balance minus the holds in
 * flight is at or below zero. When it ends it settles: the real use is debited and the
 * hold released, under the same lock. Concurrent requests (any instance) therefore stop
 * at most one request below zero. Holds older than HOLD_TTL (a crashed process) expire.
 */
import type { Sql, Tx } from '../db';
import { HttpError } from '../errors';
import { rolePermissions, type Role } from '../auth/permissions';
import type { Quota, QuotaUpdate } from './model';

type Db = Sql | Tx;
export type Source = 'reply' | 'image' | 'speech' | 'transcription';

const HOLD_TTL_TEXT = '15 minutes';
const HOLD_TTL = `interval '${HOLD_TTL_TEXT}'`;

/** Rough tokens of a text where the provider reports none (about four characters a token). */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);
/** What a reply may use beyond its prompt, set aside while it runs. */
export const REPLY_HOLD = 1000;
/** An image generation, counted in tokens (providers report no usage for images). */
export const IMAGE_TOKENS = 1000;

interface Row {
  balance: string | null;
  grantTokens: string | null;
  period: Quota['period'];
  nextGrantAt: string | null;
}

const num = (v: string | number | null) => (v === null ? null : Number(v));
const view = (r: Row): Quota => ({
  balance: num(r.balance),
  grant: num(r.grantTokens),
  period: r.period,
  nextGrantAt: r.nextGrantAt,
});

const nextBoundary = (tx: Db, period: NonNullable<Quota['period']>) =>
  tx`date_trunc(${period}, now()) + ${'1 ' + period}::interval`;

/**
 * The account's quota row, locked, created from its role's default on first use (with a
 * `grant` transaction for the starting balance) and refilled when its period came round.
 */
async function lockQuota(tx: Tx, userId: string): Promise<Row | null> {
  const [user] = await tx<{ role: Role }[]>`select role from users where id = ${userId}`;
  if (!user) return null;
  let [row] = await tx<Row[]>`
    select balance, grant_tokens, period, next_grant_at from quotas where user_id = ${userId} for update`;
  if (!row) {
    const { defaultQuota: d } = await rolePermissions(tx, user.role);
    [row] = await tx<Row[]>`
      insert into quotas (user_id, balance, grant_tokens, period, next_grant_at)
      values (${userId}, ${d.balance}, ${d.grant}, ${d.period},
              ${d.period && d.grant !== null ? nextBoundary(tx, d.period) : null})
      on conflict (user_id) do nothing
      returning balance, grant_tokens, period, next_grant_at`;
    if (!row) return lockQuota(tx, userId); // created concurrently: lock that one
    if (d.balance !== null) {
      await tx`
        insert into quota_transactions (user_id, kind, tokens, balance_after, note)
        values (${userId}, 'grant', ${d.balance}, ${d.balance}, ${'starting balance (' + user.role + ')'})`;
    }
  }
  if (row.period && row.grantTokens !== null && row.nextGrantAt && new Date(row.nextGrantAt) <= new Date()) {
    const before = Number(row.balance ?? 0);
    const grant = Number(row.grantTokens);
    [row] = await tx<Row[]>`
      update quotas set balance = ${grant}, next_grant_at = ${nextBoundary(tx, row.period)}, updated_at = now()
      where user_id = ${userId} returning balance, grant_tokens, period, next_grant_at`;
    await tx`
      insert into quota_transactions (user_id, kind, tokens, balance_after, note)
      values (${userId}, 'grant', ${grant - before}, ${grant}, ${'period grant (' + row!.period + ')'})`;
  }
  return row!;
}

export function quotaExceeded(quota: Quota) {
  const renews = quota.nextGrantAt
    ? `it renews on ${new Date(quota.nextGrantAt).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })}`
    : 'ask your admin for more';
  const which = quota.period ? `this ${quota.period}'s` : 'your';
  return new HttpError(429, 'quota_exceeded', `You have used ${which} allowance; ${renews}.`);
}

export interface Hold {
  id: string | null;
  userId: string;
}

/**
 * Whether the account's quota is unlimited now, as parley_quota_reserve would find it: a quota
 * row without a balance and no period grant due (a due grant may set one). An SQL expression,
 * read-only, taking no lock: an unlimited account sets nothing aside, so a reply, which reads it
 * with its thread (conversations/queries.ts postLookup), skips `reserve`.
 */
export const unlimitedSql = (sql: Sql | Tx, userId: string) => sql`exists(
    select 1 from quotas
    where user_id = ${userId} and balance is null
      and not (period is not null and grant_tokens is not null and next_grant_at is not null and next_grant_at <= now()))`;

/**
 * Sets `tokens` aside for a request about to call a provider, or throws 429
 * quota_exceeded when the balance left (minus other requests in flight) is at or below 0.
 */
export async function reserve(sql: Sql, userId: string, tokens: number): Promise<Hold> {
  const amount = Math.max(1, Math.ceil(tokens));
  // The common case in one round trip (sql/0014_quota_reserve.sql: the same lock, then the same sum).
  const [fast] = await sql<(Row & { outcome: 'slow' | 'unlimited' | 'exceeded' | 'held'; holdId: string | null })[]>`
    select * from parley_quota_reserve(${userId}, ${amount}, ${HOLD_TTL_TEXT}::interval)`;
  if (fast?.outcome === 'unlimited') return { id: null, userId };
  if (fast?.outcome === 'held') return { id: fast.holdId, userId };
  if (fast?.outcome === 'exceeded') throw quotaExceeded(view(fast));
  // No quota row yet, or its period grant is due: create or refill it, under the same lock.
  return sql.begin(async (tx) => {
    const row = await lockQuota(tx, userId);
    if (!row || row.balance === null) return { id: null, userId };
    const [held] = await tx<{ n: string }[]>`
      select coalesce(sum(tokens), 0)::text as n from quota_holds
      where user_id = ${userId} and created_at > now() - ${tx.unsafe(HOLD_TTL)}`;
    if (Number(row.balance) - Number(held!.n) <= 0) throw quotaExceeded(view(row));
    const [hold] = await tx<{ id: string }[]>`
      insert into quota_holds (user_id, tokens) values (${userId}, ${amount}) returning id`;
    return { id: hold!.id, userId };
  });
}

export interface Use {
  tokensIn: number;
  tokensOut: number;
  source: Source;
  model?: string | null;
  messageId?: string | null;
}

/** Debits what a request used (one ledger row and the day's usage) and releases its hold. */
export async function settle(sql: Sql, hold: Hold, use: Use) {
  const tokensIn = Math.max(0, Math.round(use.tokensIn));
  const tokensOut = Math.max(0, Math.round(use.tokensOut));
  // The common case in one round trip (sql/0014_quota_reserve.sql: the same lock and the same writes).
  const [fast] = await sql<{ outcome: 'slow' | 'settled' }[]>`
    select parley_quota_settle(${hold.userId}, ${hold.id}, ${tokensIn}, ${tokensOut}, ${use.source},
                               ${use.messageId ?? null}, ${use.model ?? null}) as outcome`;
  if (fast?.outcome === 'settled') return;
  // No quota row yet, or its period grant is due: create or refill it first, under the same lock.
  await sql.begin(async (tx) => {
    const row = await lockQuota(tx, hold.userId);
    if (hold.id) await tx`delete from quota_holds where id = ${hold.id}`;
    if (!row) return; // the account is gone
    const spent = tokensIn + tokensOut;
    const [after] = await tx<{ balance: string | null }[]>`
      update quotas set balance = balance - ${spent}, updated_at = now()
      where user_id = ${hold.userId} returning balance`;
    await tx`
      insert into quota_transactions (user_id, kind, tokens, balance_after, tokens_in, tokens_out, source, message_id, model)
      values (${hold.userId}, 'debit', ${-spent}, ${after!.balance}, ${tokensIn}, ${tokensOut}, ${use.source},
              ${use.messageId ?? null}, ${use.model ?? null})`;
    await tx`
      insert into usage_daily (day, user_id, model, tokens_in, tokens_out, replies)
      values ((now() at time zone 'UTC')::date, ${hold.userId}, ${use.model ?? ''}, ${tokensIn}, ${tokensOut},
              ${use.source === 'reply' ? 1 : 0})
      on conflict (day, user_id, model) do update set
        tokens_in = usage_daily.tokens_in + excluded.tokens_in,
        tokens_out = usage_daily.tokens_out + excluded.tokens_out,
        replies = usage_daily.replies + excluded.replies`;
  });
}

/**
 * Compiles the quota functions in this connection's backend (called for no account: they find
 * no quota row and answer 'slow' without writing anything), so a reply's first reserve and
 * settle on a new connection do not pay for it (server/db.ts warmPool).
 */
export async function warmQuota(sql: Sql) {
  const nobody = '00000000-0000-0000-0000-000000000000';
  await sql`select * from parley_quota_reserve(${nobody}, 1, ${HOLD_TTL_TEXT}::interval)`;
  await sql`select parley_quota_settle(${nobody}, null, 0, 0, 'reply', null, null)`;
}

/** Releases a hold without debiting (the request failed before any provider work). */
export async function release(sql: Sql, hold: Hold) {
  if (hold.id) await sql`delete from quota_holds where id = ${hold.id}`;
}

/** Runs `work` under a hold, debiting `use(result)` afterwards; a throw releases the hold. */
export async function metered<T>(sql: Sql, userId: string, estimate: number, work: () => Promise<T>, use: (result: T) => Use) {
  const hold = await reserve(sql, userId, estimate);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await release(sql, hold).catch(() => {});
    throw error;
  }
  await settle(sql, hold, use(result));
  return result;
}

export async function getQuota(sql: Sql, userId: string): Promise<Quota | null> {
  return sql.begin(async (tx) => {
    const row = await lockQuota(tx, userId);
    return row ? view(row) : null;
  });
}

/** Use this period (since the last grant boundary, or this month when there is no period). */
export async function usedThisPeriod(sql: Sql, userId: string, quota: Quota) {
  const period = quota.period ?? 'month';
  const [row] = await sql<{ tokensIn: string; tokensOut: string }[]>`
    select coalesce(sum(tokens_in), 0)::text as tokens_in, coalesce(sum(tokens_out), 0)::text as tokens_out
    from usage_daily where user_id = ${userId} and day >= date_trunc(${period}, now())::date`;
  return { tokensIn: Number(row!.tokensIn), tokensOut: Number(row!.tokensOut) };
}

/** An admin (or the integration API) sets a quota: one `adjust` transaction with who and why. */
export async function setQuota(sql: Sql, userId: string, change: QuotaUpdate, actorId: string | null, note = '') {
  return sql.begin(async (tx) => {
    const row = await lockQuota(tx, userId);
    if (!row) return null;
    const balance = change.balance !== undefined ? change.balance : num(row.balance);
    const grant = change.grant !== undefined ? change.grant : num(row.grantTokens);
    const period = change.period !== undefined ? change.period : row.period;
    const periodChanged = change.period !== undefined && change.period !== row.period;
    const [updated] = await tx<Row[]>`
      update quotas set balance = ${balance}, grant_tokens = ${grant}, period = ${period},
        next_grant_at = ${
          period && grant !== null
            ? periodChanged || !row.nextGrantAt
              ? nextBoundary(tx, period)
              : row.nextGrantAt
            : null
        },
        updated_at = now()
      where user_id = ${userId} returning balance, grant_tokens, period, next_grant_at`;
    if (balance !== null) {
      // Whatever the ledger said before (an unlimited account's debits included), it sums to the new balance.
      const [sum] = await tx<{ n: string }[]>`
        select coalesce(sum(tokens), 0)::text as n from quota_transactions where user_id = ${userId}`;
      const delta = balance - Number(sum!.n);
      await tx`
        insert into quota_transactions (user_id, kind, tokens, balance_after, note, actor_id)
        values (${userId}, 'adjust', ${delta}, ${balance},
                ${note || change.note || `set balance ${balance}, grant ${grant ?? 'none'} per ${period ?? 'no period'}`},
                ${actorId})`;
    } else {
      await tx`
        insert into quota_transactions (user_id, kind, tokens, balance_after, note, actor_id)
        values (${userId}, 'adjust', 0, null, ${note || change.note || 'set unlimited'}, ${actorId})`;
    }
    return view(updated!);
  });
}
