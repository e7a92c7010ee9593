/**
 * createProviders: which adapter, which key and which models, per user.
 * A user's own key (saved in settings) replaces the server's for that provider,
 * against the server's configured URL when there is one, else the provider's public URL.
 * Model lists are cached per provider and key, refreshed in the background once
 * stale, and a provider that is down only loses its own entries (or keeps its last good list).
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import { sha256 } from '../crypto';
import { log } from '../log';
import { getKeysAndSettings, getUserKeys, type UserKeys } from '../settings/service';
import { createMistralProvider } from './mistral';
import { createOpenAIProvider } from './openai';
import type { Connections } from '../connections/service';
import type { ChatMessage, ChatProvider, KeyCheck, ModelInfo, ProviderId, Providers, StreamEvent, StreamOptions, UserView } from './types';

export interface ProvidersOptions {
  /** A list older than this is refreshed in the background (its copy still served meanwhile). */
  ttlMs?: number;
  /** After a failed fetch with nothing cached, wait this long before asking that provider again. */
  retryMs?: number;
  /** Adapters to use instead of the SDK-backed ones (tests). */
  adapters?: Partial<Record<ProviderId, ChatProvider>>;
  /** The admin's connections: their chat models are listed as `<slug>:<model>` after the environment's. */
  connections?: Connections;
}

const PROVIDERS: ProviderId[] = ['mistral', 'openai'];
const LABELS: Record<ProviderId, string> = { mistral: 'Mistral', openai: 'OpenAI' };
const MAX_CACHE_ENTRIES = 1000;

interface CacheEntry {
  models: ModelInfo[] | null;
  fetchedAt: number;
  failedAt: number;
  inflight: Promise<void> | null;
}

export function createProviders(config: Config, sql: Sql, options: ProvidersOptions = {}): Providers {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const retryMs = options.retryMs ?? 30_000;
  const adapters: Record<ProviderId, ChatProvider> = {
    mistral: options.adapters?.mistral ?? createMistralProvider({ serverURL: config.ai.mistral?.serverURL ?? null }),
    openai: options.adapters?.openai ?? createOpenAIProvider({ baseURL: config.ai.openai?.baseURL ?? null }),
  };
  const cache = new Map<string, CacheEntry>();

  /** The key to use for a provider, or undefined when that provider is unavailable to this user. */
  function keyFor(provider: ProviderId, keys: UserKeys): string | null | undefined {
    if (keys[provider]) return keys[provider];
    const server = config.ai[provider];
    return server ? server.apiKey : undefined;
  }

  // Entries are named by a hash of the key, so no key sits in the map's names.
  const cacheName = (provider: ProviderId, apiKey: string | null) => `${provider}:${apiKey ? sha256(apiKey) : '-'}`;

  function refresh(provider: ProviderId, apiKey: string | null, entry: CacheEntry): Promise<void> {
    entry.inflight ??= adapters[provider]
      .listModels(apiKey)
      .then(
        (models) => {
          entry.models = models;
          entry.fetchedAt = Date.now();
        },
        (error: unknown) => {
          entry.failedAt = Date.now();
          log.warn('model list failed', {
            provider,
            kept: entry.models ? entry.models.length : 0,
            error: error instanceof Error ? error.message.slice(0, 300) : String(error),
          });
        },
      )
      .finally(() => {
        entry.inflight = null;
      });
    return entry.inflight;
  }

  async function listFor(provider: ProviderId, apiKey: string | null): Promise<ModelInfo[]> {
    const name = cacheName(provider, apiKey);
    let entry = cache.get(name);
    if (!entry) {
      if (cache.size >= MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      entry = { models: null, fetchedAt: 0, failedAt: 0, inflight: null };
      cache.set(name, entry);
    }
    const now = Date.now();
    if (entry.models) {
      // Stale-while-revalidate: the last good list answers now; a refresh runs behind it.
      if (now - entry.fetchedAt > ttlMs && now - entry.failedAt > retryMs) void refresh(provider, apiKey, entry);
      return entry.models;
    }
    if (entry.inflight) await entry.inflight;
    else if (now - entry.failedAt > retryMs) await refresh(provider, apiKey, entry);
    return entry.models ?? [];
  }

  /** The cached list without fetching: null when none is known yet. */
  function peek(provider: ProviderId, apiKey: string | null): ModelInfo[] | null {
    return cache.get(cacheName(provider, apiKey))?.models ?? null;
  }

  /** The environment's providers' models with these keys, then the admin's connections' (everyone's). */
  async function modelsForKeys(keys: UserKeys, connectionModels?: ModelInfo[]): Promise<ModelInfo[]> {
    const lists = await Promise.all([
      ...PROVIDERS.map((p) => {
        const key = keyFor(p, keys);
        return key === undefined ? [] : listFor(p, key);
      }),
      connectionModels ?? options.connections?.chatModels() ?? [],
    ]);
    return lists.flat();
  }

  /** The first candidate that is listed; with nothing listed at all, the first candidate (the provider will say). */
  function pick(models: ModelInfo[], candidates: (string | null | undefined)[]): string | null {
    const wanted = candidates.filter((c): c is string => typeof c === 'string' && c.length > 0);
    for (const id of wanted) if (models.some((m) => m.id === id)) return id;
    if (models.length === 0) return wanted[0] ?? null;
    return models[0]!.id;
  }

  /**
   * The user's settings row and the connections are read side by side: one round trip.
   * `checked`: listing the models may ask the providers and connections (when not cached), so
   * that waits for the caller's checks (a refused request must never reach a provider); the
   * user's row is read at once.
   */
  async function userView(userId: string, checked?: Promise<void>): Promise<UserView> {
    const row = getKeysAndSettings(sql, config, userId);
    const connectionModels = checked ? checked.then(() => options.connections?.chatModels() ?? []) : (options.connections?.chatModels() ?? []);
    const { keys, settings } = await row;
    if (checked) await checked;
    return { models: await modelsForKeys(keys, await connectionModels), userDefault: settings.defaultModel, keys };
  }

  async function checkKey(provider: ProviderId, apiKey: string): Promise<KeyCheck> {
    try {
      const models = await adapters[provider].listModels(apiKey);
      // A key that works lists models; remember them, so the first chat needs no second request.
      cache.set(cacheName(provider, apiKey), { models, fetchedAt: Date.now(), failedAt: 0, inflight: null });
      return { ok: true };
    } catch (error) {
      const e = error as { status?: unknown; statusCode?: unknown };
      const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : null;
      log.info('provider key check failed', { provider, status });
      return { ok: false, refused: status === 401 || status === 403, status };
    }
  }

  return {
    modelsForKeys,
    checkKey,

    async models(userId) {
      const { models, userDefault } = await userView(userId);
      const defaultModel = models.length ? pick(models, [userDefault, config.ai.defaultModel]) : null;
      return { models, defaultModel };
    },

    view: userView,

    async resolveModel(userId, requested, view) {
      const { models, userDefault } = view ?? (await userView(userId));
      return pick(models, [requested, userDefault, config.ai.defaultModel]);
    },

    async modelInfo(userId, modelId, view) {
      const { models } = view ?? (await userView(userId));
      return models.find((m) => m.id === modelId) ?? null;
    },

    async *stream(
      userId: string,
      modelId: string,
      messages: ChatMessage[],
      signal: AbortSignal,
      { keys: givenKeys, ...streamOptions }: StreamOptions = {},
    ): AsyncGenerator<StreamEvent> {
      const match = /^(mistral|openai):(.+)$/.exec(modelId ?? '');
      const other = match ? null : /^([a-z0-9][a-z0-9-]{0,31}):(.+)$/.exec(modelId ?? '');
      const connection = other && options.connections ? await options.connections.bySlug(other[1]!).catch(() => null) : null;
      if (connection && other) {
        if (connection.row.models && !connection.row.models.includes(other[2]!)) {
          yield { type: 'error', message: `The model "${modelId}" is not available; choose another one`, status: 404 };
          return;
        }
        yield* connection.adapter.stream({ model: other[2]!, messages, signal, apiKey: connection.apiKey, ...streamOptions });
        return;
      }
      if (!match) {
        yield { type: 'error', message: `Unknown model "${String(modelId).slice(0, 100)}": ids look like mistral:mistral-small-latest`, status: 400 };
        return;
      }
      const provider = match[1] as ProviderId;
      const model = match[2]!;
      try {
        const keys = givenKeys ?? (await getUserKeys(sql, config, userId));
        const apiKey = keyFor(provider, keys);
        if (apiKey === undefined) {
          yield {
            type: 'error',
            message: `${LABELS[provider]} is not set up on this server; add your own ${LABELS[provider]} key in settings`,
            status: 400,
          };
          return;
        }
        const known = peek(provider, apiKey);
        if (known && known.length && !known.some((m) => m.id === modelId)) {
          yield { type: 'error', message: `The model "${modelId}" is not available; choose another one`, status: 404 };
          return;
        }
        yield* adapters[provider].stream({ model, messages, signal, apiKey, ...streamOptions });
      } catch (error) {
        // Adapters report their own failures as events; this is for anything else (e.g. the database).
        if (signal.aborted) return;
        log.error('provider stream failed', { provider, error: error instanceof Error ? error.message : String(error) });
        yield { type: 'error', message: 'The reply could not be started; try again', status: 503 };
      }
    },
  };
}
