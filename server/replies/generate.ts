/**
 * Generating one reply in the background: the provider's stream is relayed to the
 * Generation (and so to every attached client), written to the row in batches, and
 * stored once in its final state; a watchdog ends a provider that stays silent.
 */
import { log } from '../log';
import type { ChatMessage, ContentPart } from '../providers/types';
import { nextSeq } from '../infra/seq';
import type { Attachment, Message, Thread } from '../threads/model';
import * as q from '../threads/queries';
import type { Generation } from './generations';
import type { ReplyDeps } from './service';
import { maybeGenerateTitle } from './title';

/**
 * How often streamed text is written to the row while a reply is generating: what a
 * crash can lose, and how far behind a reader in another instance can be. Each write
 * appends only the new text, so a long reply costs O(length) bytes, not O(length²).
 */
export const FLUSH_MS = 500;

/** The conversation for the provider: system prompt, the branch ending at `leafId`, then `extra`. */
export async function buildContext(
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

export function crashed(generation: Generation, error: unknown) {
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
export async function run(
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
