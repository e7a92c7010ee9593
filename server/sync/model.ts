/** The schemas of GET /api/sync. */
import { t } from 'elysia';
import { Message, Thread } from '../threads/model';
import { Folder } from '../folders/model';

export const SyncPage = t.Object({
  threads: t.Array(Thread),
  messages: t.Array(Message),
  deletedThreadIds: t.Array(t.String()),
  folders: t.Array(Folder),
  deletedFolderIds: t.Array(t.String()),
  /** Monotonic and server-issued: pass it back as `since`. */
  cursor: t.String(),
  /** True when this page was cut: ask again with the new cursor. */
  more: t.Boolean(),
});
export type SyncPage = typeof SyncPage.static;
