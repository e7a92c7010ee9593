/**
 * Replies: store the user's message, create the assistant message, and generate
 * it in the background. Persistence happens in the runner, never in the route, so a
 * reply survives its connection; anyone can re-attach through the Generations
 * registry (or, for a reply running in another instance, through the relay: LISTEN/NOTIFY).
 *
 * The feature's modules, each depending only on those listed before it:
 *   types.ts        shared types (a leaf)
 *   model.ts        request schemas
 *   sse.ts          a Feed as a text/event-stream Response
 *   generations.ts  Generation (one reply in flight) and the registry
 *   context.ts      the conversation given to the provider
 *   title.ts        provisional titles and the naming completion step
 *   runner.ts       generating one reply (a ReplyJob)
 *   streams.ts      the open reply streams by session (ended by sign-out, disabling)
 *   relay.ts        replies across instances over the bus (LISTEN/NOTIFY)
 *   lease.ts        a reply's lease: renewed while generating, swept when its instance died
 *   attach.ts       feeding a client from a live, final or remote reply
 *   service.ts      what the routes call (this file)
 *   index.ts        the routes
 * The SQL is the conversation store's (server/conversations/), the only writer of
 * threads and messages.
 */
import { branch, getMessage, latestChild, messageOwner, postLookup } from '../conversations/queries';
import { cancelStreaming, failOrphans as failOrphanRows, insertExchange, insertReply } from '../conversations/writes';
import type { AppDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';
import type { Attachment, Message } from '../threads/model';
import { requireThread } from '../threads/service';
import { feedOf, sourceFor, type Source } from './attach';
import { budgetForModel, buildContext, planDocuments } from './context';
import { Generation, type Generations } from './generations';
import type { Relay } from './relay';
import { loopDeps, startReply } from './runner';
import { nameThread, provisionalTitle } from './title';
import type { PostMessageBody } from './model';
import type { CompletionStep, Feed, FileReader, RunnerDeps } from './types';
import type { UserView } from '../providers/types';
import { allowedModel, assertModelChoice } from '../auth/policy';
import { permissionsForUser, type Permissions } from '../auth/permissions';
import { estimateTokens, release, REPLY_HOLD, reserve, type Hold } from '../quota/service';
import { prepare, type LoopOptions, type Prepared } from '../tools/loop';

export type ReplyDeps = RunnerDeps & {
  generations: Generations;
  files: FileReader;
  /** Completion steps run after every complete reply, after naming (e.g. a push notification). */
  afterReply?: CompletionStep[];
  relay: Relay;
};

/** The body of POST /api/threads/:id/messages (attachments: file ids from POST /api/files). */
export type PostBody = PostMessageBody;

/** The `user` event, then the reply's events. */
function exchangeFeed(deps: ReplyDeps, userId: string, user: Message, source: Source): Feed {
  const reply = feedOf(deps, userId, source);
  return (send, close, viewer) => {
    send({ event: 'user', data: { message: user } });
    return reply(send, close, viewer);
  };
}

/**
 * POST /api/threads/:id/messages: the user message plus its reply (idempotent on `id`).
 * The provider request starts while the rows are being written (the context is the
 * parent's branch plus this message, all known already), so the write costs the
 * reply no time to first token.
 */
export async function postMessage(deps: ReplyDeps, userId: string, threadId: string, body: PostBody, session: Promise<unknown>): Promise<Feed> {
  const content = body.content;
  if (!content.trim() && !body.attachments?.length) throw badRequest({ content: 'must not be empty' });
  // `session`: the route's session check (auth plugin, authBeside), still running; nothing below
  // writes, streams or asks a provider until it has passed (the Promise.all below).
  // Reads side by side, all the caller's own: the thread (404 if not theirs) with their
  // permissions and whether their quota is unlimited (postLookup), their keys and models
  // (Providers.view, for the model), and the branch the reply answers (the parent's, or the
  // thread's latest message's). Read-only database reads, so safe to start before the 404 and
  // the session check; a refused request drops them unread. The model lists may ask the
  // providers, so they wait for `passed`: once every check below is through (a refused post
  // leaves it pending).
  let passed!: () => void;
  const viewing = deps.providers.view?.(userId, new Promise<void>((resolve) => (passed = resolve)));
  viewing?.catch(() => {});
  const answering = body.parentId === null ? null : branch(deps.sql, userId, body.parentId ?? { latestOf: threadId });
  answering?.catch(() => {});
  const [look] = await Promise.all([postLookup(deps.sql, userId, threadId, body.id, body.parentId ?? null), session]);
  if (!look) throw notFound('Thread');
  const { thread, permissions } = look;

  if (look.existing) {
    const retry = await storedExchange(deps, userId, threadId, body.id);
    if (retry) return retry;
  }
  if (body.parentId && look.parentThreadId !== threadId) {
    throw badRequest({ parentId: 'is not a message of this thread' });
  }
  const parentId = body.parentId === undefined ? look.latestId : body.parentId;
  // The branch read beside the lookup ends where the lookup says the reply goes (a message posted
  // between the two reads could make them differ): otherwise it is read again from that parent.
  const path = answering?.then((p) => (p.at(-1)?.id === (parentId ?? undefined) ? p : parentId ? branch(deps.sql, userId, parentId) : []));
  path?.catch(() => {}); // the runner reads it (and handles its failure); a 400 below drops it
  const attachments: Attachment[] = [];
  for (const [i, a] of (body.attachments ?? []).entries()) {
    const found = await deps.files.describe(userId, a.id);
    if (!found) throw badRequest({ [`attachments.${i}`]: 'is not one of your files' });
    attachments.push(found);
  }
  assertModelChoice(permissions, body.model, thread.model);
  passed();
  // The quota is checked (and this reply's share set aside) before the provider is asked to answer,
  // while the user's keys and models are read (once: Providers.view, handed to the runner's steps too).
  // (An unlimited account sets nothing aside: postLookup says so.)
  const holding: Promise<Hold> = look.unlimited ? Promise.resolve({ id: null, userId }) : reserve(deps.sql, userId, estimateTokens(content) + REPLY_HOLD);
  holding.catch(() => {}); // awaited below; a failure before then releases what it took
  const choice = (async () => {
    const view = await viewing;
    return { view, model: await replyModel(deps, userId, permissions, body.model ?? thread.model, view) };
  })();
  choice.catch(() => {}); // awaited below
  const budget = () => choice.then(({ view, model }) => budgetForModel(deps, userId, model, view));
  let model: string | null;
  let options: LoopOptions;
  let prepared: Promise<Prepared> | undefined;
  let context: ReturnType<typeof buildContext>;
  let noted: Attachment[];
  try {
    // A document trimmed to the model's context says so on the message (stored, so it stays after a reload).
    noted = attachments.some((a) => a.textStatus === 'ready') ? await noteTrims(deps, userId, content, attachments, await budget()) : attachments;
    // The conversation is read while the model is resolved: one round trip less before the provider request.
    context = buildContext(deps, userId, thread, path ?? null, { content, attachments: noted }, budget);
    context.catch(() => {}); // the runner handles its failure; this only keeps an early throw below from leaving it unhandled
    const chosen = await choice;
    model = chosen.model;
    options = { webSearch: body.webSearch, reasoningEffort: body.reasoningEffort, view: chosen.view };
    // The model's information and tools are looked up while the quota and the conversation are read.
    prepared = model ? prepare(loopDeps(deps), userId, model, options) : undefined;
  } catch (error) {
    void holding.then((h) => release(deps.sql, h)).catch(() => {});
    throw error;
  }
  const hold = await holding;

  const draft: Message = {
    id: crypto.randomUUID(),
    threadId,
    parentId: body.id,
    role: 'assistant',
    content: '',
    status: 'streaming',
    model,
    error: null,
    createdAt: new Date().toISOString(),
    attachments: [],
    tokensIn: null,
    tokensOut: null,
    reasoning: '',
    toolCalls: [],
    sources: [],
  };
  const generation = new Generation(userId, draft);
  const provisional = provisionalTitle(content);
  const written = insertExchange(deps.sql, userId, {
    threadId,
    userMessageId: body.id,
    assistantId: draft.id,
    parentId,
    content,
    attachments: noted,
    model,
    provisionalTitle: provisional,
  });
  startReply(deps, {
    generation,
    context,
    stored: written.then(
      (rows) => rows !== null,
      () => false,
    ),
    // A new thread is named by its first message at once, and by the model after the reply.
    completion: [...(thread.title ? [] : [nameThread(deps, provisional)]), ...(deps.afterReply ?? [])],
    hold,
    options,
    prepared,
  });

  const created = await written.catch((error) => {
    generation.stop('write failed');
    throw error;
  });
  if (!created) {
    // The id was taken meanwhile (a retry racing the original): insertExchange waited
    // for that write to commit (user row, unique index), so its rows are there to replay.
    generation.stop('duplicate');
    const again = await storedExchange(deps, userId, threadId, body.id);
    if (again) return again;
    throw conflict('This message is already being stored; retry', { id: 'is being stored' });
  }
  generation.stored(created.assistant);
  deps.generations.add(generation);
  return exchangeFeed(deps, userId, created.user, { kind: 'live', generation });
}

/** The attachments with a `note` on each document whose text had to be trimmed for this model. */
async function noteTrims(deps: ReplyDeps, userId: string, content: string, attachments: Attachment[], budget: number) {
  const texts = (await deps.files.texts?.(userId, attachments.map((a) => a.id))) ?? new Map<string, string>();
  const plan = planDocuments([{ role: 'user', content, attachments }], texts, budget);
  return attachments.map((a) => {
    const note = plan.get(a.id)?.note;
    return note ? { ...a, note } : a;
  });
}

/** The model a reply uses: the provider's choice, kept within the account's allow-list. */
async function replyModel(deps: ReplyDeps, userId: string, permissions: Permissions, requested: string | null, view?: UserView) {
  const resolved = await deps.providers.resolveModel(userId, requested, view);
  if (permissions.models === null) return resolved;
  return allowedModel(permissions, resolved, view?.models ?? (await deps.providers.models(userId)).models);
}

/** The same client id again: the stored message and its reply, or 409 if the id is not ours to reuse. */
async function storedExchange(deps: ReplyDeps, userId: string, threadId: string, id: string) {
  const owner = await messageOwner(deps.sql, id);
  if (!owner) return null;
  if (owner.userId !== userId || owner.threadId !== threadId || owner.role !== 'user') {
    throw conflict('This message id is already used', { id: 'is already used' });
  }
  const user = (await getMessage(deps.sql, userId, id))!;
  const assistant = await latestChild(deps.sql, userId, id, 'assistant');
  return assistant ? exchangeFeed(deps, userId, user, sourceFor(deps.generations, assistant)) : null;
}

/** GET /api/messages/:id/stream: a reply's events; a user message's stream is its latest reply's. */
export async function follow(deps: ReplyDeps, userId: string, messageId: string): Promise<Feed> {
  const message = await getMessage(deps.sql, userId, messageId);
  if (!message) throw notFound('Message');
  const target = message.role === 'user' ? await latestChild(deps.sql, userId, message.id, 'assistant') : message;
  if (!target) throw notFound('Reply');
  return feedOf(deps, userId, sourceFor(deps.generations, target));
}

/** Regenerate: a new assistant reply beside the old one (same parent). */
export async function regenerate(deps: ReplyDeps, userId: string, messageId: string, model?: string): Promise<Feed> {
  const target = await getMessage(deps.sql, userId, messageId);
  if (!target) throw notFound('Message');
  const parentId = target.role === 'user' ? target.id : target.parentId;
  if (!parentId) throw badRequest({ id: 'has no user message to answer' });
  const parent = (await getMessage(deps.sql, userId, parentId))!;
  const [thread, permissions] = await Promise.all([requireThread(deps, userId, target.threadId), permissionsForUser(deps.sql, userId)]);
  assertModelChoice(permissions, model, thread.model);
  const view = await deps.providers.view?.(userId);
  const resolved = await replyModel(deps, userId, permissions, model ?? thread.model, view);
  const hold = await reserve(deps.sql, userId, estimateTokens(parent.content) + REPLY_HOLD);
  const assistant = await insertReply(deps.sql, userId, { threadId: thread.id, parentId, model: resolved });
  const generation = new Generation(userId, assistant);
  deps.generations.add(generation);
  startReply(deps, {
    generation,
    context: buildContext(deps, userId, thread, parent.id, null, () => budgetForModel(deps, userId, resolved)),
    stored: Promise.resolve(true),
    completion: deps.afterReply,
    hold,
    options: { view },
  });
  return feedOf(deps, userId, { kind: 'live', generation });
}

/** POST /api/messages/:id/cancel: the reply as it ends (cancelled, or already final). */
export async function cancel(deps: ReplyDeps, userId: string, messageId: string) {
  const message = await getMessage(deps.sql, userId, messageId);
  if (!message) throw notFound('Message');
  const live = deps.generations.get(messageId);
  if (live) {
    live.cancel();
    await live.finished;
    return live.message;
  }
  if (message.status !== 'streaming') return message;
  // Generating in another instance: that instance cancels it and stores what it had.
  if (await deps.relay.cancelRemote(messageId)) {
    const row = await getMessage(deps.sql, userId, messageId);
    if (row && row.status !== 'streaming') return row;
  }
  // Orphaned (server restarted, or its instance is gone): mark it so it stops showing as live.
  return (await cancelStreaming(deps.sql, userId, messageId)) ?? (await getMessage(deps.sql, userId, messageId))!;
}

/** At start-up: streaming rows left behind by a process that stopped are marked failed. */
export async function failOrphans(deps: Pick<AppDeps, 'sql'>, olderThanSeconds = 120) {
  return failOrphanRows(deps.sql, olderThanSeconds);
}
