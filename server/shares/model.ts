import { t } from 'elysia';
import { IsoDate, NextCursor } from '../http/model';
import { Attachment } from '../threads/model';

export const ThreadParams = t.Object({ id: t.String({ format: 'uuid', error: 'must be a thread id' }) });

/** Codes are checked by hand so a malformed one is the same 404 as an unknown one. */
export const CodeParams = t.Object({ code: t.String({ maxLength: 200 }) });
export const CodeFileParams = t.Object({
  code: t.String({ maxLength: 200 }),
  id: t.String({ format: 'uuid', error: 'must be a file id' }),
});

export const ListQuery = t.Object({
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: 200, error: 'must be 1 to 200' })),
  before: t.Optional(t.String({ maxLength: 200 })),
});

export const FileQuery = t.Object({ download: t.Optional(t.String({ maxLength: 8 })) });

/** base64url of 16 random bytes is 22 characters; accept a little more room for the future. */
export const CODE = /^[A-Za-z0-9_-]{22,64}$/;
export const CODE_BYTES = 16;

/** Forks per user per 10 minutes. */
export const FORK_LIMIT = { max: 30, windowSeconds: 600 };

/** A file as a snapshot stores it; the URL is added when the share is read (it goes through the code). */
export const SnapshotAttachment = t.Omit(Attachment, ['url'], { title: 'SnapshotAttachment' });
export type SnapshotAttachment = typeof SnapshotAttachment.static;

const SnapshotFields = {
  /** Fresh ids: a share never reveals the thread's own message ids. */
  id: t.String(),
  parentId: t.Union([t.String(), t.Null()]),
  role: t.Union([t.Literal('user'), t.Literal('assistant')]),
  content: t.String(),
  status: t.Union([t.Literal('complete'), t.Literal('cancelled'), t.Literal('error')]),
  model: t.Union([t.String(), t.Null()]),
  createdAt: IsoDate,
};

/** A message as a snapshot stores it (shares.snapshot, JSON). */
export const SnapshotMessage = t.Object({ ...SnapshotFields, attachments: t.Array(SnapshotAttachment) });
export type SnapshotMessage = typeof SnapshotMessage.static;

const SharedThreadInfo = t.Object({ title: t.String(), model: t.Union([t.String(), t.Null()]), createdAt: IsoDate });

export const Snapshot = t.Object({ thread: SharedThreadInfo, messages: t.Array(SnapshotMessage) });
export type Snapshot = typeof Snapshot.static;

/** A message of GET /api/shares/:code: its files' URLs go through the share. */
export const SharedMessage = t.Object({ ...SnapshotFields, attachments: t.Array(Attachment) }, { title: 'SharedMessage' });
export type SharedMessage = typeof SharedMessage.static;

/** GET /api/shares/:code: the public, read-only snapshot. */
export const SharedThread = t.Object({
  thread: SharedThreadInfo,
  messages: t.Array(SharedMessage),
  sharedAt: IsoDate,
});
export type SharedThread = typeof SharedThread.static;

/** POST /api/threads/:id/share. */
export const ShareCreated = t.Object({
  code: t.String(),
  url: t.String(),
  threadId: t.String(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
});
export type ShareCreated = typeof ShareCreated.static;

/** One of the user's active share links (GET /api/shares). */
export const ShareLink = t.Object({
  code: t.String(),
  url: t.String(),
  threadId: t.String(),
  title: t.String(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
}, { title: 'ShareLink' });
export type ShareLink = typeof ShareLink.static;

export const ShareList = t.Object({ shares: t.Array(ShareLink), nextCursor: NextCursor });
export type ShareList = typeof ShareList.static;
