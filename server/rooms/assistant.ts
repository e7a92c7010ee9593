/**
 * The assistant's turn in a room: one reply at a time per room (queued mentions wait,
 * across instances: queries.claimNext), streamed to everyone through the bus, written
 * to the row as it goes (every FLUSH_MS), with the room's model and system prompt and
 * the recent history with names attributed, trimmed to a budget. The provider failing
 * ends the reply as `error` with the reason shown in the room; nothing is lost.
 */
import type { AppDeps } from '../deps';
import { log } from '../log';
import type { ChatMessage } from '../providers/types';
import type { RoomBus } from './bus';
import * as q from './queries';
import type { RoomMessage } from './model';
import { estimateTokens, REPLY_HOLD, reserve, settle, type Hold } from '../quota/service';

export type AssistantDeps = Pick<AppDeps, 'sql' | 'config' | 'providers'> & { bus: RoomBus };

/** Streamed text reaches the table and the other members this often. */
export const FLUSH_MS = 100;
/** How often a silent reply refreshes its claim (well inside queries.STALE_SECONDS). */
const TOUCH_MS = 10_000;
/** The history given to the model, in characters (about 6,000 tokens): newest kept. */
export const HISTORY_BUDGET = 24_000;

const pumping = new Set<string>();

/** Runs the room's queued replies one after another until none is left (or another instance has one). */
export async function pump(deps: AssistantDeps, roomId: string): Promise<void> {
  if (pumping.has(roomId)) return;
  pumping.add(roomId);
  try {
    for (;;) {
      const { claimed, failed } = await q.claimNext(deps.sql, roomId);
      for (const m of failed) await deps.bus.publish({ k: 'm', room: roomId, seq: m.seq, id: m.id });
      if (!claimed) return;
      await deps.bus.publish({ k: 'm', room: roomId, seq: claimed.seq, id: claimed.id });
      await answer(deps, roomId, claimed).catch((error) =>
        log.error('a room reply crashed', { roomId, messageId: claimed.id, error: String(error) }),
      );
    }
  } catch (error) {
    log.warn('room queue stopped', { roomId, error: String(error) });
  } finally {
    pumping.delete(roomId);
  }
}

/** The provider's conversation: instructions, then the room's recent messages with names. */
export function roomContext(
  room: { name: string; systemPrompt: string | null },
  history: { authorName: string; role: 'user' | 'assistant'; content: string }[],
  budget = HISTORY_BUDGET,
): ChatMessage[] {
  const kept: ChatMessage[] = [];
  let used = 0;
  for (const m of history) {
    const text = m.role === 'user' ? `${m.authorName}: ${m.content}` : m.content;
    if (used + text.length > budget && kept.length) break;
    used += text.length;
    kept.push({ role: m.role, content: text.slice(0, budget) });
  }
  kept.reverse();
  const system = [
    room.systemPrompt?.trim(),
    `You are the assistant in "${room.name}", a group conversation. Each person's message starts with their name; answer the person who called you, and address people by name when it helps.`,
  ]
    .filter(Boolean)
    .join('\n\n');
  return [{ role: 'system', content: system }, ...kept];
}

async function answer(deps: AssistantDeps, roomId: string, reply: RoomMessage & { requestedBy: string | null }) {
  const [room] = await deps.sql<{ name: string; systemPrompt: string | null; model: string | null }[]>`
    select name, system_prompt, model from rooms where id = ${roomId}`;
  if (!room) return;
  const payer = reply.requestedBy;
  const model = payer ? await deps.providers.resolveModel(payer, reply.model ?? room.model) : null;
  let usage: { inputTokens: number; outputTokens: number } | null = null;
  let hold: Hold | null = null;
  let produced = 0; // characters of answer, for an estimate when the provider reports no usage
  const controller = new AbortController();
  let pending = '';
  let failure: string | null = null;
  let gone = false;

  const flush = async () => {
    if (!pending || gone) return;
    const text = pending;
    pending = '';
    const seq = await q.appendText(deps.sql, roomId, reply.id, text);
    if (seq === null) {
      gone = true; // the room (or the reply) was deleted: stop the provider
      controller.abort();
      return;
    }
    await deps.bus.publish({ k: 'd', room: roomId, seq, id: reply.id, text });
  };
  let flushing: Promise<void> = Promise.resolve();
  const flusher = setInterval(() => {
    flushing = flushing.then(flush).catch(() => {});
  }, FLUSH_MS);
  const toucher = setInterval(() => void q.touchMessage(deps.sql, reply.id).catch(() => {}), TOUCH_MS);
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      failure = `The provider did not answer for ${Math.round(deps.config.ai.timeoutMs / 1000)} s`;
      controller.abort();
    }, deps.config.ai.timeoutMs);
  };

  try {
    if (!model || !payer) {
      failure = 'No model is available for this room. Ask the person who runs this Parley to set one up.';
    } else {
      const history = await q.historyBefore(deps.sql, roomId, reply.id);
      const messages = roomContext(room, history);
      // On the allowance of the member who called it: refused (shown in the room) when it is used up.
      hold = await reserve(deps.sql, payer, estimateTokens(messages.map((m) => String(m.content)).join('\n')) + REPLY_HOLD);
      arm();
      for await (const event of deps.providers.stream(payer, model, messages, controller.signal)) {
        arm();
        if (event.type === 'delta') {
          pending += event.text;
          produced += event.text.length;
        }
        else if (event.type === 'usage') usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens };
        else if (event.type === 'error') {
          failure = event.message || 'The provider failed';
          break;
        } else if (event.type === 'done') break;
      }
    }
  } catch (error) {
    if (!gone && !failure) failure = error instanceof Error ? error.message : 'The provider failed';
  } finally {
    if (hold) {
      // What it used: the provider's count, or an estimate from the text.
      const use = usage ?? { inputTokens: 0, outputTokens: Math.ceil(produced / 4) };
      await settle(deps.sql, hold, { tokensIn: use.inputTokens, tokensOut: use.outputTokens, source: 'reply', model, messageId: null }).catch(
        (error) => log.warn('a room reply could not be debited', { messageId: reply.id, error: String(error) }),
      );
    }
    clearInterval(flusher);
    clearInterval(toucher);
    clearTimeout(watchdog);
  }
  await flushing;
  await flush().catch(() => {});
  if (gone) return;
  const final = await q.finishMessage(deps.sql, roomId, reply.id, failure ? 'error' : 'complete', failure);
  if (final) await deps.bus.publish({ k: 'm', room: roomId, seq: final.seq, id: final.id });
}
