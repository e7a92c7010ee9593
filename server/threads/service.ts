import type { AppDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';
import type { CreateThreadBody, UpdateThreadBody } from './model';
import { getThread } from '../conversations/queries';
import { getFolder } from '../folders/queries';
import * as writes from '../conversations/writes';
import { assertModelChoice, notAllowed } from '../auth/policy';
import { permissionsForUser } from '../auth/permissions';

/** A model or system prompt named in a body must be one the account's role may set (403 first). */
async function checkAllowed(deps: Pick<Deps, 'sql'>, userId: string, body: { model?: string | null; systemPrompt?: string }) {
  if (body.model == null && !body.systemPrompt) return;
  const permissions = await permissionsForUser(deps.sql, userId);
  if (body.systemPrompt && !permissions.systemPrompt) throw notAllowed('set a system prompt');
  assertModelChoice(permissions, body.model, null);
}

type Deps = Pick<AppDeps, 'sql' | 'providers'>;

/** A model id must name a known provider and, when that provider lists models, one of them. */
export async function checkModel(deps: Deps, userId: string, model: string | null | undefined) {
  if (model === null || model === undefined) return;
  const provider = model.split(':')[0];
  if (!model.includes(':')) throw badRequest({ model: 'must be a model id like mistral:mistral-small-latest' });
  const { models } = await deps.providers.models(userId);
  // The environment's providers, or an admin's connection (its slug) that lists models.
  if (!['mistral', 'openai'].includes(provider ?? '') && !models.some((m) => m.provider === provider)) {
    throw badRequest({ model: 'must be a model id like mistral:mistral-small-latest' });
  }
  const sameProvider = models.filter((m) => m.provider === provider);
  if (sameProvider.length && !sameProvider.some((m) => m.id === model)) {
    throw badRequest({ model: 'is not an available model' });
  }
}

/**
 * POST /api/threads. With the client's `id` (a chat started offline) it is idempotent: the
 * user's own thread with that id is answered as it is (`created: false`, the body's other
 * fields ignored: the first request won); an id another user holds, or one deleted, is a
 * 409 that says nothing of whose it is.
 */
export async function createThread(deps: Deps, userId: string, body: CreateThreadBody) {
  // A retry of a creation that landed answers even if its model has gone since.
  const existing = body.id ? await getThread(deps.sql, userId, body.id) : null;
  if (existing) return { thread: existing, created: false };
  await checkAllowed(deps, userId, body);
  // A thread started in a folder takes the folder's model and system prompt unless given its own.
  const folder = body.folderId ? await getFolder(deps.sql, userId, body.folderId) : null;
  if (body.folderId && !folder) throw notFound('Folder');
  await checkModel(deps, userId, body.model);
  const made = await deps.sql.begin((tx) =>
    writes.insertThread(tx, userId, {
      id: body.id,
      title: (body.title ?? '').trim(),
      model: body.model !== undefined ? body.model : (folder?.model ?? null),
      systemPrompt: body.systemPrompt ?? folder?.systemPrompt ?? '',
      folderId: folder?.id ?? null,
    }),
  );
  if (made === 'taken') throw conflict('This thread id is already used', { id: 'is already in use' });
  return made;
}

export async function requireThread(deps: Pick<Deps, 'sql'>, userId: string, id: string) {
  const thread = await getThread(deps.sql, userId, id);
  if (!thread) throw notFound('Thread');
  return thread;
}

export async function updateThread(deps: Deps, userId: string, id: string, body: UpdateThreadBody) {
  if (Object.keys(body).length === 0) {
    throw badRequest({ body: 'must change at least one of title, model, systemPrompt, pinned, folderId, archived' });
  }
  await checkAllowed(deps, userId, body);
  if (body.folderId) {
    // Someone else's folder is as absent as a missing one; the thread is checked first.
    if (!(await getThread(deps.sql, userId, id))) throw notFound('Thread');
    if (!(await getFolder(deps.sql, userId, body.folderId))) throw notFound('Folder');
  }
  await checkModel(deps, userId, body.model);
  const thread = await deps.sql.begin((tx) =>
    writes.patchThread(tx, userId, id, { ...body, title: body.title?.trim() }),
  );
  if (!thread) throw notFound('Thread');
  return thread;
}

export async function deleteThread(deps: Pick<Deps, 'sql'>, userId: string, id: string) {
  const deleted = await deps.sql.begin((tx) => writes.deleteThread(tx, userId, id));
  if (!deleted) throw notFound('Thread');
}
