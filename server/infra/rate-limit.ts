/**
 * Fixed-window counters kept in PostgreSQL, so every instance sees the same counts.
 * One upsert per hit: it either increments the current window or starts a new one.
 * Shared by every feature that limits (sign-in, uploads, voice, images, forks).
 */
import type { Sql } from '../db';
import { tooManyRequests } from '../errors';

export interface Limit {
  key: string;
  max: number;
  windowSeconds: number;
}

export async function hit(sql: Sql, limit: Limit): Promise<{ allowed: boolean; retryAfter: number }> {
  const [row] = await sql<{ hits: number; retryAfter: number }[]>`
    insert into rate_limits as r (key, window_start, hits)
    values (${limit.key}, now(), 1)
    on conflict (key) do update set
      hits = case when r.window_start <= now() - make_interval(secs => ${limit.windowSeconds}) then 1 else r.hits + 1 end,
      window_start = case when r.window_start <= now() - make_interval(secs => ${limit.windowSeconds}) then now() else r.window_start end
    returning hits,
      greatest(1, ceil(extract(epoch from (window_start + make_interval(secs => ${limit.windowSeconds}) - now()))))::int as retry_after`;
  return { allowed: row!.hits <= limit.max, retryAfter: row!.retryAfter };
}

/** Counts a hit on every limit; throws 429 with Retry-After if any is exceeded. */
export async function enforce(sql: Sql, limits: Limit[]): Promise<void> {
  let retryAfter = 0;
  for (const limit of limits) {
    const result = await hit(sql, limit);
    if (!result.allowed) retryAfter = Math.max(retryAfter, result.retryAfter);
  }
  if (retryAfter > 0) throw tooManyRequests(retryAfter);
}

/** Forget an account's failures after it signs in successfully. */
export async function reset(sql: Sql, key: string): Promise<void> {
  await sql`delete from rate_limits where key = ${key}`;
}

/** Old windows are garbage: drop them now and then. */
export async function sweep(sql: Sql): Promise<void> {
  await sql`delete from rate_limits where window_start < now() - interval '1 day'`;
}
