/**
 * How a model is named on screen. Ids are `provider:model` ("openai:gpt-4o-mini"); where
 * room is short (a phone's header, under a reply) the provider prefix goes and the full id
 * stays in a tooltip; the pickers list full names.
 */
import type { ModelInfo } from '$server/providers/model';

/** "mistral:mistral-large-latest" → "mistral-large-latest". */
export function shortModelName(id: string): string {
  return id.replace(/^[^:]+:/, '');
}

const PROVIDERS: Record<string, string> = { openai: 'OpenAI', mistral: 'Mistral' };

/** "openai" → "OpenAI" (an unknown provider as it is). */
export function providerName(provider: string): string {
  return PROVIDERS[provider] ?? provider;
}

/** The listed model's own name, else the id without its provider. */
export function modelLabel(id: string, models: readonly ModelInfo[]): string {
  return models.find((m) => m.id === id)?.name || shortModelName(id);
}

/** What a model can do, as a menu shows it after its id: " · sees images · tools · thinks · 128k context". */
export function features(m: Pick<ModelInfo, 'capabilities' | 'contextLength'>): string {
  const parts: string[] = [];
  if (m.capabilities.includes('vision')) parts.push('sees images');
  if (m.capabilities.includes('tools')) parts.push('tools');
  if (m.capabilities.includes('reasoning')) parts.push('thinks');
  if (m.contextLength) parts.push(`${m.contextLength >= 1000 ? `${Math.round(m.contextLength / 1000)}k` : m.contextLength} context`);
  return parts.map((p) => ` · ${p}`).join('');
}
