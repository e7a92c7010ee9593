/**
 * Users' change counters (users.sync_seq), the cursor of GET /api/sync.
 * Only server/conversations/writes.ts stamps threads and messages with them;
 * anything else that must show in a sync (tombstones, tests) calls nextSeq too.
 */
import type { Tx } from '../db';

/**
 * The next value of a user's change counter, for a thread/message row's `seq`
 * (or a tombstone's). It updates the user's row, so the lock is held until the
 * transaction commits: one user's changes commit in `seq` order, and a sync
 * reader can never see seq N+1 while N is still in flight. Call it inside
 * `sql.begin(...)`, before the transaction locks other rows of the user's
 * (conversations/writes.ts explains the lock order).
 */
export async function nextSeq(tx: Tx, userId: string): Promise<string> {
  const [row] = await tx<{ syncSeq: string }[]>`
    update users set sync_seq = sync_seq + 1 where id = ${userId} returning sync_seq`;
  if (!row) throw new Error('user not found for sync sequence');
  return row.syncSeq;
}
