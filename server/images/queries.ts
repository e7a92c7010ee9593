/** The SQL for adding a generated image to a thread. */
import type { Sql, Tx } from '../db';
import { nextSeq } from '../sync/seq';
import type { Attachment, Message } from '../threads/model';
import { messageColumns } from '../threads/queries';

/** The assistant message holding a generated image: a Message like any other. */
export type ImageMessage = Message;

export async function threadOwned(db: Sql | Tx, userId: string, threadId: string) {
  const [row] = await db`select 1 from threads where id = ${threadId} and user_id = ${userId}`;
  return Boolean(row);
}

/**
 * Adds the assistant message carrying the image under the thread's latest message,
 * and marks the thread as active; both rows take a new sync seq. Null when the
 * thread is gone (or not the user's).
 */
export async function insertImageMessage(
  tx: Tx,
  userId: string,
  threadId: string,
  m: { content: string; model: string; attachment: Attachment },
): Promise<ImageMessage | null> {
  const [thread] = await tx`select id from threads where id = ${threadId} and user_id = ${userId} for update`;
  if (!thread) return null;
  const [latest] = await tx<{ id: string }[]>`
    select id from messages where thread_id = ${threadId} and user_id = ${userId}
    order by created_at desc, id desc limit 1`;
  const messageSeq = await nextSeq(tx, userId);
  const [message] = await tx<ImageMessage[]>`
    insert into messages (id, thread_id, user_id, parent_id, role, content, status, model, attachments, seq)
    values (${crypto.randomUUID()}, ${threadId}, ${userId}, ${latest?.id ?? null}, 'assistant', ${m.content},
            'complete', ${m.model}, ${tx.json([m.attachment] as never)}, ${messageSeq})
    returning ${messageColumns(tx)}`;
  const threadSeq = await nextSeq(tx, userId);
  await tx`update threads set updated_at = now(), seq = ${threadSeq} where id = ${threadId} and user_id = ${userId}`;
  return message!;
}
