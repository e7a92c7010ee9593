/**
 * GET /api/sync: everything of a user's that changed after a cursor.
 * The cursor is the user's change counter (users.sync_seq), which writers bump
 * under the user's row lock (see seq.ts): changes commit in cursor order, so a
 * reader that has seen N has seen everything up to N. Reads happen in one
 * REPEATABLE READ snapshot so the three tables agree with each other.
 *
 * Paging: each table returns at most `limit` rows; when one is cut, the page
 * ends at the smallest cut point, only rows up to it are returned, and `more` is true.
 * Writers give every row a seq of its own, but should rows ever share one (a bulk
 * write, data loaded by hand), a page never ends inside them: the next page starts
 * after the cursor, so the rest of the rows at the cut seq are read into this page.
 */
import type { Sql } from '../db';
import type { Message, Thread } from '../threads/model';
import { messageColumns, threadColumns } from '../conversations/queries';
import type { SyncPage } from './model';
import type { Folder } from '../folders/model';

export type { SyncPage } from './model';

export async function changesSince(sql: Sql, userId: string, since: string, limit: number): Promise<SyncPage> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const [threads, messages, tombstones, [user], folders, folderTombstones] = await Promise.all([
      tx<(Thread & { seq: string })[]>`
        select ${threadColumns(tx)}, seq from threads
        where user_id = ${userId} and seq > ${since} order by seq limit ${limit + 1}`,
      tx<(Message & { seq: string })[]>`
        select ${messageColumns(tx)}, seq from messages
        where user_id = ${userId} and seq > ${since} order by seq limit ${limit + 1}`,
      tx<{ threadId: string; seq: string }[]>`
        select thread_id, seq from deleted_threads
        where user_id = ${userId} and seq > ${since} order by seq limit ${limit + 1}`,
      tx<{ syncSeq: string }[]>`select sync_seq from users where id = ${userId}`,
      tx<(Folder & { seq: string })[]>`
        select id, name, model, system_prompt, created_at, updated_at, seq from folders
        where user_id = ${userId} and seq > ${since} order by seq limit ${limit + 1}`,
      tx<{ folderId: string; seq: string }[]>`
        select folder_id, seq from deleted_folders
        where user_id = ${userId} and seq > ${since} order by seq limit ${limit + 1}`,
    ]);
    const cuts = [threads, messages, tombstones, folders, folderTombstones]
      .filter((rows) => rows.length > limit)
      .map((rows) => BigInt(rows[limit - 1]!.seq));
    const more = cuts.length > 0;
    const cursor = more ? cuts.reduce((a, b) => (a < b ? a : b)) : BigInt(user?.syncSeq ?? since);
    const upTo = <T extends { seq: string }>(rows: T[]) => rows.filter((r) => BigInt(r.seq) <= cursor);
    const at = cursor.toString();
    /** The rows of a cut table, with every row at the cut seq when the cut fell inside them. */
    const whole = async <T extends { seq: string }>(rows: T[], key: (r: T) => string, atCut: () => Promise<T[]>) => {
      if (rows.length <= limit || BigInt(rows[limit]!.seq) !== cursor) return upTo(rows);
      const seen = new Set(rows.map(key));
      return [...upTo(rows), ...(await atCut()).filter((r) => !seen.has(key(r)))];
    };
    const [allThreads, allMessages, allTombstones, allFolders, allFolderTombstones] = await Promise.all([
      whole(threads, (t) => t.id, () => tx<(Thread & { seq: string })[]>`
        select ${threadColumns(tx)}, seq from threads where user_id = ${userId} and seq = ${at}`),
      whole(messages, (m) => m.id, () => tx<(Message & { seq: string })[]>`
        select ${messageColumns(tx)}, seq from messages where user_id = ${userId} and seq = ${at}`),
      whole(tombstones, (t) => t.threadId, () => tx<{ threadId: string; seq: string }[]>`
        select thread_id, seq from deleted_threads where user_id = ${userId} and seq = ${at}`),
      whole(folders, (f) => f.id, () => tx<(Folder & { seq: string })[]>`
        select id, name, model, system_prompt, created_at, updated_at, seq from folders where user_id = ${userId} and seq = ${at}`),
      whole(folderTombstones, (f) => f.folderId, () => tx<{ folderId: string; seq: string }[]>`
        select folder_id, seq from deleted_folders where user_id = ${userId} and seq = ${at}`),
    ]);
    return {
      threads: allThreads.map(({ seq: _, ...t }) => t),
      messages: allMessages.map(({ seq: _, ...m }) => m),
      deletedThreadIds: allTombstones.map((t) => t.threadId),
      folders: allFolders.map(({ seq: _, ...f }) => f),
      deletedFolderIds: allFolderTombstones.map((f) => f.folderId),
      cursor: cursor.toString(),
      more,
    };
  });
}
