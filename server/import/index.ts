import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { withErrors } from '../http/model';
import {
  ImportAnswer,
  ImportPartAnswer,
  ImportPartParams,
  ImportProgressAnswer,
  ImportUpload,
  ImportUploadAnswer,
  ImportUploadBody,
  ImportUploadParams,
} from './model';
import { importProgress, importUpload } from './service';
import { finishUpload, putPart, startUpload } from './uploads';
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
    )
    // A large export in parts (server/import/uploads.ts): start, send each part, finish.
    .post(
      '/api/import/uploads',
      async ({ user, body, set }) => {
        set.status = 201;
        return { upload: await startUpload(deps, user.id, body) };
      },
      { auth: true, body: ImportUploadBody, response: withErrors({ 201: ImportUploadAnswer }, 413) },
    )
    .put('/api/import/uploads/:id/parts/:n', async ({ user, params, request }) => putPart(deps, user.id, params.id, params.n, request), {
      auth: true,
      params: ImportPartParams,
      // The part's bytes are read by putPart under the part's exact length, never by Elysia.
      parse: 'none',
      response: withErrors({ 200: ImportPartAnswer }, 413),
      detail: { requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } } },
    })
    .post(
      '/api/import/uploads/:id/finish',
      async ({ user, params, set, request, server }) => {
        // Importing 100 MB takes longer than Bun's idle timeout with nothing sent meanwhile.
        server?.timeout(request, 0);
        const answer = await finishUpload(deps, user.id, params.id);
        set.status = 201;
        return answer;
      },
      { auth: true, params: ImportUploadParams, response: withErrors({ 201: ImportAnswer }) },
    );
}
