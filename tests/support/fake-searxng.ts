/**
 * A local stand-in for a SearXNG instance, answering `GET /search?q=…&format=json` in
 * SearXNG's real JSON shape (query, number_of_results, results with url/title/content/
 * engine/parsed_url/score/category, answers, corrections, infoboxes, suggestions,
 * unresponsive_engines). Without `format=json` it answers 403, as an instance whose
 * JSON format is not enabled does.
 *
 * Standalone: `bun tests/support/fake-searxng.ts [port]`.
 */
export interface FakeResult {
  url: string;
  title: string;
  content: string;
}

export async function startFakeSearxng(port = 0) {
  const queries: string[] = [];
  const control = {
    queries,
    /** Results per query (lower case); any other query gets `defaults`. */
    results: new Map<string, FakeResult[]>(),
    defaults: [
      { url: 'https://example.org/parley', title: 'Parley, a voice-first assistant', content: 'Parley is a self-hosted assistant you talk to.' },
      { url: 'https://example.com/weather', title: 'Weather today', content: 'Sunny with a light breeze, 21 °C.' },
    ] as FakeResult[],
    /** Answer this status instead (e.g. 500). */
    failWith: null as number | null,
  };
  const server = Bun.serve({
    port,
    hostname: '127.0.0.1',
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== '/search') return new Response('Not Found', { status: 404 });
      if (url.searchParams.get('format') !== 'json') return new Response('Forbidden', { status: 403 });
      const q = url.searchParams.get('q') ?? '';
      queries.push(q);
      if (control.failWith) return new Response('error', { status: control.failWith });
      const found = control.results.get(q.toLowerCase()) ?? control.defaults;
      return Response.json({
        query: q,
        number_of_results: found.length,
        results: found.map((r, i) => ({
          url: r.url,
          title: r.title,
          content: r.content,
          engine: 'duckduckgo',
          parsed_url: (() => {
            const u = new URL(r.url);
            return [u.protocol.slice(0, -1), u.host, u.pathname, '', u.search.slice(1), u.hash.slice(1)];
          })(),
          template: 'default.html',
          engines: ['duckduckgo'],
          positions: [i + 1],
          score: 1 / (i + 1),
          category: 'general',
        })),
        answers: [],
        corrections: [],
        infoboxes: [],
        suggestions: [],
        unresponsive_engines: [],
      });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, ...control, control, stop: () => server.stop(true) };
}

export type FakeSearxng = Awaited<ReturnType<typeof startFakeSearxng>>;

if (import.meta.main) {
  const fake = await startFakeSearxng(Number(process.argv[2] ?? 4020));
  console.log(`fake SearXNG on ${fake.url}`);
}
