import { Elysia, t } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { withSecurityHeaders } from '../http/security';
import { contentDisposition } from '../files/sniff';
import { IdParams } from '../threads/model';
import { accountZip, exportName, exportThread, threadDocument, toMarkdown } from './service';

const ExportQuery = t.Object({
  format: t.Optional(t.Union([t.Literal('md'), t.Literal('json')], { error: 'must be md or json' })),
});

/** The file's bytes (Markdown text, JSON or a zip): documented, not validated (the handlers build their own Response). */
const FileBody = t.String({ description: 'the exported file' });

export function exportRoutes(deps: AppDeps) {
  return new Elysia({ name: 'export' })
    .use(deps.auth)
    .get(
      '/api/threads/:id/export',
      async ({ user, params, query }) => {
        const thread = await exportThread(deps, user.id, params.id);
        const md = query.format === 'md';
        const body = md ? toMarkdown(thread) : JSON.stringify(threadDocument(thread), null, 2);
        return withSecurityHeaders(
          new Response(body, {
            headers: {
              'content-type': md ? 'text/markdown; charset=utf-8' : 'application/json; charset=utf-8',
              'content-disposition': contentDisposition('attachment', exportName(thread, md ? 'md' : 'json')),
              'cache-control': 'no-store',
            },
          }),
        );
      },
      { auth: true, params: IdParams, query: ExportQuery, response: withErrors({ 200: FileBody }) },
    )
    .get(
      '/api/export',
      ({ user }) =>
        withSecurityHeaders(
          new Response(accountZip(deps, user.id), {
            headers: {
              'content-type': 'application/zip',
              'content-disposition': contentDisposition('attachment', `parley-export-${new Date().toISOString().slice(0, 10)}.zip`),
              'cache-control': 'no-store',
            },
          }),
        ),
      { auth: true, response: withErrors({ 200: FileBody }) },
    );
}
