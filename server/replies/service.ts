/**
 * Replies: store the user's message, create the assistant message, and generate
 * it in the background. Persistence happens here, never in the route, so a reply
 * survives its connection: deltas are written in batches while streaming, the
 * final state once, and anyone can re-attach through the Generations registry
 * (or, for a reply running in another instance, by polling the row).
 */
import type { AppDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';
import { nextSeq } from '../sync/seq';
import type { Attachment, Message } from '../threads/model';
import * as q from '../threads/queries';
import { requireThread } from '../threads/service';
import { buildContext, crashed, run } from './generate';
import { Generation, type Generations } from './generations';
import { sourceFor, type Source } from './stream';
import { provisionalTitle } from './title';
import type { PostMessageBody } from './model';

export { attach, sourceFor, type Source } from './stream';
export { FLUSH_MS } from './generate';

export interface FileReader {
  /** The bytes of a user's file, or null when absent or not theirs. */
  read(userId: string, fileId: string): Promise<{ mime: string; bytes: Uint8Array } | null>;
  /** What a message stores about an attached file, or null when absent or not theirs. */
  describe(userId: string, fileId: string): Promise<Attachment | null>;
}

export type ReplyDeps = Pick<AppDeps, 'sql' | 'providers' | 'config'> & {
  generations: Generations;
  files: FileReader;
};

/** The body of POST /api/threads/:id/messages (attachments: file ids from POST /api/files). */
export type PostBody = PostMessageBody;

/**
 * POST /api/threads/:id/messages: the user message plus its reply (idempotent on `id`).
 * The provider request starts while the rows are being written (the context is the
 * parent's branch plus this message, all known already), so the write costs the
 * reply no time to first token.
 */
export async function postMessage(deps: ReplyDeps, userId: string, threadId: string, body: PostBody) {
  const content = body.content;
  if (!content.trim() && !body.attachments?.length) throw badRequest({ content: 'must not be empty' });
  const look = await q.postLookup(deps.sql, userId, threadId, body.id, body.parentId ?? null);
  if (!look) throw notFound('Thread');
  const { thread } = look;

  if (look.existing) {
    const retry = await findRetry(deps, userId, threadId, body.id);
    if (retry) return retry;
  }
  if (body.parentId && look.parentThreadId !== threadId) {
    throw badRequest({ parentId: 'is not a message of this thread' });
  }
  const parentId = body.parentId === undefined ? look.latestId : body.parentId;
  const attachments: Attachment[] = [];
  for (const [i, a] of (body.attachments ?? []).entries()) {
    const found = await deps.files.describe(userId, a.id);
    if (!found) throw badRequest({ [`attachments.${i}`]: 'is not one of your files' });
    attachments.push(found);
  }
  const model = await deps.providers.resolveModel(userId, body.model ?? thread.model);

  const assistantId = crypto.randomUUID();
  const now = new Date();
  const draft: Message = {
    id: assistantId,
    threadId,
    parentId: body.id,
    role: 'assistant',
    content: '',
    status: 'streaming',
    model,
    error: null,
    createdAt: now.toISOString(),
    attachments: [],
    tokensIn: null,
    tokensOut: null,
  };
  const generation = new Generation(assistantId, threadId, userId, draft);
  const written = q.insertExchange(deps.sql, userId, {
    threadId,
    userMessageId: body.id,
    assistantId,
    parentId,
    content,
    attachments,
    model,
    provisionalTitle: provisionalTitle(content),
  });
  const context = buildContext(deps, userId, thread, parentId, { content, attachments });
  const ready = written.then(
    (rows) => rows !== null,
    () => false,
  );
  // A new thread is named by its first message at once, and by the model after the reply.
  const nameThread = !thread.title;
  const named = { ...thread, title: thread.title || provisionalTitle(content) };
  void run(deps, generation, named, context, ready, nameThread).catch((error) => crashed(generation, error));

  const created = await written.catch((error) => {
    generation.abort.abort('write failed');
    throw error;
  });
  if (!created) {
    generation.abort.abort('duplicate');
    const again = await findRetry(deps, userId, threadId, body.id, 2000);
    if (again) return again;
    throw conflict('This message is already being stored; retry', { id: 'is being stored' });
  }
  generation.message = created.assistant;
  deps.generations.add(generation);
  return { user: created.user, source: { kind: 'live', generation } as Source };
}

/** The same client id again: the stored message and its reply, or 409 if the id is not ours to reuse. */
async function findRetry(deps: ReplyDeps, userId: string, threadId: string, id: string, waitMs = 0) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const owner = await q.messageOwner(deps.sql, id);
    if (owner) {
      if (owner.userId !== userId || owner.threadId !== threadId || owner.role !== 'user') {
        throw conflict('This message id is already used', { id: 'is already used' });
      }
      const user = (await q.getMessage(deps.sql, userId, id))!;
      const assistant = await q.latestChild(deps.sql, userId, id, 'assistant');
      if (assistant) return { user, source: await sourceFor(deps, assistant) };
    }
    if (Date.now() >= deadline) return null;
    await Bun.sleep(50);
  }
}

/** Regenerate: a new assistant reply beside the old one (same parent). */
export async function regenerate(deps: ReplyDeps, userId: string, messageId: string, model?: string) {
  const target = await q.getMessage(deps.sql, userId, messageId);
  if (!target) throw notFound('Message');
  const parentId = target.role === 'user' ? target.id : target.parentId;
  if (!parentId) throw badRequest({ id: 'has no user message to answer' });
  const parent = (await q.getMessage(deps.sql, userId, parentId))!;
  const thread = await requireThread(deps, userId, target.threadId);
  const resolved = await deps.providers.resolveModel(userId, model ?? thread.model);
  const assistant = await deps.sql.begin(async (tx) => {
    const row = await q.insertMessage(tx, userId, {
      id: crypto.randomUUID(),
      threadId: thread.id,
      parentId,
      role: 'assistant',
      content: '',
      status: 'streaming',
      model: resolved,
    });
    await q.touchThread(tx, userId, thread.id);
    return row!;
  });
  const generation = new Generation(assistant.id, thread.id, userId, assistant);
  deps.generations.add(generation);
  const context = buildContext(deps, userId, thread, parent.id, null);
  void run(deps, generation, thread, context, Promise.resolve(true), false).catch((error) => crashed(generation, error));
  return generation;
}

export async function cancel(deps: ReplyDeps, userId: string, messageId: string) {
  const message = await q.getMessage(deps.sql, userId, messageId);
  if (!message) throw notFound('Message');
  const live = deps.generations.get(messageId);
  if (live) {
    live.cancelled = true;
    live.abort.abort('cancelled');
    await live.settled;
    return live.message;
  }
  if (message.status !== 'streaming') return message;
  // Orphaned (server restarted, or another instance): mark it so it stops showing as live.
  const [row] = await deps.sql.begin(async (tx) => {
    const seq = await nextSeq(tx, userId);
    return tx<Message[]>`
      update messages set status = 'cancelled', updated_at = now(), seq = ${seq}
      where id = ${messageId} and user_id = ${userId} and status = 'streaming'
      returning ${q.messageColumns(tx)}`;
  });
  return row ?? (await q.getMessage(deps.sql, userId, messageId))!;
}

/** Streaming rows left behind by a process that stopped: no one will finish them. */
export async function failOrphans(deps: Pick<AppDeps, 'sql'>, olderThanSeconds = 120) {
  const rows = await deps.sql<{ id: string; userId: string }[]>`
    select id, user_id from messages
    where status = 'streaming' and updated_at < now() - make_interval(secs => ${olderThanSeconds})`;
  for (const row of rows) {
    await deps.sql.begin(async (tx) => {
      const seq = await nextSeq(tx, row.userId);
      await tx`
        update messages set status = 'error', error = 'Interrupted: the server restarted', seq = ${seq}
        where id = ${row.id} and status = 'streaming'`;
    });
  }
  return rows.length;
}
