/**
 * Replies: store the user's message, create the assistant message, and generate
 * it in the background. Persistence happens here, never in the route, so a reply
 * survives its connection: deltas are written in batches while streaming, the
 * final state once, and anyone can re-attach through the Generations registry
 * (or, for a reply running in another instance, by polling the row).
 */
import type { AppDeps } from '../deps';
import { badRequest, conflict, notFound } from '../errors';
import { log } from '../log';
import type { ChatMessage, ContentPart } from '../providers/types';
import { nextSeq } from '../sync/seq';
import type { Attachment, Message, Thread } from '../threads/model';
import * as q from '../threads/queries';
import { requireThread } from '../threads/service';
import { Generation, type Generations, type ReplyEvent } from './generations';
import type { Send } from './sse';
import { maybeGenerateTitle, provisionalTitle } from './title';

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

/**
 * How often streamed text is written to the row while a reply is generating: what a
 * crash can lose, and how far behind a reader in another instance can be. Each write
 * appends only the new text, so a long reply costs O(length) bytes, not O(length²).
 */
export const FLUSH_MS = 500;

export interface PostBody {
  id: string;
  content: string;
  parentId?: string | null;
  model?: string;
  /** File ids from POST /api/files. */
  attachments?: { id: string }[];
}

export type Source =
  | { kind: 'live'; generation: Generation }
  | { kind: 'final'; message: Message; text: string; final: ReplyEvent }
  | { kind: 'poll'; message: Message };

const clean = (m: Message): Message => ({ ...m, content: '' });

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
    createdAt: now,
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

/** Where a client attaching to this assistant message gets its events from. */
export async function sourceFor(deps: ReplyDeps, message: Message): Promise<Source> {
  const live = deps.generations.get(message.id);
  if (live) return { kind: 'live', generation: live };
  if (message.status === 'streaming') return { kind: 'poll', message };
  return finalSource(message);
}

function finalEvent(message: Message): ReplyEvent {
  return message.status === 'error'
    ? { event: 'error', data: { message, error: { code: 'provider_error', message: message.error ?? 'The reply failed' } } }
    : { event: 'done', data: { message } };
}

function finalSource(message: Message): Source {
  return { kind: 'final', message, text: message.content, final: finalEvent(message) };
}

/** Feeds a client: everything so far (`start`, one `delta` with the text so far), then live events. */
export function attach(deps: ReplyDeps, userId: string, source: Source, send: Send): () => void {
  if (source.kind === 'final') {
    send({ event: 'start', data: { message: clean(source.message) } });
    if (source.text) send({ event: 'delta', data: { id: source.message.id, text: source.text } });
    send(source.final);
    return () => {};
  }
  if (source.kind === 'live') {
    const g = source.generation;
    send({ event: 'start', data: { message: clean(g.message) } });
    if (g.text) send({ event: 'delta', data: { id: g.messageId, text: g.text } });
    if (g.final) {
      send(g.final);
      return () => {};
    }
    return g.subscribe(send);
  }
  return pollAttach(deps, userId, source.message, send);
}

/** A reply generating in another instance: follow its row until it is final. */
function pollAttach(deps: ReplyDeps, userId: string, message: Message, send: Send): () => void {
  let stopped = false;
  let sent = message.content.length;
  send({ event: 'start', data: { message: clean(message) } });
  if (message.content) send({ event: 'delta', data: { id: message.id, text: message.content } });
  const started = Date.now();
  void (async () => {
    while (!stopped) {
      await Bun.sleep(500);
      if (stopped) return;
      const row = await q.getMessage(deps.sql, userId, message.id).catch(() => undefined);
      if (row === undefined) continue; // database hiccup: try again
      if (row === null) {
        send({ event: 'error', data: { message, error: { code: 'not_found', message: 'The reply was deleted' } } });
        return;
      }
      if (row.content.length > sent) {
        send({ event: 'delta', data: { id: row.id, text: row.content.slice(sent) } });
        sent = row.content.length;
      }
      if (row.status !== 'streaming') {
        send(finalEvent(row));
        return;
      }
      if (Date.now() - started > deps.config.ai.timeoutMs * 10) {
        send({ event: 'error', data: { message: row, error: { code: 'provider_timeout', message: 'The reply stopped making progress' } } });
        return;
      }
    }
  })();
  return () => {
    stopped = true;
  };
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

/** The conversation for the provider: system prompt, the branch ending at `leafId`, then `extra`. */
async function buildContext(
  deps: ReplyDeps,
  userId: string,
  thread: Thread,
  leafId: string | null,
  extra: { content: string; attachments: Attachment[] } | null,
): Promise<ChatMessage[]> {
  const path: { role: Message['role']; content: string; attachments: Attachment[] }[] = leafId
    ? await q.branch(deps.sql, userId, leafId)
    : [];
  if (extra) path.push({ role: 'user', ...extra });
  const messages: ChatMessage[] = [];
  if (thread.systemPrompt.trim()) messages.push({ role: 'system', content: thread.systemPrompt });
  for (const m of path) {
    if (m.role === 'system') continue;
    const images = m.role === 'user' ? (m.attachments ?? []).filter((a) => a.mime?.startsWith('image/')) : [];
    if (!m.content.trim() && !images.length) continue; // an empty failed reply says nothing
    if (!images.length) {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    const parts: ContentPart[] = [];
    if (m.content.trim()) parts.push({ type: 'text', text: m.content });
    for (const a of images) {
      const file = await deps.files.read(userId, a.id);
      if (file) parts.push({ type: 'image', mime: file.mime, data: file.bytes });
    }
    messages.push({ role: m.role, content: parts });
  }
  return messages;
}

function crashed(generation: Generation, error: unknown) {
  log.error('reply crashed', { messageId: generation.messageId, error: String(error) });
  if (!generation.finished) {
    const message = { ...generation.message, content: generation.text, status: 'error' as const, error: 'The reply failed' };
    generation.emit({ event: 'error', data: { message, error: { code: 'internal', message: 'The reply failed' } } });
  }
}

/**
 * Generates one reply. `ready` resolves once the assistant row exists (true) or
 * could not be written (false): nothing touches the row before that.
 */
async function run(
  deps: ReplyDeps,
  g: Generation,
  thread: Thread,
  context: Promise<ChatMessage[]>,
  ready: Promise<boolean>,
  nameThread: boolean,
) {
  const { sql } = deps;
  let stored = false;
  void ready.then((ok) => {
    stored = ok;
  });
  const timeoutMs = deps.config.ai.timeoutMs;
  let usage: { inputTokens: number; outputTokens: number } | null = null;
  let failure: string | null = null;
  let timedOut = false;
  let gone = false; // message, thread or account deleted (or account disabled)

  let flushed = 0; // characters of g.text already in the row
  let flushing: Promise<void> | null = null;
  const flush = () => {
    if (g.text.length === flushed || flushing || !stored) return;
    const upTo = g.text.length;
    const piece = g.text.slice(flushed, upTo);
    flushing = (async () => {
      const rows = await sql`
        update messages m set content = m.content || ${piece}, updated_at = now()
        from users u
        where m.id = ${g.messageId} and m.status = 'streaming' and u.id = m.user_id and not u.disabled
        returning m.id`.catch(() => null);
      if (rows) flushed = upTo; // on a database hiccup the same piece is retried next time
      if (rows && rows.length === 0) {
        gone = true;
        g.abort.abort('gone');
      }
    })().finally(() => {
      flushing = null;
    });
  };
  const flusher = setInterval(flush, FLUSH_MS);
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      timedOut = true;
      g.abort.abort('timeout');
    }, timeoutMs);
  };

  try {
    if (!g.message.model) {
      failure = 'No model is available: configure a provider (MISTRAL_API_KEY or OPENAI_API_KEY) or save your own key in Settings';
    } else {
      const conversation = await context;
      arm();
      for await (const event of deps.providers.stream(g.userId, g.message.model, conversation, g.abort.signal)) {
        if (g.abort.signal.aborted) break;
        arm();
        if (event.type === 'delta') {
          if (!event.text) continue;
          g.emit({ event: 'delta', data: { id: g.messageId, text: event.text } });
        } else if (event.type === 'usage') usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
        else if (event.type === 'error') {
          failure = event.message || 'The provider failed';
          break;
        } else if (event.type === 'done') break;
      }
    }
  } catch (error) {
    if (!g.abort.signal.aborted) failure = error instanceof Error ? error.message : 'The provider failed';
  } finally {
    clearInterval(flusher);
    clearTimeout(watchdog);
  }
  if (timedOut) failure = `The provider did not answer for ${Math.round(timeoutMs / 1000)} s`;
  await flushing;
  if (!(await ready)) return; // the rows were never written (duplicate or failed): nothing to finish

  const status: Message['status'] = g.cancelled ? 'cancelled' : failure ? 'error' : gone ? 'cancelled' : 'complete';
  let final: Message = { ...g.message, content: g.text, status, error: status === 'error' ? failure : null };
  if (!gone) {
    try {
      final = await sql.begin(async (tx) => {
        const seq = await nextSeq(tx, g.userId);
        const [row] = await tx<Message[]>`
          update messages set content = ${g.text}, status = ${status}, error = ${final.error},
            tokens_in = ${usage?.inputTokens ?? null}, tokens_out = ${usage?.outputTokens ?? null},
            updated_at = now(), seq = ${seq}
          where id = ${g.messageId} and user_id = ${g.userId}
          returning ${q.messageColumns(tx)}`;
        if (row) await q.touchThread(tx, g.userId, g.threadId);
        return row ?? final;
      });
    } catch (error) {
      log.error('could not store a finished reply', { messageId: g.messageId, error: String(error) });
    }
  }
  g.message = final;
  if (status === 'error') {
    const code = timedOut ? 'provider_timeout' : 'provider_error';
    g.emit({ event: 'error', data: { message: final, error: { code, message: final.error ?? 'The reply failed' } } });
  } else {
    g.emit({ event: 'done', data: { message: final } });
  }
  // The thread got a provisional title from this first message: ask the model for a better one.
  if (status === 'complete' && nameThread) {
    const first = (await context).findLast((m) => m.role === 'user');
    const text = typeof first?.content === 'string' ? first.content : '';
    await maybeGenerateTitle(deps, g.userId, thread, text, final.model).catch(() => {});
  }
}
