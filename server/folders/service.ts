import type { AppDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';
import { checkModel } from '../threads/service';
import type { CreateFolderBody, UpdateFolderBody } from './model';
import * as q from './queries';

type Deps = Pick<AppDeps, 'sql' | 'providers'>;

export async function createFolder(deps: Deps, userId: string, body: CreateFolderBody) {
  const name = body.name.trim();
  if (!name) throw badRequest({ name: 'must not be blank' });
  await checkModel(deps, userId, body.model);
  const made = await deps.sql.begin((tx) =>
    q.insertFolder(tx, userId, { name, model: body.model ?? null, systemPrompt: body.systemPrompt ?? '' }),
  );
  if (made === 'full') throw conflict(`At most ${q.MAX_FOLDERS} folders`);
  return made;
}

export async function requireFolder(deps: Pick<Deps, 'sql'>, userId: string, id: string) {
  const folder = await q.getFolder(deps.sql, userId, id);
  if (!folder) throw notFound('Folder');
  return folder;
}

export async function updateFolder(deps: Deps, userId: string, id: string, body: UpdateFolderBody) {
  if (Object.keys(body).length === 0) throw badRequest({ body: 'must change at least one of name, model, systemPrompt' });
  const name = body.name?.trim();
  if (name === '') throw badRequest({ name: 'must not be blank' });
  await requireFolder(deps, userId, id); // 404 before a model check could say anything
  await checkModel(deps, userId, body.model);
  const folder = await deps.sql.begin((tx) => q.updateFolder(tx, userId, id, { ...body, name }));
  if (!folder) throw notFound('Folder');
  return folder;
}

export async function deleteFolder(deps: Pick<Deps, 'sql'>, userId: string, id: string) {
  const deleted = await deps.sql.begin((tx) => q.deleteFolder(tx, userId, id));
  if (!deleted) throw notFound('Folder');
}
