import { t } from 'elysia';
import { Id } from '../threads/model';

export const PostMessageBody = t.Object({
  id: Id,
  content: t.String({ maxLength: 100_000, error: 'must be text of at most 100,000 characters' }),
  // Absent: after the latest message. null: a new first message (editing the thread's first turn).
  parentId: t.Optional(t.Nullable(Id)),
  model: t.Optional(t.String({ minLength: 1, maxLength: 200, error: 'must be a model id like provider:model' })),
  attachments: t.Optional(t.Array(t.Object({ id: Id }), { maxItems: 8, error: 'must be at most 8 files' })),
});

export const RegenerateBody = t.Optional(
  t.Object({
    model: t.Optional(t.String({ minLength: 1, maxLength: 200, error: 'must be a model id like provider:model' })),
  }),
);
