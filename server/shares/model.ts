import { t } from 'elysia';

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

export interface SnapshotAttachment {
  id: string;
  mime: string;
  name: string;
  size: number;
}

export interface SnapshotMessage {
  id: string;
  parentId: string | null;
  role: 'user' | 'assistant';
  content: string;
  status: 'complete' | 'cancelled' | 'error';
  model: string | null;
  createdAt: string;
  attachments: SnapshotAttachment[];
}

export interface Snapshot {
  thread: { title: string; model: string | null; createdAt: string };
  messages: SnapshotMessage[];
}
