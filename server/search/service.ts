/**
 * Full-text search over a user's thread titles and message text (PostgreSQL's own:
 * the `search` tsvector columns of sql/0011, GIN-indexed by owner in sql/0014; the same
 * on PGlite).
 *
 * - The query is the words typed (letters and digits; at most 8), all required, the last
 *   one as a prefix once it has PREFIX_MIN letters (so results come while a word is being
 *   typed, but "a" or "to" is not every word that starts so).
 * - The work is bounded by construction, whatever the words: at most CANDIDATES messages
 *   are ranked, found in one of two ways.
 *   1. Recent: the user's RECENT newest messages (by seq, the (user_id, seq) index), the
 *      matching ones kept. A common word or prefix fills the page from here, reading at
 *      most RECENT rows, which lie together on disk.
 *   2. Indexed, when (1) found fewer than a page: the owner-keyed GIN index (sql/0014),
 *      whose entries hold only this user's rows, so a rare word costs its own few rows;
 *      at most SCAN matching rows are read (in the table's order, which is roughly oldest
 *      first: a word with more matches than that, but rare lately, ranks some of them).
 * - Ranking: ts_rank, a title match counting double; ties newest first.
 * - Snippets: ts_headline with control characters as the selection marks, computed for
 *   the page only; the text is then HTML-escaped and the marks become <mark>, so a
 *   message holding HTML shows it as text and <mark> is the only markup there is.
 */
import type { Sql } from '../db';
import type { SearchResult } from './model';

const CANDIDATES = 200;
const RECENT = 1000;
const SCAN = 300;
/** A last word shorter than this is matched whole, not as a prefix. */
const PREFIX_MIN = 3;
const START = '\u0001';
const STOP = '\u0002';

const words = (input: string) => (input.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 8);

function tsQueryOf(list: string[], keyed = '') {
  return list
    .map((w, i) => (i === list.length - 1 && w.length >= PREFIX_MIN ? `'${keyed}${w}':*` : `'${keyed}${w}'`))
    .join(' & ');
}

/** The tsquery text for what was typed, or null when nothing searchable is in it. */
export function toTsQuery(input: string): string | null {
  const list = words(input);
  return list.length ? tsQueryOf(list) : null;
}

/** The same query over the owner-keyed lexemes of sql/0014 (parley_search_keys). */
export const ownerKey = (userId: string) => userId.toLowerCase().slice(0, 8);

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The headline as safe HTML: everything escaped, then only the marks made into <mark>. */
export function markSnippet(headline: string): string {
  const collapsed = headline.replace(/\s+/g, ' ').trim();
  return escapeHtml(collapsed).replaceAll(START, '<mark>').replaceAll(STOP, '</mark>');
}

type Candidate = { id: string; threadId: string; createdAt: string; rank: number };

export async function search(sql: Sql, userId: string, input: string, limit: number): Promise<SearchResult[]> {
  const list = words(input);
  if (!list.length) return [];
  const tsq = tsQueryOf(list);
  const keyed = tsQueryOf(list, ownerKey(userId));
  type Hit = { threadId: string; messageId: string | null; title: string; headline: string; createdAt: string; rank: number };
  const hits = await sql.begin(async (tx) => {
    // Plans of a few milliseconds: never worth compiling (JIT) or starting workers for, and
    // never a scan of the whole table (a bad guess of how common a word is must not make one).
    await tx`select set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true), set_config('enable_seqscan', 'off', true)`;
    const recent = await tx<Candidate[]>`
      select r.id, r.thread_id, r.created_at, ts_rank(r.search, to_tsquery('simple', ${tsq})) as rank
      from (select id, thread_id, created_at, search from messages where user_id = ${userId} order by seq desc limit ${RECENT}) r
      where r.search @@ to_tsquery('simple', ${tsq})
      limit ${CANDIDATES}`;
    let candidates: Candidate[] = [...recent];
    if (recent.length < limit) {
      // Only the owner-keyed GIN index may answer here: not a walk over every message of
      // the user's looking for a rare word (what this path exists to avoid), nor a bitmap of all the user's rows ANDed in (user_id::text is not
      // indexed; the owner key already narrows to the user, this only makes it exact).
      await tx`select set_config('enable_indexscan', 'off', true)`;
      const seen = new Set(recent.map((c) => c.id));
      const indexed = await tx<Candidate[]>`
        select s.id, s.thread_id, s.created_at, ts_rank(s.search, to_tsquery('simple', ${tsq})) as rank
        from (select id, thread_id, created_at, search, seq from messages
              where parley_search_keys(user_id, search) @@ to_tsquery('simple', ${keyed})
                and user_id::text = ${userId} and search @@ to_tsquery('simple', ${tsq})
              limit ${SCAN}) s
        order by s.seq desc limit ${CANDIDATES}`;
      candidates = [...recent, ...indexed.filter((c) => !seen.has(c.id))];
    }
    const top = candidates
      .sort((a, b) => b.rank - a.rank || b.createdAt.localeCompare(a.createdAt))
      .slice(0, limit);
    return tx<Hit[]>`
      with q as (select to_tsquery('simple', ${tsq}) as q),
      titles as (
        select null::uuid as message_id, t.id as thread_id, t.updated_at as created_at, ts_rank(t.search, q.q) * 2 as rank
        from threads t, q
        where t.user_id = ${userId} and t.search @@ q.q
        order by 4 desc, t.updated_at desc limit ${limit}
      ),
      found as (
        select x.id as message_id, x.thread_id, x.created_at, x.rank
        from unnest(${top.map((c) => c.id)}::uuid[], ${top.map((c) => c.threadId)}::uuid[],
                    ${top.map((c) => c.createdAt)}::timestamptz[], ${top.map((c) => c.rank)}::float4[]) as x(id, thread_id, created_at, rank)
      ),
      page as (select * from (select * from found union all select * from titles) h order by rank desc, created_at desc limit ${limit})
      select page.thread_id, page.message_id, t.title, page.created_at, page.rank,
        ts_headline('simple',
          -- the marks must be ours alone, and a long message is cut for the headline's sake
          translate(left(coalesce(m.content, t.title), 50000), ${START + STOP}, '  '),
          q.q,
          'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxWords=28, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "'
        ) as headline
      from page
      join threads t on t.id = page.thread_id and t.user_id = ${userId}
      left join messages m on m.id = page.message_id and m.user_id = ${userId}
      cross join q
      order by page.rank desc, page.created_at desc`;
  });
  return hits.map((r) => ({
    threadId: r.threadId,
    messageId: r.messageId,
    title: r.title,
    snippet: markSnippet(r.headline),
    createdAt: r.createdAt,
  }));
}
