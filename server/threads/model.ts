import { t } from 'elysia';
import { IsoDate, NextCursor } from '../http/model';
import { CURSOR_PATTERN } from '../infra/paging';

export const Id = t.String({ format: 'uuid', error: 'must be a UUID' });
export const IdParams = t.Object({ id: Id });

const Title = t.String({ maxLength: 200, error: 'must be at most 200 characters' });
const ModelId = t.String({ minLength: 1, maxLength: 200, error: 'must be a model id like provider:model' });
const SystemPrompt = t.String({ maxLength: 20000, error: 'must be at most 20,000 characters' });

export const CreateThreadBody = t.Object({
  /** Client-made (a chat started offline): creating again with it answers the same thread. */
  id: t.Optional(Id),
  title: t.Optional(Title),
  model: t.Optional(t.Nullable(ModelId)),
  systemPrompt: t.Optional(SystemPrompt),
  /** Started in this folder: the folder's model and system prompt apply unless given here. */
  folderId: t.Optional(t.Nullable(Id)),
});

export const UpdateThreadBody = t.Object({
  title: t.Optional(Title),
  model: t.Optional(t.Nullable(ModelId)),
  systemPrompt: t.Optional(SystemPrompt),
  pinned: t.Optional(t.Boolean({ error: 'must be true or false' })),
  /** Moves the thread into one of the user's folders; null unfiles it. */
  folderId: t.Optional(t.Nullable(Id)),
  archived: t.Optional(t.Boolean({ error: 'must be true or false' })),
});

export const PageQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, error: 'must be an integer from 1 to 200' })),
  before: t.Optional(t.String({ maxLength: 200, pattern: CURSOR_PATTERN, error: 'must be a cursor from a previous page' })),
});

/** GET /api/threads: paging plus the folder (`none` = unfiled) and archive filters. */
export const ThreadListQuery = t.Composite([
  PageQuery,
  t.Object({
    folderId: t.Optional(t.Union([Id, t.Literal('none')], { error: 'must be a folder id or none' })),
    archived: t.Optional(t.Boolean({ error: 'must be true or false' })),
  }),
]);
export type ThreadListQuery = typeof ThreadListQuery.static;

export type CreateThreadBody = typeof CreateThreadBody.static;
export type UpdateThreadBody = typeof UpdateThreadBody.static;
export type PageQuery = typeof PageQuery.static;

export const Thread = t.Object({
  id: t.String(),
  title: t.String(),
  model: t.Union([t.String(), t.Null()]),
  systemPrompt: t.String(),
  pinned: t.Boolean(),
  /** The folder it is filed in, or null. */
  folderId: t.Union([t.String(), t.Null()]),
  archived: t.Boolean(),
  /** Whether a share link to it exists (POST /api/threads/:id/share; revoked links count as none). */
  shared: t.Boolean(),
  createdAt: IsoDate,
  updatedAt: IsoDate,
}, { title: 'Thread' });
export type Thread = typeof Thread.static;

export const MessageStatus = t.Union([
  t.Literal('complete'),
  t.Literal('streaming'),
  t.Literal('cancelled'),
  t.Literal('error'),
]);
export type MessageStatus = typeof MessageStatus.static;

/** A stored file as a message, POST /api/files and POST /api/images carry it. */
export const Attachment = t.Object({
  id: t.String(),
  mime: t.String(),
  name: t.String(),
  size: t.Integer(),
  /** Where its bytes are read: /api/files/:id, or /api/shares/:code/files/:id in a share. */
  url: t.String(),
  /** Documents only: whether their text was read (ready), could not be (failed), or there was none (none). */
  textStatus: t.Optional(t.Union([t.Literal('ready'), t.Literal('failed'), t.Literal('none')])),
  /** Documents only: their page count where they have pages (PDF). */
  pages: t.Optional(t.Integer()),
  /** Why a document has no text (failed or none), as a sentence. */
  textError: t.Optional(t.String()),
  /** Set on a sent message when the document's text was trimmed to fit the model's context. */
  note: t.Optional(t.String()),
}, { title: 'Attachment' });
export type Attachment = typeof Attachment.static;

/** A tool the model called while replying (web search, an MCP tool), as the thread shows it. */
export const ToolCall = t.Object({
  id: t.String(),
  name: t.String(),
  input: t.Unknown(),
  /** `approval`: waiting for the user (POST /api/messages/:id/tool-calls/:callId); `denied`: they said no. */
  status: t.Union([t.Literal('running'), t.Literal('done'), t.Literal('error'), t.Literal('approval'), t.Literal('denied')]),
  output: t.Optional(t.String()),
  /** How long the tool took, in milliseconds (once it ended). */
  ms: t.Optional(t.Integer()),
}, { title: 'ToolCall' });
export type ToolCall = typeof ToolCall.static;

/** A numbered source a reply cites as [n]. */
export const Source = t.Object({ n: t.Integer(), title: t.String(), url: t.String() }, { title: 'Source' });
export type Source = typeof Source.static;

export const Message = t.Object({
  id: t.String(),
  threadId: t.String(),
  parentId: t.Union([t.String(), t.Null()]),
  role: t.Union([t.Literal('user'), t.Literal('assistant'), t.Literal('system')]),
  content: t.String(),
  status: MessageStatus,
  model: t.Union([t.String(), t.Null()]),
  /** Why a reply failed (status `error`), else null. */
  error: t.Union([t.String(), t.Null()]),
  createdAt: IsoDate,
  attachments: t.Array(Attachment),
  tokensIn: t.Union([t.Integer(), t.Null()]),
  tokensOut: t.Union([t.Integer(), t.Null()]),
  /** What a reasoning model thought before answering: shown apart, never spoken, never sent back. */
  reasoning: t.String(),
  toolCalls: t.Array(ToolCall),
  sources: t.Array(Source),
}, { title: 'Message' });
export type Message = typeof Message.static;

export const ThreadAnswer = t.Object({ thread: Thread });
export type ThreadAnswer = typeof ThreadAnswer.static;
export const ThreadPage = t.Object({ threads: t.Array(Thread), nextCursor: NextCursor });
/** A page of a thread's messages, with the thread itself (opening a thread is one request). */
export const MessagePage = t.Object({ messages: t.Array(Message), nextCursor: NextCursor, thread: Thread });
export type ThreadPage = typeof ThreadPage.static;
export type MessagePage = typeof MessagePage.static;
