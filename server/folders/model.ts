import { t } from 'elysia';
import { IsoDate } from '../http/model';

const Name = t.String({ minLength: 1, maxLength: 100, error: 'must be 1 to 100 characters' });
const ModelId = t.String({ minLength: 1, maxLength: 200, error: 'must be a model id like provider:model' });
const SystemPrompt = t.String({ maxLength: 20000, error: 'must be at most 20,000 characters' });

export const Folder = t.Object({
  id: t.String(),
  name: t.String(),
  /** The model new threads in it start with (null: the user's default). */
  model: t.Union([t.String(), t.Null()]),
  /** The system prompt new threads in it start with. */
  systemPrompt: t.String(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
}, { title: 'Folder' });
export type Folder = typeof Folder.static;

export const CreateFolderBody = t.Object({
  name: Name,
  model: t.Optional(t.Nullable(ModelId)),
  systemPrompt: t.Optional(SystemPrompt),
});
export type CreateFolderBody = typeof CreateFolderBody.static;

export const UpdateFolderBody = t.Object({
  name: t.Optional(Name),
  model: t.Optional(t.Nullable(ModelId)),
  systemPrompt: t.Optional(SystemPrompt),
});
export type UpdateFolderBody = typeof UpdateFolderBody.static;

export const FolderAnswer = t.Object({ folder: Folder });
/** A person has a handful of folders: one page, by name (no cursor needed, but the field is kept for the convention). */
export const FolderList = t.Object({ folders: t.Array(Folder), nextCursor: t.Null() });
