/** The schemas of the connections console (admins only): model servers beside the environment's. */
import { t } from 'elysia';

export const Purpose = t.Union(
  [t.Literal('chat'), t.Literal('stt'), t.Literal('tts'), t.Literal('images'), t.Literal('embeddings'), t.Literal('search')],
  { error: 'must be chat, stt, tts, images, embeddings or search' },
);
export type Purpose = typeof Purpose.static;

export const Capability = t.Union([t.Literal('chat'), t.Literal('vision'), t.Literal('tools'), t.Literal('reasoning')], {
  error: 'must be chat, vision, tools or reasoning',
});

/** What the admin says of a model where its server says nothing. */
export const ModelOverride = t.Object({
  capabilities: t.Optional(t.Array(Capability, { maxItems: 4 })),
  contextLength: t.Optional(t.Nullable(t.Integer({ minimum: 1, maximum: 100_000_000, error: 'must be a number of tokens' }))),
});
export type ModelOverride = typeof ModelOverride.static;

const Slug = t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,31}$', error: 'must be 1-32 lowercase letters, digits or dashes' });
const BaseUrl = t.String({ pattern: '^https?://[^\\s]+$', maxLength: 500, error: 'must be an http(s) URL' });
const Name = t.String({ minLength: 1, maxLength: 100, error: 'must be 1 to 100 characters' });
const ModelIds = t.Nullable(t.Array(t.String({ minLength: 1, maxLength: 200 }), { maxItems: 500 }));

export const ConnectionStatus = t.Object({
  ok: t.Boolean(),
  /** Why it failed: `unreachable`, `unauthorized` (401/403), `no_models`, `error`. */
  reason: t.Union([t.Literal('unreachable'), t.Literal('unauthorized'), t.Literal('no_models'), t.Literal('error'), t.Null()]),
  message: t.String(),
  models: t.Array(t.String()),
  checkedAt: t.String(),
});
export type ConnectionStatus = typeof ConnectionStatus.static;

export const Connection = t.Object(
  {
    id: t.String(),
    name: t.String(),
    slug: t.String(),
    kind: t.Union([t.Literal('openai'), t.Literal('mistral')]),
    baseUrl: t.String(),
    hasKey: t.Boolean(),
    /** Only the key's last four characters ever leave the server. */
    keyLast4: t.Union([t.String(), t.Null()]),
    models: ModelIds,
    purposes: t.Array(Purpose),
    /** Purposes for which this one is used before the others that have them. */
    defaultFor: t.Array(Purpose),
    overrides: t.Record(t.String(), ModelOverride),
    /** The base URL is a loopback or private address: allowed because an admin set it. */
    local: t.Boolean(),
    /** The last time its models were listed (null: not yet). */
    status: t.Nullable(ConnectionStatus),
    createdAt: t.String(),
    updatedAt: t.String(),
  },
  { title: 'Connection' },
);
export type Connection = typeof Connection.static;

export const CreateConnectionBody = t.Object({
  name: Name,
  /** Default: made from the name. */
  slug: t.Optional(Slug),
  kind: t.Union([t.Literal('openai'), t.Literal('mistral')], { error: 'must be openai or mistral' }),
  /** OpenAI-compatible: ends in /v1 (Ollama: http://127.0.0.1:11434/v1). Mistral: without /v1. */
  baseUrl: BaseUrl,
  apiKey: t.Optional(t.Nullable(t.String({ minLength: 1, maxLength: 500 }))),
  models: t.Optional(ModelIds),
  purposes: t.Optional(t.Array(Purpose, { minItems: 1, maxItems: 6 })),
  defaultFor: t.Optional(t.Array(Purpose, { maxItems: 6 })),
  overrides: t.Optional(t.Record(t.String({ maxLength: 200 }), ModelOverride)),
});
export type CreateConnectionBody = typeof CreateConnectionBody.static;

export const UpdateConnectionBody = t.Partial(CreateConnectionBody);
export type UpdateConnectionBody = typeof UpdateConnectionBody.static;

export const ConnectionAnswer = t.Object({ connection: Connection });
export const ConnectionList = t.Object({ connections: t.Array(Connection) });
export const TestAnswer = t.Object({ connection: Connection, status: ConnectionStatus });
