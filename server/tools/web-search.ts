/**
 * Web search as a tool, through SearXNG's JSON API (`GET /search?q=…&format=json`):
 * the instance is SEARXNG_URL or a connection with the `search` purpose. The request goes
 * through the safe fetcher (the instance's origin is trusted as the operator set it; a
 * redirect anywhere else must be a public https address), bytes capped, time bounded.
 * Results come back numbered so the model can cite them as [n].
 */
import { safeFetchBytes } from '../http/safe-fetch';
import type { Tool } from './types';

const MAX_BYTES = 2 * 1024 * 1024;
const MAX_RESULTS = 5;

interface SearxResult {
  url?: unknown;
  title?: unknown;
  content?: unknown;
}

export function webSearchTool(searxngUrl: string): Tool {
  const base = searxngUrl.replace(/\/+$/, '');
  return {
    requireApproval: false,
    spec: {
      name: 'web_search',
      description: 'Search the web for current information. Returns numbered results; cite them in the answer as [n].',
      parameters: {
        type: 'object',
        properties: { query: { type: 'string', description: 'What to search for' } },
        required: ['query'],
      },
    },
    async run(input, ctx) {
      const query = typeof input.query === 'string' ? input.query.trim().slice(0, 500) : '';
      if (!query) return { output: 'No query was given.', isError: true };
      const url = `${base}/search?${new URLSearchParams({ q: query, format: 'json', safesearch: '1' })}`;
      const { bytes } = await safeFetchBytes(url, {
        trustedOrigins: [new URL(base).origin],
        maxBytes: MAX_BYTES,
        signal: ctx.signal,
        accept: 'application/json',
      });
      let body: { results?: unknown };
      try {
        body = JSON.parse(new TextDecoder().decode(bytes)) as { results?: unknown };
      } catch {
        return { output: 'The search service did not answer JSON.', isError: true };
      }
      const results = (Array.isArray(body.results) ? (body.results as SearxResult[]) : [])
        .filter((r) => typeof r.url === 'string' && /^https?:\/\//.test(r.url))
        .slice(0, MAX_RESULTS);
      if (!results.length) return { output: `No results for "${query}".` };
      const lines = results.map((r) => {
        const title = typeof r.title === 'string' && r.title.trim() ? r.title.trim().slice(0, 200) : String(r.url);
        const n = ctx.cite(title, String(r.url));
        const snippet = typeof r.content === 'string' ? r.content.replace(/\s+/g, ' ').trim().slice(0, 500) : '';
        return `[${n}] ${title} (${r.url})\n${snippet}`;
      });
      return { output: lines.join('\n\n') };
    },
  };
}

/** Told to the model whenever it has search results to work with. */
export const CITE_INSTRUCTION =
  'When you use web search results, cite them in your answer with their numbers in square brackets, like [1] or [2].';
