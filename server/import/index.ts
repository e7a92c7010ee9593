import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import { ImportAnswer, ImportProgressAnswer, ImportUpload } from './model';
import { importProgress, importUpload } from './service';
import { multipartBody } from '../openapi';

export function importRoutes(deps: AppDeps) {
  return new Elysia({ name: 'import' })
    .use(deps.auth)
    .get('/api/import/progress', async ({ user }) => ({ progress: await importProgress(deps.sql, user.id) }), {
      auth: true,
      response: withErrors({ 200: ImportProgressAnswer }),
    })
    .post(
      '/api/import',
      async ({ user, request, set }) => {
        const answer = await importUpload(deps, user.id, request);
        set.status = 201;
        return answer;
      },
      {
        auth: true,
        // The body is streamed to disk here, under the cap, never buffered by Elysia.
        parse: 'none',
        response: withErrors({ 201: ImportAnswer }, 413, 415),
        detail: { requestBody: multipartBody(ImportUpload) },
      },
    );
}
