/** The schemas of GET /api/models; the provider adapters' ModelInfo is this type. */
import { t } from 'elysia';

export const ProviderId = t.Union([t.Literal('mistral'), t.Literal('openai')]);
export type ProviderId = typeof ProviderId.static;

export const ModelInfo = t.Object({
  /** `provider:model`, e.g. `mistral:mistral-small-latest`, or `<connection slug>:<model>`. */
  id: t.String(),
  /** `openai` or `mistral` (the environment's), or a connection's slug. */
  provider: t.String(),
  name: t.String(),
  /** `chat`, `vision`, `tools`, `reasoning`: what the server reports (or the admin set). */
  capabilities: t.Array(t.String()),
  /** The context window in tokens, where known. */
  contextLength: t.Optional(t.Union([t.Integer(), t.Null()])),
  /** The connection's name, for a connection's model. */
  connection: t.Optional(t.String()),
}, { title: 'ModelInfo' });
export type ModelInfo = typeof ModelInfo.static;

export const ModelList = t.Object({
  models: t.Array(ModelInfo),
  /** The model a new thread gets: the user's saved default, DEFAULT_MODEL, or the first listed. */
  defaultModel: t.Union([t.String(), t.Null()]),
  /** A web search provider is set up: the composer offers "Search the web" for a message. */
  webSearch: t.Optional(t.Boolean()),
});
export type ModelList = typeof ModelList.static;
