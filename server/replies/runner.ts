/**
 * Generating one reply in the background: the provider's stream is relayed to the
 * Generation (and so to every attached client), written to the row in batches, and
 * stored once in its final state; a watchdog ends a provider that stays silent.
 * After a complete reply, the job's completion steps run (e.g. naming the thread)
 * and their events go out before the stream ends.
 */
import { setupAdvice } from '../auth/service';
import { appendReplyText, finishReply } from '../conversations/writes';
import { log } from '../log';
import type { ChatMessage } from '../providers/types';
import { runModel, type LoopOptions } from '../tools/loop';
import type { Message } from '../threads/model';
import type { Generation } from './generations';
import type { CompletionStep, RunnerDeps } from './types';

/**
 * How often streamed text is written to the row while a reply is generating: what a
 * crash can lose, and how far behind a reader in another instance can be. Each write
 * appends only the new text, so a long reply costs O(length) bytes, not O(length²).
 */
export const FLUSH_MS = 500;

export interface ReplyJob {
  generation: Generation;
  /** The conversation for the provider (being read while the rows are written). */
  context: Promise<ChatMessage[]>;
  /** True once the assistant row exists; false when it never will (duplicate or failed write). */
  stored: Promise<boolean>;
  /** Run in order after a complete reply, before the stream ends. */
  completion?: CompletionStep[];
  /** A forced web search, more reasoning (the message's own choices). */
  options?: LoopOptions;
}

/** Starts the job; it runs to its end whoever is attached. */
export function startReply(deps: RunnerDeps, job: ReplyJob) {
  void run(deps, job).catch((error) => crashed(job.generation, error));
}

function crashed(g: Generation, error: unknown) {
  log.error('reply crashed', { messageId: g.messageId, error: String(error) });
  if (!g.isFinished) {
    const message = { ...g.message, content: g.text, status: 'error' as const, error: 'The reply failed' };
    g.finish({ event: 'error', data: { message, error: { code: 'internal', message: 'The reply failed' } } });
  }
  g.end();
}

async function run(deps: RunnerDeps, job: ReplyJob) {
  const { generation: g } = job;
  let stored = false;
  void job.stored.then((ok) => {
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
    flushing = appendReplyText(deps.sql, g.messageId, g.text.slice(flushed, upTo))
      .then(
        (outcome) => {
          flushed = upTo;
          if (outcome === 'gone') {
            gone = true;
            g.stop('gone');
          }
        },
        () => {}, // a database hiccup: the same piece is retried next time
      )
      .finally(() => {
        flushing = null;
      });
  };
  const flusher = setInterval(flush, FLUSH_MS);
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      timedOut = true;
      g.stop('timeout');
    }, timeoutMs);
  };

  try {
    if (!g.message.model) {
      failure = await setupAdvice(
        deps.sql,
        g.userId,
        'No model is available yet.',
        'Configure a provider (MISTRAL_API_KEY or OPENAI_API_KEY), or save your own key in Settings.',
        'Ask the person who runs this Parley to set one up, or save your own key in Settings.',
      );
    } else {
      const conversation = await job.context;
      arm();
      // The provider calls, tool calls between them, reasoning: server/tools/loop.ts.
      const outcome = await runModel(
        { providers: deps.providers, tools: deps.tools, limits: deps.config.tools },
        g,
        conversation,
        job.options ?? {},
        { arm, pause: () => clearTimeout(watchdog) },
      );
      usage = outcome.usage;
      failure = outcome.failure;
    }
  } catch (error) {
    if (!g.signal.aborted) failure = error instanceof Error ? error.message : 'The provider failed';
  } finally {
    clearInterval(flusher);
    clearTimeout(watchdog);
  }
  if (timedOut) failure = `The provider did not answer for ${Math.round(timeoutMs / 1000)} s`;
  await flushing;
  if (!(await job.stored)) {
    g.end(); // the rows were never written (duplicate or failed): nothing to finish
    return;
  }

  const status: Message['status'] = g.cancelled ? 'cancelled' : failure ? 'error' : gone ? 'cancelled' : 'complete';
  let final: Message = {
    ...g.message,
    content: g.text,
    status,
    error: status === 'error' ? failure : null,
    reasoning: g.reasoning,
    toolCalls: g.toolCalls,
    sources: g.sources,
  };
  if (!gone) {
    try {
      final =
        (await finishReply(deps.sql, g.userId, {
          messageId: g.messageId,
          threadId: g.threadId,
          content: g.text,
          status,
          error: final.error,
          usage,
          reasoning: g.reasoning,
          toolCalls: g.toolCalls,
          sources: g.sources,
        })) ?? final;
    } catch (error) {
      log.error('could not store a finished reply', { messageId: g.messageId, error: String(error) });
    }
  }
  if (status === 'error') {
    const code = timedOut ? 'provider_timeout' : 'provider_error';
    g.finish({ event: 'error', data: { message: final, error: { code, message: final.error ?? 'The reply failed' } } });
  } else {
    g.finish({ event: 'done', data: { message: final } });
  }
  if (status === 'complete') {
    const context = await job.context;
    for (const step of job.completion ?? []) {
      const event = await step({ userId: g.userId, threadId: g.threadId, message: final, context }).catch((error) => {
        log.warn('a reply completion step failed', { messageId: g.messageId, error: String(error) });
        return null;
      });
      if (event) g.note(event);
    }
  }
  g.end();
}
