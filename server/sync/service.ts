/**
 * GET /api/sync: everything of a user's that changed after a cursor.
 * The cursor is the user's change counter (users.sync_seq), which writers bump
 * under the user's row lock (see seq.ts): changes commit in cursor order, so a
 * reader that has seen N has seen everything up to N. Reads happen in one
 * REPEATABLE READ snapshot so the three tables agree with each other.
 *
 * Paging: each table returns at most `limit` rows; when one is cut, the page
 * ends at the smallest cut point, only rows up to it are returned, and `more` is true.
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
    return {
      threads: upTo(threads).map(({ seq: _, ...t }) => t),
      messages: upTo(messages).map(({ seq: _, ...m }) => m),
      deletedThreadIds: upTo(tombstones).map((t) => t.threadId),
      folders: upTo(folders).map(({ seq: _, ...f }) => f),
      deletedFolderIds: upTo(folderTombstones).map((f) => f.folderId),
      cursor: cursor.toString(),
      more,
    };
  });
}
