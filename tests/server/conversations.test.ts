/**
 * The conversation store (server/conversations/writes.ts), below the HTTP routes:
 * concurrent writes of one user in one thread, which the routes cannot line up on
 * purpose. Real PostgreSQL only (the embedded PGlite runs one query at a time).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import * as writes from '../../server/conversations/writes';
import { storeImage } from '../../server/images/service';
import type { Database } from '../../server/db';
import { migratedDatabase } from '../support/postgres';

let db: Database;
let dataDir: string;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, dataDir, close } = await migratedDatabase('conv'));
}, 60_000);
afterAll(() => close());

test('replies finishing, exchanges, images landing and the thread being deleted at once never deadlock', async () => {
  const { sql } = db;
  const [user] = await sql<{ id: string }[]>`
    insert into users (email, password_hash) values (${`${crypto.randomUUID()}@example.com`}, 'x') returning id`;
  const userId = user!.id;
  const failures: string[] = [];
  for (let round = 0; round < 12; round++) {
    const made = await sql.begin((tx) => writes.insertThread(tx, userId, { title: 't', model: null, systemPrompt: '' }));
    if (made === 'taken') throw new Error('fresh id taken');
    const thread = made.thread;
    const first = await writes.insertExchange(sql, userId, {
      threadId: thread.id,
      userMessageId: crypto.randomUUID(),
      assistantId: crypto.randomUUID(),
      parentId: null,
      content: 'hello',
      attachments: [],
      model: null,
      provisionalTitle: 'hello',
    });
    const replies = [first!.assistant];
    for (let i = 0; i < 3; i++) {
      replies.push(await writes.insertReply(sql, userId, { threadId: thread.id, parentId: first!.user.id, model: null }));
    }
    const jobs: Promise<unknown>[] = replies.map((r) =>
      writes.finishReply(sql, userId, { messageId: r.id, threadId: thread.id, content: 'done', status: 'complete', error: null, usage: null }),
    );
    for (let i = 0; i < 3; i++) {
      // As POST /api/images keeps one: the file row (which references the thread) and its message, in one transaction.
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, round, i, ...crypto.getRandomValues(new Uint8Array(8))]);
      jobs.push(storeImage({ sql, config: { dataDir, files: { store: 'directory', s3: null } } }, userId, { bytes, mime: 'image/png', prompt: 'a picture', model: 'openai:gpt-image-1', threadId: thread.id }));
    }
    jobs.push(
      writes.insertExchange(sql, userId, {
        threadId: thread.id,
        userMessageId: crypto.randomUUID(),
        assistantId: crypto.randomUUID(),
        parentId: first!.assistant.id,
        content: 'more',
        attachments: [],
        model: null,
        provisionalTitle: 'more',
      }),
    );
    if (round % 2) jobs.push(sql.begin((tx) => writes.deleteThread(tx, userId, thread.id)));
    for (const result of await Promise.allSettled(jobs)) {
      if (result.status === 'rejected') failures.push(String((result.reason as { code?: string }).code ?? result.reason));
    }
  }
  // A write racing the thread's deletion may fail on the foreign key (23503): that is the
  // deletion winning. A deadlock (40P01) is never acceptable.
  expect(failures.filter((code) => code !== '23503')).toEqual([]);
}, 60_000);

test('the reply writer and the lease renewal, over the same replies at once, never deadlock', async () => {
  // Both update every reply in flight in one statement (server/replies/runner.ts every 250 ms,
  // lease.ts every 2 s). Locking the rows in different orders deadlocked now and then: PostgreSQL
  // broke it after deadlock_timeout (1 s), a stall of every query queued behind them.
  const { sql } = db;
  const ids: string[] = [];
  for (let u = 0; u < 4; u++) {
    const [user] = await sql<{ id: string }[]>`
      insert into users (email, password_hash) values (${`${crypto.randomUUID()}@example.com`}, 'x') returning id`;
    const made = await sql.begin((tx) => writes.insertThread(tx, user!.id, { title: 't', model: null, systemPrompt: '' }));
    if (made === 'taken') throw new Error('fresh id taken');
    for (let i = 0; i < 40; i++) {
      const ex = await writes.insertExchange(sql, user!.id, {
        threadId: made.thread.id,
        userMessageId: crypto.randomUUID(),
        assistantId: crypto.randomUUID(),
        parentId: null,
        content: 'hi',
        attachments: [],
        model: null,
        provisionalTitle: 'hi',
      });
      ids.push(ex!.assistant.id);
    }
  }
  const shuffled = () => [...ids].sort(() => Math.random() - 0.5);
  const failures: string[] = [];
  for (let round = 0; round < 30; round++) {
    const jobs = [
      writes.appendReplyTexts(sql, shuffled().map((id) => ({ id, text: `${round} ` }))),
      writes.renewReplyLeases(sql, shuffled()),
    ];
    for (const result of await Promise.allSettled(jobs)) {
      if (result.status === 'rejected') failures.push(String((result.reason as { code?: string }).code ?? result.reason));
    }
  }
  expect(failures).toEqual([]);
  // Every piece of text landed once, in order.
  const rows = await sql<{ content: string }[]>`select content from messages where id = any(${ids}::uuid[])`;
  const expected = Array.from({ length: 30 }, (_, r) => `${r} `).join('');
  expect(rows.map((r) => r.content)).toEqual(ids.map(() => expected));
}, 60_000);
