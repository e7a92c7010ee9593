/**
 * Share links (see service.ts for the decisions):
 *   POST   /api/threads/:id/share        (auth, owner) → 201 {code, url, threadId, createdAt, updatedAt}
 *   DELETE /api/threads/:id/share        (auth, owner) → 204
 *   GET    /api/shares                   (auth) → {shares: [{code, url, threadId, title, createdAt, updatedAt}], nextCursor}
 *   DELETE /api/shares/:code             (auth, owner) → 204
 *   GET    /api/shares/:code             (public) → {thread: {title, model, createdAt}, messages, sharedAt}
 *   GET    /api/shares/:code/files/:id   (public) → the bytes of a file the share shows
 *   POST   /api/shares/:code/fork        (auth) → 201 {thread}
 *   GET    /s/:code                      (public) → the app shell with Open Graph tags
 * Public answers are `Cache-Control: no-store` (files: `no-cache` + ETag), so a
 * revoked link is never served from a browser cache.
 */
import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { notFound } from '../errors';
import { fileResponse, wantsDownload } from '../files/respond';
import { NoContent, withErrors } from '../http/model';
import { ThreadAnswer } from '../threads/model';
import { bytesResponse, htmlPage } from '../openapi';
import {
  CodeFileParams,
  CodeParams,
  FileQuery,
  ListQuery,
  ShareCreated,
  SharedThread,
  ShareList,
  ThreadParams,
} from './model';
import { sharePageResponse } from './page';
import {
  findShare,
  forkShare,
  listShares,
  readShare,
  readSharedFile,
  revokeShareByCode,
  revokeThreadShare,
  shareThread,
  shareUrl,
  sharedFileUrl,
} from './service';

export function sharesRoutes(deps: Pick<AppDeps, 'sql' | 'config' | 'auth'>) {
  return new Elysia({ name: 'shares' })
    .use(deps.auth)
    .post(
      '/api/threads/:id/share',
      async ({ user, params, set }) => {
        const share = await shareThread(deps, user.id, params.id);
        set.status = 201;
        return share;
      },
      { requirePermission: 'share', params: ThreadParams, response: withErrors({ 201: ShareCreated }) },
    )
    .delete(
      '/api/threads/:id/share',
      async ({ user, params, set }) => {
        await revokeThreadShare(deps, user.id, params.id);
        set.status = 204;
      },
      { auth: true, params: ThreadParams, response: withErrors({ 204: NoContent }) },
    )
    .get('/api/shares', ({ user, query }) => listShares(deps, user.id, query.limit ?? 50, query.before), {
      auth: true,
      query: ListQuery,
      response: withErrors({ 200: ShareList }),
    })
    .delete(
      '/api/shares/:code',
      async ({ user, params, set }) => {
        await revokeShareByCode(deps, user.id, params.code);
        set.status = 204;
      },
      { auth: true, params: CodeParams, response: withErrors({ 204: NoContent }) },
    )
    .get(
      '/api/shares/:code',
      async ({ params, set }) => {
        set.headers['cache-control'] = 'no-store';
        return readShare(deps, params.code);
      },
      { params: CodeParams, response: withErrors({ 200: SharedThread }) },
    )
    .get(
      '/api/shares/:code/files/:id',
      async ({ params, query, request }) => {
        const file = await readSharedFile(deps, params.code, params.id);
        if (!file) throw notFound('File');
        return fileResponse(request, file, { download: wantsDownload(query.download), cacheControl: 'private, no-cache' });
      },
      { params: CodeFileParams, query: FileQuery, detail: bytesResponse('The file\'s bytes (an image), with its own content type') },
    )
    .post(
      '/api/shares/:code/fork',
      async ({ user, params, set }) => {
        const thread = await forkShare(deps, user.id, params.code);
        set.status = 201;
        return { thread };
      },
      { auth: true, params: CodeParams, response: withErrors({ 201: ThreadAnswer }) },
    )
    .get(
      '/s/:code',
      async ({ params, request }) => {
        const share = await findShare(deps, params.code);
        if (!share) return sharePageResponse(null, request);
        const image = share.snapshot.messages.flatMap((m) => m.attachments).find((a) => a.mime.startsWith('image/'));
        return sharePageResponse({
          code: share.code,
          url: shareUrl(deps.config, share.code),
          snapshot: share.snapshot,
          imageUrl: image ? `${deps.config.http.publicUrl}${sharedFileUrl(share.code, image.id)}` : null,
        }, request);
      },
      { params: CodeParams, detail: htmlPage('The web app with Open Graph tags for the share (404 page once revoked)') },
    );
}
