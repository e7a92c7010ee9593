import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import { NoContent, withErrors } from '../http/model';
import { IdParams } from '../threads/model';
import { CreateFolderBody, FolderAnswer, FolderList, UpdateFolderBody } from './model';
import { listFolders } from './queries';
import * as folders from './service';

export function foldersRoutes(deps: AppDeps) {
  return new Elysia({ name: 'folders', prefix: '/api/folders' })
    .use(deps.auth)
    .get('/', async ({ user }) => ({ folders: await listFolders(deps.sql, user.id), nextCursor: null }), {
      auth: true,
      response: withErrors({ 200: FolderList }),
    })
    .post(
      '/',
      async ({ user, body, set }) => {
        set.status = 201;
        return { folder: await folders.createFolder(deps, user.id, body) };
      },
      { auth: true, body: CreateFolderBody, response: withErrors({ 201: FolderAnswer }) },
    )
    .get('/:id', async ({ user, params }) => ({ folder: await folders.requireFolder(deps, user.id, params.id) }), {
      auth: true,
      params: IdParams,
      response: withErrors({ 200: FolderAnswer }),
    })
    .patch(
      '/:id',
      async ({ user, params, body }) => ({ folder: await folders.updateFolder(deps, user.id, params.id, body) }),
      { auth: true, params: IdParams, body: UpdateFolderBody, response: withErrors({ 200: FolderAnswer }) },
    )
    .delete(
      '/:id',
      async ({ user, params, set }) => {
        await folders.deleteFolder(deps, user.id, params.id);
        set.status = 204;
      },
      { auth: true, params: IdParams, response: withErrors({ 204: NoContent }) },
    );
}
