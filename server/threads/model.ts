import { t } from 'elysia';

export const Id = t.String({ format: 'uuid', error: 'must be a UUID' });
export const IdParams = t.Object({ id: Id });

const Title = t.String({ maxLength: 200, error: 'must be at most 200 characters' });
const ModelId = t.String({ minLength: 1, maxLength: 200, error: 'must be a model id like provider:model' });
const SystemPrompt = t.String({ maxLength: 20000, error: 'must be at most 20,000 characters' });

export const CreateThreadBody = t.Object({
  title: t.Optional(Title),
  model: t.Optional(t.Nullable(ModelId)),
  systemPrompt: t.Optional(SystemPrompt),
});

export const UpdateThreadBody = t.Object({
  title: t.Optional(Title),
  model: t.Optional(t.Nullable(ModelId)),
  systemPrompt: t.Optional(SystemPrompt),
  pinned: t.Optional(t.Boolean({ error: 'must be true or false' })),
});

export const PageQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, error: 'must be an integer from 1 to 200' })),
  before: t.Optional(t.String({ maxLength: 200, pattern: '^[0-9]+_[0-9a-f-]{36}$', error: 'must be a cursor from a previous page' })),
});

export type CreateThreadBody = typeof CreateThreadBody.static;
export type UpdateThreadBody = typeof UpdateThreadBody.static;

export interface Thread {
  id: string;
  title: string;
  model: string | null;
  systemPrompt: string;
  pinned: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type MessageStatus = 'complete' | 'streaming' | 'cancelled' | 'error';

export interface Attachment {
  id: string;
  mime: string;
  name?: string;
  size?: number;
  url: string;
}

export interface Message {
  id: string;
  threadId: string;
  parentId: string | null;
  role: 'user' | 'assistant' | 'system';
  content: string;
  status: MessageStatus;
  model: string | null;
  error: string | null;
  createdAt: Date;
  attachments: Attachment[];
  tokensIn: number | null;
  tokensOut: number | null;
}
