import { describe, expect, test } from 'bun:test';
import { ApiError } from '$lib/api';
import type { Message } from '$server/threads/model';
import type { ReplyEvent } from '$server/replies/model';
import { NoAnswer, ReplyStream } from './reply-stream';

const message = (id: string, role: Message['role'], content = '', status: Message['status'] = 'complete'): Message => ({
  id,
  threadId: 't',
  parentId: null,
  role,
  content,
  status,
  model: null,
  createdAt: new Date(0).toISOString(),
  attachments: [],
  error: null,
  tokensIn: null,
  tokensOut: null,
  reasoning: '',
  toolCalls: [],
  sources: [],
});

async function* events(list: ReplyEvent[]) {
  for (const e of list) yield e;
}

/** A request that never answers, until it is aborted. */
function silent(signal: AbortSignal): AsyncGenerator<ReplyEvent> {
  return (async function* () {
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    yield* [];
  })();
}

describe('ReplyStream', () => {
  test('applies user, start, text, end and title in order, and says what was stored', async () => {
    const seen: string[] = [];
    const stream = new ReplyStream(
      {
        user: (m) => seen.push(`user ${m.id}`),
        start: (m) => seen.push(`start ${m.id}`),
        text: (id, text) => seen.push(`text ${id} ${text}`),
        end: (m, error) => seen.push(`end ${m.id} ${m.content} ${error}`),
        title: (threadId, title) => seen.push(`title ${threadId} ${title}`),
      },
      { batch: false },
    );
    const stored: string[] = [];
    const error = await stream.run(
      () =>
        events([
          { event: 'user', data: { message: message('u', 'user', 'Hi') } },
          { event: 'start', data: { message: message('a', 'assistant', '', 'streaming') } },
          { event: 'delta', data: { id: 'a', text: 'Hel' } },
          { event: 'delta', data: { id: 'a', text: 'lo' } },
          { event: 'title', data: { threadId: 't', title: 'Greetings' } },
          { event: 'done', data: { message: message('a', 'assistant', 'Hello') } },
        ]),
      { onStored: (id) => stored.push(id) },
    );
    expect(error).toBeNull();
    expect(seen).toEqual(['user u', 'start a', 'text a Hel', 'text a lo', 'title t Greetings', 'end a Hello null']);
    expect(stored).toEqual(['u']);
    expect(stream.stored('u')).toBe(true);
    expect(stream.titled).toBe(true);
    expect(stream.assistantId).toBe('a');
  });

  test("a provider failure ends with the reason in plain words", async () => {
    let reason = null as string | null;
    const stream = new ReplyStream({ end: (_m, error) => (reason = error) }, { batch: false });
    await stream.run(() => events([{ event: 'error', data: { message: message('a', 'assistant', '', 'error'), error: { code: 'quota_exceeded', message: 'quota exceeded' } } }]));
    expect(reason).toBe('quota exceeded');
  });

  test('a request with no answer gives up after storedWithin, as a network failure', async () => {
    const stream = new ReplyStream({}, { batch: false });
    const started = Date.now();
    const error = await stream.run(silent, { storedWithin: 50 });
    expect(error).toBeInstanceOf(NoAnswer);
    expect((error as ApiError).offline).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(stream.stored('anything')).toBe(false);
  });

  test('cancel ends the run quietly; a cut-off ends it as a network failure', async () => {
    const quiet = new ReplyStream({}, { batch: false });
    const run = quiet.run(silent);
    quiet.cancel();
    expect(await run).toBeNull();
    const cut = new ReplyStream({}, { batch: false });
    const cutRun = cut.run(silent);
    cut.cancel(true);
    expect(((await cutRun) as ApiError).offline).toBe(true);
  });

  test('a refusal is returned as it is (not retried)', async () => {
    let calls = 0;
    const stream = new ReplyStream({}, { batch: false });
    const error = await stream.run(
      () => {
        calls++;
        return (async function* (): AsyncGenerator<ReplyEvent> {
          throw new ApiError(404, 'not_found', 'Thread not found');
        })();
      },
      { again: true },
    );
    expect((error as ApiError).status).toBe(404);
    expect(calls).toBe(1);
  });
});
