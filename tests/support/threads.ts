/**
 * The one way a test makes a thread through the API, from a server test's `Client` or
 * from an e2e spec's Playwright request context (`page.request`), so a change to the
 * route or its answer is made here once. It fails the test unless the thread was created.
 */
import type { APIRequestContext } from '@playwright/test';
import type { CreateThreadBody, Thread } from '../../server/threads/model';
import { Client } from './client';

/** A thread as the API answers it: the server's own schema type (dates are ISO strings). */
export type ThreadOnWire = Thread;

export async function newThread(
  api: Client | APIRequestContext,
  body: CreateThreadBody = { title: 'Test thread' },
): Promise<ThreadOnWire> {
  let status: number;
  let answer: { thread?: ThreadOnWire } | null;
  if (api instanceof Client) {
    ({ status, body: answer } = await api.json('POST', '/api/threads', body));
  } else {
    const res = await api.post('/api/threads', { data: body });
    status = res.status();
    answer = await res.json().catch(() => null);
  }
  if (status !== 201 || !answer?.thread?.id) {
    throw new Error(`newThread: POST /api/threads answered ${status} ${JSON.stringify(answer)}`);
  }
  return answer.thread;
}
