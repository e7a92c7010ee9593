import type { AppDeps } from '../deps';
import { badRequest, notFound } from '../errors';
import type { CreateThreadBody, UpdateThreadBody } from './model';
import { getThread } from '../conversations/queries';
import * as writes from '../conversations/writes';

type Deps = Pick<AppDeps, 'sql' | 'providers'>;

/** A model id must name a known provider and, when that provider lists models, one of them. */
export async function checkModel(deps: Deps, userId: string, model: string | null | undefined) {
  if (model === null || model === undefined) return;
  const provider = model.split(':')[0];
  if (!model.includes(':') || !['mistral', 'openai'].includes(provider ?? '')) {
    throw badRequest({ model: 'must be a model id like mistral:mistral-small-latest' });
  }
  const { models } = await deps.providers.models(userId);
  const sameProvider = models.filter((m) => m.provider === provider);
  if (sameProvider.length && !sameProvider.some((m) => m.id === model)) {
    throw badRequest({ model: 'is not an available model' });
  }
}

export async function createThread(deps: Deps, userId: string, body: CreateThreadBody) {
  await checkModel(deps, userId, body.model);
  return deps.sql.begin((tx) =>
    writes.insertThread(tx, userId, {
      title: (body.title ?? '').trim(),
      model: body.model ?? null,
      systemPrompt: body.systemPrompt ?? '',
    }),
  );
}

export async function requireThread(deps: Pick<Deps, 'sql'>, userId: string, id: string) {
  const thread = await getThread(deps.sql, userId, id);
  if (!thread) throw notFound('Thread');
  return thread;
}

export async function updateThread(deps: Deps, userId: string, id: string, body: UpdateThreadBody) {
  if (Object.keys(body).length === 0) throw badRequest({ body: 'must change at least one of title, model, systemPrompt, pinned' });
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
