import { Elysia, t } from 'elysia';
import type { AppDeps } from '../deps';
import { GZIP_MIN_BYTES, mayGzip } from '../http/compress';
import { withSecurityHeaders } from '../http/security';
import { withErrors } from '../http/model';
import { SyncPage } from './model';
import { changesSince } from './service';

export const SyncQuery = t.Object({
  since: t.Optional(t.String({ pattern: '^[0-9]{1,18}$', error: 'must be a cursor from a previous sync' })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 5000, error: 'must be an integer from 1 to 5000' })),
});

export function syncRoutes(deps: AppDeps) {
  return new Elysia({ name: 'sync' })
    .use(deps.auth)
    .get(
      '/api/sync',
      async ({ user, query, request }) => {
        const page = await changesSince(deps.sql, user.id, query.since ?? '0', query.limit ?? 1000);
        // A first sync is megabytes of JSON (about 6.6 MB for 500 threads × 20 messages);
        // gzipped it is several times smaller, which is what a phone network notices.
        const json = JSON.stringify(page);
        const headers: Record<string, string> = {
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
          vary: 'accept-encoding',
        };
        if (json.length < GZIP_MIN_BYTES || !mayGzip(request)) return withSecurityHeaders(new Response(json, { headers }));
        headers['content-encoding'] = 'gzip';
        // Level 5, where compressJson takes 3: a first sync is megabytes, sent once over a phone's
        // network. Level 3 made one 4% larger (8.1 MB of JSON: 2.04 MB, not 1.96 MB) to save
        // about 3.5 of the 13 ms a 1.7 MB page takes.
        return withSecurityHeaders(new Response(Bun.gzipSync(json, { level: 5 }), { headers }));
      },
      // The handler builds its own (gzipped) Response, so Elysia does not check it against
      // SyncPage; the schema documents it, and changesSince returns that type.
      { auth: true, query: SyncQuery, response: withErrors({ 200: SyncPage }) },
    );
}
