/**
 * Generating one reply in the background: the provider's stream is relayed to the
 * Generation (and so to every attached client), written to the row in batches, and
 * stored once in its final state; a watchdog ends a provider that stays silent.
 * After a complete reply, the job's completion steps run (e.g. naming the thread)
 * and their events go out before the stream ends.
 */
import { setupAdvice } from '../auth/service';
import { appendReplyTexts, finishReply, storeStreamingToolCalls } from '../conversations/writes';
import type { Sql } from '../db';
import { log } from '../log';
import { isDatabaseDown } from '../errors';
import type { ChatMessage } from '../providers/types';
import { prepare, runModel, type LoopDeps, type LoopOptions, type Prepared } from '../tools/loop';
import type { Message } from '../threads/model';
import type { Generation } from './generations';
import { estimateTokens, release, settle, type Hold } from '../quota/service';
import type { CompletionStep, RunnerDeps } from './types';

/**
 * How often streamed text is written to the row while a reply is generating: what a
 * crash can lose (a reader in another instance gets every delta over LISTEN/NOTIFY). Each write
 * appends only the new text, so a long reply costs O(length) bytes, not O(length²).
 */
export const FLUSH_MS = 250;

/** A reply's text not yet in its row, when the writer asks; `done` says how the write went. */
type Pending = { id: string; text: string; done(outcome: 'stored' | 'gone' | 'failed'): void };

/**
 * Writes the streamed text of every reply in flight in this process every FLUSH_MS, in ONE
 * statement for all of them (200 replies in flight cost 4 writes a second, not 800), so the
 * database's time goes to the requests that wait for it.
 */
class ReplyWriter {
  #sources = new Set<() => Pending | null>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  constructor(private readonly sql: Sql) {}

  add(source: () => Pending | null) {
    this.#sources.add(source);
    this.#timer ??= setInterval(() => void this.#tick(), FLUSH_MS);
    return () => {
      this.#sources.delete(source);
      if (!this.#sources.size) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  async #tick() {
    if (this.#busy) return;
    const pending = [...this.#sources].map((s) => s()).filter((p): p is Pending => p !== null);
    if (!pending.length) return;
    this.#busy = true;
    try {
      const stored = await appendReplyTexts(this.sql, pending);
      for (const p of pending) p.done(stored.has(p.id) ? 'stored' : 'gone');
    } catch {
      for (const p of pending) p.done('failed'); // a database hiccup: the same text is retried next time
    } finally {
      this.#busy = false;
    }
  }
}

const writers = new WeakMap<Sql, ReplyWriter>();
const writerFor = (sql: Sql) => {
  let w = writers.get(sql);
  if (!w) writers.set(sql, (w = new ReplyWriter(sql)));
  return w;
};

export interface ReplyJob {
  generation: Generation;
  /** The conversation for the provider (being read while the rows are written). */
  context: Promise<ChatMessage[]>;
  /** True once the assistant row exists; false when it never will (duplicate or failed write). */
  stored: Promise<boolean>;
  /** Run in order after a complete reply, before the stream ends. */
  completion?: CompletionStep[];
  /** The quota hold taken before the provider was called: settled with what the reply used. */
  hold?: Hold;
  /** A forced web search, more reasoning (the message's own choices), the user's keys and models. */
  options?: LoopOptions;
  /** The model's information and tools when the caller started looking them up already (prepare). */
  prepared?: Promise<Prepared>;
}

/** What the tool loop needs of the runner's dependencies. */
export const loopDeps = (deps: RunnerDeps): LoopDeps => ({ providers: deps.providers, tools: deps.tools, limits: deps.config.tools });

/** Starts the job; it runs to its end whoever is attached. */
export function startReply(deps: RunnerDeps, job: ReplyJob) {
  void run(deps, job).catch((error) => {
    crashed(job.generation, error);
    if (job.hold) void release(deps.sql, job.hold).catch(() => {});
  });
}

/** Debits the reply's use (the provider's figures, else an estimate) and releases its hold. */
async function meter(deps: RunnerDeps, job: ReplyJob, use: { tokensIn: number; tokensOut: number } | null) {
  if (!job.hold) return;
  try {
    if (!use) await release(deps.sql, job.hold);
    else {
      await settle(deps.sql, job.hold, { ...use, source: 'reply', model: job.generation.message.model, messageId: job.generation.messageId });
    }
  } catch (error) {
    log.error('could not debit a reply', { messageId: job.generation.messageId, error: String(error) });
  }
}

const STOP_MESSAGES: Record<string, string> = {
  shutdown: 'Interrupted: the server stopped',
  'account disabled': 'Stopped: the account was disabled',
};
const stopMessage = (reason: unknown) => STOP_MESSAGES[String(reason)] ?? 'The reply was stopped';

/** How long a finished reply is retried while the database is away (restart, failover). */
export const STORE_RETRY_MS = 60_000;

/**
 * The final row, retried while the database is away so a restart mid-reply loses nothing;
 * null when the row is gone (thread or account deleted) or it never came back in time.
 */
async function storeFinal(
  deps: RunnerDeps,
  g: Generation,
  r: { status: Message['status']; error: string | null; usage: { inputTokens: number; outputTokens: number } | null },
) {
  const until = Date.now() + STORE_RETRY_MS;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await finishReply(deps.sql, g.userId, {
        messageId: g.messageId,
        threadId: g.threadId,
        content: g.text,
        reasoning: g.reasoning,
        toolCalls: g.toolCalls,
        sources: g.sources,
        ...r,
      });
    } catch (error) {
      // Only an unreachable database is worth waiting for (a restart); anything else (the
      // account deleted meanwhile) will not get better, and the reply must not linger.
      if (!isDatabaseDown(error) || Date.now() + wait > until) {
        log.warn('could not store a finished reply', { messageId: g.messageId, error: String(error) });
        return null;
      }
      await Bun.sleep(wait);
    }
  }
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
  let called = false; // the provider was asked (so the reply is debited)
  let gone = false; // message, thread or account deleted (or account disabled)

  let flushed = 0; // characters of g.text already in the row
  let flushing = false;
  const stopWriting = writerFor(deps.sql).add(() => {
    if (g.text.length === flushed || flushing || !stored) return null;
    const upTo = g.text.length;
    flushing = true;
    return {
      id: g.messageId,
      text: g.text.slice(flushed, upTo),
      done(outcome) {
        flushing = false;
        if (outcome === 'failed') return;
        flushed = upTo;
        if (outcome === 'gone') {
          gone = true;
          g.stop('gone');
        }
      },
    };
  });
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let paused = true;
  // Re-armed on every provider event: the same timer restarted (refresh), not a new one per chunk.
  const arm = () => {
    if (watchdog && !paused) {
      watchdog.refresh();
      return;
    }
    clearTimeout(watchdog);
    paused = false;
    watchdog = setTimeout(() => {
      timedOut = true;
      g.stop('timeout');
    }, timeoutMs);
  };
  const pause = () => {
    paused = true;
    clearTimeout(watchdog);
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
      const loop: LoopDeps = {
        ...loopDeps(deps),
        // After the row exists (the provider request starts while it is being written).
        storeToolCalls: async (calls) => (await job.stored) && storeStreamingToolCalls(deps.sql, g.userId, g.messageId, calls),
      };
      const options = job.options ?? {};
      // The model's information and its tools, looked up while the conversation is read (or earlier: job.prepared).
      const prepared = job.prepared ?? prepare(loop, g.userId, g.message.model, options);
      const conversation = await job.context;
      called = true;
      arm();
      // The provider calls, tool calls between them, reasoning: server/tools/loop.ts.
      const outcome = await runModel(loop, g, conversation, options, { arm, pause }, prepared);
      usage = outcome.usage;
      failure = outcome.failure;
    }
  } catch (error) {
    if (!g.signal.aborted) failure = error instanceof Error ? error.message : 'The provider failed';
  } finally {
    stopWriting();
    clearTimeout(watchdog);
  }
  if (timedOut) failure = `The provider did not answer for ${Math.round(timeoutMs / 1000)} s`;
  // Stopped for a reason other than the user's cancel (shutdown, account disabled...): never
  // stored as `complete` though cut short.
  else if (g.signal.aborted && !g.cancelled && !gone && !failure) failure = stopMessage(g.signal.reason);
  // A write of text under way needs no wait: it only touches a row still `streaming`, and
  // the final write below stores the whole text.
  if (!(await job.stored)) {
    await meter(deps, job, null);
    g.end(); // the rows were never written (duplicate or failed): nothing to finish
    return;
  }

  if (called) {
    const input = usage?.inputTokens ?? estimateTokens((await job.context).map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n'));
    await meter(deps, job, { tokensIn: input, tokensOut: usage?.outputTokens ?? estimateTokens(g.text) });
  } else await meter(deps, job, null);

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
  // Stored even when `gone` (a disabled account's row stays; a deleted one is simply absent).
  final = (await storeFinal(deps, g, { status, error: final.error, usage })) ?? final;
  // Who was watching when it ended (before `finish`, which some clients answer by leaving).
  const viewers = g.viewers;
  if (status === 'error') {
    const code = timedOut ? 'provider_timeout' : 'provider_error';
    g.finish({ event: 'error', data: { message: final, error: { code, message: final.error ?? 'The reply failed' } } });
  } else {
    g.finish({ event: 'done', data: { message: final } });
  }
  if (status === 'complete') {
    const context = await job.context;
    for (const step of job.completion ?? []) {
      const event = await step({ userId: g.userId, threadId: g.threadId, message: final, context, viewers }).catch((error) => {
        log.warn('a reply completion step failed', { messageId: g.messageId, error: String(error) });
        return null;
      });
      if (event) g.note(event);
    }
  }
  g.end();
}
