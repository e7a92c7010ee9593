/**
 * POST /api/files (multipart `file`: an image or a document; optional `threadId`) → 201 {file}
 * GET  /api/files/:id[?download=1] → the bytes, to their owner only (404 for anyone else).
 * Files shown in a share are read through GET /api/shares/:code/files/:id (server/shares).
 */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { badRequest, notFound } from '../errors';
import { enforce } from '../infra/rate-limit';
import { withErrors } from '../http/model';
import { bytesResponse, multipartBody } from '../openapi';
import { FileAnswer, FileParams, FileQuery, FileUpload, UPLOAD_LIMIT, UUID } from './model';
import { readFileUpload } from './upload';
import { readDocument } from '../documents/service';
import { fileResponse, wantsDownload } from './respond';
import { deleteStaleUploads, openFileForUser, requireOwnThread, saveFile, toAttachment } from './service';

export { deleteOrphanBlobs, deleteStaleUploads, fileHooks, fileReader, readFileForUser, describeFile } from './service';

export function filesRoutes(deps: Pick<AppDeps, 'sql' | 'config' | 'auth' | 'connections' | 'providers'>) {
  return new Elysia({ name: 'files', prefix: '/api/files' })
    .use(deps.auth)
    .post(
      '/',
      async ({ user, request, set, server }) => {
        await enforce(deps.sql, [{ key: `files:user:${user.id}`, ...UPLOAD_LIMIT }]);
        // Reading a document (extraction, then OCR of a scan) can outlast Bun's 10 s idle
        // timeout; its own limits bound it (30 s to extract, 120 s for OCR).
        server?.timeout(request, 200);
        const upload = await readFileUpload(request);
        // This user's uploads abandoned in a composer over a day ago go now (no timer needed).
        await deleteStaleUploads(deps, user.id);
        const threadId = upload.fields.threadId || null;
        if (threadId !== null) {
          if (!UUID.test(threadId)) throw badRequest({ threadId: 'must be a thread id' });
          await requireOwnThread(deps, user.id, threadId);
        }
        // A document's text is read once, now (bounded in size, pages and time), and kept with it.
        const document = upload.kind ? await readDocument(deps, upload.bytes, upload.kind, upload.name, user.id) : null;
        const { file } = await saveFile(deps, {
          userId: user.id,
          bytes: upload.bytes,
          mime: upload.mime,
          name: upload.name,
          threadId,
          source: 'upload',
          document,
        });
        set.status = 201;
        return { file: toAttachment(file) };
      },
      // The body is read by readFileUpload under a cap, never buffered whole by the framework.
      {
        auth: true,
        parse: 'none',
        response: withErrors({ 201: FileAnswer }, 413, 415),
        detail: { requestBody: multipartBody(FileUpload) },
      },
    )
    .get(
      '/:id',
      async ({ user, params, query, request }) => {
        const file = await openFileForUser(deps, user.id, params.id);
        if (!file) throw notFound('File');
        return fileResponse(request, file, { download: wantsDownload(query.download), cacheControl: 'private, no-store' });
      },
      {
        auth: true,
        params: FileParams,
        query: FileQuery,
        detail: bytesResponse("The file's bytes: an image with its own content type, a document as a download (ETag; 304 on If-None-Match)"),
      },
    );
}
