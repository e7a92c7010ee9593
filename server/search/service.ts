/**
 * Full-text search over a user's thread titles and message text (PostgreSQL's own:
 * the `search` tsvector columns of sql/0004, GIN-indexed; the same on PGlite).
 *
 * - The query is the words typed (letters and digits; at most 8), all required, the last
 *   one as a prefix so results come while a word is being typed.
 * - Ranking: ts_rank, a title match counting double; ties newest first. Only the CANDIDATES
 *   most recently written matching messages are ranked: a word found in most of 100,000
 *   messages would otherwise rank (and read) every one of them; the (user_id, seq) index
 *   finds the newest matches fast, and the GIN (user_id, search) index the rare ones.
 * - Snippets: ts_headline with control characters as the selection marks, computed for
 *   the page only; the text is then HTML-escaped and the marks become <mark>, so a
 *   message holding HTML shows it as text and <mark> is the only markup there is.
 */
import type { Sql } from '../db';
import type { SearchResult } from './model';

const CANDIDATES = 1000;
const START = '\u0001';
const STOP = '\u0002';

/** The tsquery text for what was typed, or null when nothing searchable is in it. */
export function toTsQuery(input: string): string | null {
  const words = (input.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, 8);
  if (!words.length) return null;
  return words.map((w, i) => (i === words.length - 1 ? `'${w}':*` : `'${w}'`)).join(' & ');
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The headline as safe HTML: everything escaped, then only the marks made into <mark>. */
export function markSnippet(headline: string): string {
  const collapsed = headline.replace(/\s+/g, ' ').trim();
  return escapeHtml(collapsed).replaceAll(START, '<mark>').replaceAll(STOP, '</mark>');
}

export async function search(sql: Sql, userId: string, input: string, limit: number): Promise<SearchResult[]> {
  const tsq = toTsQuery(input);
  if (!tsq) return [];
  type Row = { threadId: string; messageId: string | null; title: string; headline: string; createdAt: string };
  // The query is written out where rows are chosen (not only read from the CTE), and plans are
  // made for its actual value: the planner then knows how common the words are, and walks the
  // (user_id, seq) index for a word in most messages but the GIN index for a rare one (a
  // generic plan, which prepared statements fall into, would read every match of "the").
  const rows = await sql.begin(async (tx) => {
    await tx`set local plan_cache_mode = force_custom_plan`;
    return tx<Row[]>`
    with q as (select to_tsquery('simple', ${tsq}) as q),
    candidates as (
      select m.id, m.thread_id, m.created_at, m.search
      from messages m
      where m.user_id = ${userId} and m.search @@ to_tsquery('simple', ${tsq})
      order by m.seq desc limit ${CANDIDATES}
    ),
    hits as (
      (select c.id as message_id, c.thread_id, c.created_at, ts_rank(c.search, q.q) as rank
       from candidates c, q
       order by rank desc, c.created_at desc limit ${limit})
      union all
      (select null::uuid, t.id, t.updated_at, ts_rank(t.search, q.q) * 2
       from threads t, q
       where t.user_id = ${userId} and t.search @@ to_tsquery('simple', ${tsq})
       order by 4 desc, t.updated_at desc limit ${limit})
    ),
    top as (select * from hits order by rank desc, created_at desc limit ${limit})
    select top.thread_id, top.message_id, t.title, top.created_at,
      ts_headline('simple',
        -- the marks must be ours alone, and a long message is cut for the headline's sake
        translate(left(coalesce(m.content, t.title), 50000), ${START + STOP}, '  '),
        q.q,
        'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxWords=28, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "'
      ) as headline
    from top
    join threads t on t.id = top.thread_id and t.user_id = ${userId}
    left join messages m on m.id = top.message_id and m.user_id = ${userId}
    cross join q
    order by top.rank desc, top.created_at desc`;
  });
  return rows.map((r) => ({
    threadId: r.threadId,
    messageId: r.messageId,
    title: r.title,
    snippet: markSnippet(r.headline),
    createdAt: r.createdAt,
  }));
}
