import { t } from 'elysia';
import { IsoDate } from '../http/model';

export const SearchQuery = t.Object({
  q: t.String({ minLength: 1, maxLength: 200, error: 'must be 1 to 200 characters' }),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 50, error: 'must be an integer from 1 to 50' })),
});

export const SearchResult = t.Object({
  threadId: t.String(),
  /** The matching message, or null when the thread's title matched. */
  messageId: t.Union([t.String(), t.Null()]),
  title: t.String(),
  /** Plain text, HTML-escaped, with the matched words in `<mark>…</mark>`: the only markup. */
  snippet: t.String(),
  createdAt: IsoDate,
}, { title: 'SearchResult' });
export type SearchResult = typeof SearchResult.static;

export const SearchAnswer = t.Object({ results: t.Array(SearchResult) });
export type SearchAnswer = typeof SearchAnswer.static;
