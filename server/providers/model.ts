/** The schemas of GET /api/models; the provider adapters' ModelInfo is this type. */
import { t } from 'elysia';

export const ProviderId = t.Union([t.Literal('mistral'), t.Literal('openai')]);
export type ProviderId = typeof ProviderId.static;

export const ModelInfo = t.Object({
  /** `provider:model`, e.g. `mistral:mistral-small-latest`. */
  id: t.String(),
  provider: ProviderId,
  name: t.String(),
  capabilities: t.Array(t.String()),
}, { title: 'ModelInfo' });
export type ModelInfo = typeof ModelInfo.static;

export const ModelList = t.Object({
  models: t.Array(ModelInfo),
  /** The model a new thread gets: the user's saved default, DEFAULT_MODEL, or the first listed. */
  defaultModel: t.Union([t.String(), t.Null()]),
});
export type ModelList = typeof ModelList.static;
