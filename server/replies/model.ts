import { t } from 'elysia';
import { ErrorDetail } from '../http/model';
import { Id, Message, Source, ToolCall } from '../threads/model';

export const PostMessageBody = t.Object({
  id: Id,
  content: t.String({ maxLength: 100_000, error: 'must be text of at most 100,000 characters' }),
  // Absent: after the latest message. null: a new first message (editing the thread's first turn).
  parentId: t.Optional(t.Nullable(Id)),
  model: t.Optional(t.String({ minLength: 1, maxLength: 200, error: 'must be a model id like provider:model' })),
  attachments: t.Optional(t.Array(t.Object({ id: Id }), { maxItems: 8, error: 'must be at most 8 files' })),
  /** Search the web for this message before answering (when a search provider is set up). */
  webSearch: t.Optional(t.Boolean({ error: 'must be true or false' })),
  /** Ask for more reasoning, where the model takes an effort setting. */
  reasoningEffort: t.Optional(t.Union([t.Literal('high'), t.Null()], { error: 'must be "high" or null' })),
});

export const RegenerateBody = t.Optional(
  t.Object({
    model: t.Optional(t.String({ minLength: 1, maxLength: 200, error: 'must be a model id like provider:model' })),
  }),
);

/**
 * The server-sent events of a reply (POST /api/threads/:id/messages, GET
 * /api/messages/:id/stream, POST /api/messages/:id/regenerate). On the wire each is
 * `event: <event>` and one `data:` line of JSON; the stream ends after `done` or `error`,
 * or after the `title` that follows `done` when the reply named its thread.
 */
const MessageData = t.Object({ message: Message });

/** The user's message is stored. */
export const UserEvent = t.Object({ event: t.Literal('user'), data: MessageData });
/** The assistant message exists, status `streaming` (its content arrives as deltas). */
export const StartEvent = t.Object({ event: t.Literal('start'), data: MessageData });
/** More text of the reply `id`. */
export const DeltaEvent = t.Object({ event: t.Literal('delta'), data: t.Object({ id: t.String(), text: t.String() }) });
/** More reasoning ("thinking") of the reply `id`: shown apart from its text, never spoken. */
export const ReasoningEvent = t.Object({ event: t.Literal('reasoning'), data: t.Object({ id: t.String(), text: t.String() }) });
/** A tool call of the reply `id` started, needs approval, or ended (its state replaces the one before). */
export const ToolEvent = t.Object({
  event: t.Literal('tool'),
  data: t.Object({
    id: t.String(),
    call: t.Object({ id: t.String(), name: t.String(), input: t.Unknown() }),
    status: ToolCall.properties.status,
    output: t.Optional(t.String()),
    ms: t.Optional(t.Integer()),
  }),
});
/** Sources the reply `id` may cite as [n] (all of them so far). */
export const SourcesEvent = t.Object({ event: t.Literal('sources'), data: t.Object({ id: t.String(), sources: t.Array(Source) }) });
/** The thread got its title from the model (after `done`, before the stream closes). */
export const TitleEvent = t.Object({
  event: t.Literal('title'),
  data: t.Object({ threadId: t.String(), title: t.String() }),
});
/** The reply's final state. */
export const DoneEvent = t.Object({ event: t.Literal('done'), data: MessageData });
/** The provider failed: what was received is kept, status `error`; `error` is shaped like a JSON error body's. */
export const ErrorEvent = t.Object({
  event: t.Literal('error'),
  data: t.Object({ message: Message, error: ErrorDetail }),
});

export const ReplyEvent = t.Union([UserEvent, StartEvent, DeltaEvent, ReasoningEvent, ToolEvent, SourcesEvent, TitleEvent, DoneEvent, ErrorEvent]);
export type ReplyEvent = typeof ReplyEvent.static;
export type ReplyEventName = ReplyEvent['event'];

export type UserEvent = typeof UserEvent.static;
export type StartEvent = typeof StartEvent.static;
export type DeltaEvent = typeof DeltaEvent.static;
export type ReasoningEvent = typeof ReasoningEvent.static;
export type ToolEvent = typeof ToolEvent.static;
export type SourcesEvent = typeof SourcesEvent.static;
export type TitleEvent = typeof TitleEvent.static;
export type DoneEvent = typeof DoneEvent.static;
export type ErrorEvent = typeof ErrorEvent.static;

/** POST /api/messages/:id/cancel answers the reply as it stopped. */
export const CancelAnswer = t.Object({ message: Message });
export type CancelAnswer = typeof CancelAnswer.static;
export type PostMessageBody = typeof PostMessageBody.static;
export type RegenerateBody = typeof RegenerateBody.static;

/** POST /api/messages/:id/tool-calls/:callId: the user's answer to a tool call waiting for approval. */
export const ToolApprovalBody = t.Object({ approve: t.Boolean({ error: 'must be true or false' }) });
export const ToolApprovalParams = t.Object({ id: Id, callId: t.String({ minLength: 1, maxLength: 200 }) });
export const ToolApprovalAnswer = t.Object({ approved: t.Boolean() });
