/**
 * Keyset paging, newest first, for every list that pages (threads, messages, shares).
 * A cursor is "<microseconds since epoch>_<uuid>" of the last row of a page: exact to
 * PostgreSQL's precision, and stable while rows are added (no offset to drift).
 */
import type { Sql, Tx } from '../db';

type Db = Sql | Tx;

/**
 * "<micros>_<uuid>" split in two; null when it is not a cursor. At most 16 digits of
 * microseconds (until the year 2286): more would overflow bigint or the interval in SQL.
 */
export const CURSOR_PATTERN = '^[0-9]{1,16}_[0-9a-f-]{36}$';
export function parseCursor(cursor: string): [micros: string, id: string] | null {
  const match = cursor.match(/^([0-9]{1,16})_([0-9a-f-]{36})$/);
  return match ? [match[1]!, match[2]!] : null;
}

/**
 * The SQL pieces of one keyset over (`time`, `id`): the `cursor` column to select,
 * and the `after` condition ("and (time, id) < cursor") for the next page.
 */
export function keyset(sql: Db, time: string, id: string) {
  return {
    cursor: sql`((extract(epoch from ${sql(time)}) * 1000000)::bigint)::text || '_' || ${sql(id)}::text as cursor`,
    after: (before: [string, string] | null) =>
      before
        ? sql`and (${sql(time)}, ${sql(id)}) < ('epoch'::timestamptz + ${before[0]}::bigint * interval '1 microsecond', ${before[1]}::uuid)`
        : sql``,
  };
}

/** Rows fetched with `limit + 1`: the page (cursor column dropped) and the next page's cursor. */
export function takePage<T extends { cursor: string }>(rows: T[], limit: number) {
  const page = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? page[page.length - 1]!.cursor : null;
  return { page: page.map(({ cursor: _, ...row }) => row as Omit<T, 'cursor'>), nextCursor };
}
