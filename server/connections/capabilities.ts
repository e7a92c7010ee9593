/**
 * What an OpenAI-compatible server says about its models, read from the places servers
 * actually report it:
 *   - OpenRouter-style `/models` entries: `context_length`, `supported_parameters`
 *     (`tools`, `reasoning`), `architecture.input_modalities` (`image`);
 *   - Ollama's `POST /api/show` (at the server's origin, beside `/v1`): `capabilities`
 *     (`completion`, `vision`, `tools`, `thinking`) and `model_info["<arch>.context_length"]`.
 * Where neither says anything, the name-based guess of the OpenAI adapter stands, and
 * the admin can set them per model (overrides).
 */
import { capabilitiesFor, isChatModel } from '../providers/openai';
import { LIST_TIMEOUT_MS, NO_KEY_PLACEHOLDER } from '../providers/shared';
import type { ModelInfo } from '../providers/types';

export class ListError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

interface ListedModel {
  id?: unknown;
  owned_by?: unknown;
  context_length?: unknown;
  supported_parameters?: unknown;
  architecture?: { input_modalities?: unknown };
}

/** The capabilities and context length an OpenRouter-style entry reports, or null where it says nothing. */
function fromListing(m: ListedModel): { capabilities: string[] | null; contextLength: number | null } {
  const params = Array.isArray(m.supported_parameters) ? (m.supported_parameters as unknown[]) : null;
  const inputs = Array.isArray(m.architecture?.input_modalities) ? (m.architecture!.input_modalities as unknown[]) : null;
  let capabilities: string[] | null = null;
  if (params || inputs) {
    capabilities = ['chat'];
    if (inputs?.includes('image')) capabilities.push('vision');
    if (params?.includes('tools')) capabilities.push('tools');
    if (params?.includes('reasoning') || params?.includes('include_reasoning')) capabilities.push('reasoning');
  }
  return { capabilities, contextLength: typeof m.context_length === 'number' ? m.context_length : null };
}

/** Ollama's /api/show for one model, or null when the server is not Ollama (or says nothing). */
async function ollamaShow(
  fetcher: typeof fetch,
  origin: string,
  model: string,
  headers: Record<string, string>,
): Promise<{ capabilities: string[]; contextLength: number | null } | null> {
  try {
    const res = await fetcher(`${origin}/api/show`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model }),
      signal: AbortSignal.timeout(LIST_TIMEOUT_MS),
    });
    if (!res.ok) return null;
    const body = (await res.json()) as { capabilities?: unknown; model_info?: Record<string, unknown> };
    if (!Array.isArray(body.capabilities)) return null;
    const caps = body.capabilities as unknown[];
    const capabilities = ['chat'];
    if (caps.includes('vision')) capabilities.push('vision');
    if (caps.includes('tools')) capabilities.push('tools');
    if (caps.includes('thinking')) capabilities.push('reasoning');
    const lengthKey = Object.keys(body.model_info ?? {}).find((k) => k.endsWith('.context_length'));
    const length = lengthKey ? body.model_info![lengthKey] : null;
    return { capabilities, contextLength: typeof length === 'number' ? length : null };
  } catch {
    return null;
  }
}

/** The chat models of an OpenAI-compatible server, with what it reports of each. Throws ListError. */
export async function listOpenAICompatible(
  fetcher: typeof fetch,
  baseUrl: string,
  apiKey: string | null,
  prefix: string,
): Promise<ModelInfo[]> {
  const headers = { authorization: `Bearer ${apiKey || NO_KEY_PLACEHOLDER}`, accept: 'application/json' };
  let res: Response;
  try {
    res = await fetcher(`${baseUrl.replace(/\/+$/, '')}/models`, { headers, signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
  } catch (error) {
    throw new ListError(`Could not reach the server: ${error instanceof Error ? error.message : String(error)}`, null);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new ListError(`The server answered ${res.status}`, res.status);
  }
  const body = (await res.json().catch(() => null)) as { data?: unknown } | null;
  if (!body || !Array.isArray(body.data)) throw new ListError('The server did not answer a model list', null);
  const listed = (body.data as ListedModel[]).filter((m): m is ListedModel & { id: string } => typeof m?.id === 'string' && isChatModel(m.id));
  // Ollama marks its models `owned_by: "library"`; ask it about each (a few at a time).
  const isOllama = listed.some((m) => m.owned_by === 'library' || m.owned_by === 'ollama');
  const origin = new URL(baseUrl).origin;
  const models: ModelInfo[] = [];
  for (let i = 0; i < listed.length; i += 4) {
    const batch = listed.slice(i, i + 4);
    const shown = await Promise.all(batch.map((m) => (isOllama && i < 200 ? ollamaShow(fetcher, origin, m.id, headers) : null)));
    batch.forEach((m, j) => {
      const reported = shown[j] ?? fromListing(m);
      models.push({
        id: `${prefix}:${m.id}`,
        provider: prefix,
        name: m.id,
        capabilities: reported.capabilities ?? capabilitiesFor(m.id),
        contextLength: reported.contextLength,
      });
    });
  }
  return models;
}
