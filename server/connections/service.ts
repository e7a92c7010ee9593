/**
 * Connections: any number of OpenAI-compatible servers and Mistral accounts, beside the
 * environment's two providers. Keys are sealed (AES-256-GCM, a key derived from APP_SECRET
 * for this purpose only) and leave this module in full only towards the server they belong
 * to. Each connection gets an SDK adapter whose fetch re-checks redirects (guarded-fetch.ts);
 * its models are listed as `<slug>:<model>`, cached, and the last listing's outcome is
 * kept as the connection's status, so the console can say why one fails.
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import { decrypt, deriveKey, encrypt } from '../crypto';
import { badRequest, conflict, notFound } from '../errors';
import { log } from '../log';
import { createMistralProvider } from '../providers/mistral';
import { createOpenAIProvider } from '../providers/openai';
import type { ChatProvider, ModelInfo } from '../providers/types';
import { ListError, listOpenAICompatible } from './capabilities';
import { guardedFetch, isLocalUrl } from './guarded-fetch';
import { webSearchTool } from '../tools/web-search';
import type { Connection, ConnectionStatus, CreateConnectionBody, Purpose, UpdateConnectionBody } from './model';
import { deleteConnection, insertConnection, selectConnections, updateConnection, type ConnectionFields, type ConnectionRow } from './queries';
import { shortLived } from '../infra/short-lived';

/** A connection ready to call: its row, its key in clear, its SDK adapter and its fetch. */
export interface Resolved {
  row: ConnectionRow;
  apiKey: string | null;
  adapter: ChatProvider;
  fetch: typeof fetch;
}

export interface Connections {
  list(): Promise<Connection[]>;
  create(body: CreateConnectionBody): Promise<Connection>;
  update(id: string, body: UpdateConnectionBody): Promise<Connection>;
  remove(id: string): Promise<void>;
  test(id: string): Promise<{ connection: Connection; status: ConnectionStatus }>;
  /** The chat models of every connection with the `chat` purpose. */
  chatModels(): Promise<ModelInfo[]>;
  /** The connection with this slug, ready to call; null when there is none. */
  bySlug(slug: string): Promise<Resolved | null>;
  /** The connection used for a purpose: the one marked default for it, else the first that has it. */
  forPurpose(purpose: Purpose): Promise<Resolved | null>;
  /** A Mistral account among the connections (for its OCR endpoint): a chat one first; null when none. */
  mistralAccount(): Promise<Resolved | null>;
}

const ROWS_TTL_MS = 3_000;
const MODELS_TTL_MS = 5 * 60_000;
const RETRY_MS = 30_000;

/**
 * The configuration a speech or image engine sees when a connection serves it: the connection
 * as the environment's provider of its kind (its URL, its key), chosen for that purpose. So a
 * local Whisper server (stt) and a Kokoro or Piper server (tts) give keyless, private voice
 * calls through the very same code as the environment's providers.
 */
export function asEnvironment(config: Config, c: Resolved, purpose: 'stt' | 'tts' | 'images'): Config {
  const ai =
    c.row.kind === 'mistral'
      ? { ...config.ai, mistral: { apiKey: c.apiKey, serverURL: c.row.baseUrl } }
      : { ...config.ai, openai: { apiKey: c.apiKey, baseURL: c.row.baseUrl } };
  if (purpose === 'images') return { ...config, ai, images: { ...config.images, provider: c.row.kind } } as Config;
  return { ...config, ai, voice: { ...config.voice, [purpose]: c.row.kind } } as Config;
}

export function slugFrom(name: string): string {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32).replace(/-+$/, '');
  if (!slug) return 'server';
  return slug === 'openai' || slug === 'mistral' ? `${slug}-2` : slug;
}

export function createConnections(config: Config, sql: Sql): Connections {
  const sealing = deriveKey(config.auth.secret, 'connection-keys');
  // Short-lived, so another instance's change shows within seconds; our own writes clear it.
  const rows = shortLived(() => selectConnections(sql), ROWS_TTL_MS);
  const allRows = () => rows.get();
  const invalidate = () => rows.clear();
  const lists = new Map<string, { stamp: string; models: ModelInfo[] | null; fetchedAt: number; failedAt: number; inflight: Promise<void> | null }>();
  const statuses = new Map<string, ConnectionStatus>();
  const resolved = new Map<string, { stamp: string; value: Resolved }>();

  function open(row: ConnectionRow): string | null {
    if (!row.keyEnc) return null;
    try {
      return decrypt(sealing, row.keyEnc);
    } catch {
      log.warn('a connection key does not decrypt (was APP_SECRET changed?)', { connection: row.slug });
      return null;
    }
  }

  function resolve(row: ConnectionRow): Resolved {
    const stamp = `${row.updatedAt}`;
    const known = resolved.get(row.id);
    if (known && known.stamp === stamp) return known.value;
    const fetcher = guardedFetch(row.baseUrl);
    const options = { label: row.name, fetch: fetcher, prefix: row.slug };
    const adapter =
      row.kind === 'mistral'
        ? createMistralProvider({ serverURL: row.baseUrl.replace(/\/+$/, ''), ...options })
        : createOpenAIProvider({ baseURL: row.baseUrl.replace(/\/+$/, ''), ...options });
    const value = { row, apiKey: open(row), adapter, fetch: fetcher };
    resolved.set(row.id, { stamp, value });
    return value;
  }

  function view(row: ConnectionRow): Connection {
    return {
      id: row.id,
      name: row.name,
      slug: row.slug,
      kind: row.kind,
      baseUrl: row.baseUrl,
      hasKey: Boolean(row.keyEnc),
      keyLast4: row.keyEnc ? row.keyLast4 : null,
      models: row.models,
      purposes: row.purposes,
      defaultFor: row.defaultFor,
      overrides: row.overrides,
      local: isLocalUrl(row.baseUrl),
      status: statuses.get(row.id) ?? null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  /** Lists a connection's models (uncached), as the server reports them, then the allow-list and the admin's overrides. */
  async function fetchModels(r: Resolved): Promise<ModelInfo[]> {
    const { row } = r;
    const listed =
      row.kind === 'mistral'
        ? await r.adapter.listModels(r.apiKey)
        : await listOpenAICompatible(r.fetch, row.baseUrl, r.apiKey, row.slug);
    const allowed = row.models ? new Set(row.models) : null;
    return listed
      .filter((m) => !allowed || allowed.has(m.name))
      .map((m) => {
        const o = row.overrides[m.name];
        return {
          ...m,
          capabilities: o?.capabilities?.length ? [...new Set(['chat', ...o.capabilities])] : m.capabilities,
          contextLength: o?.contextLength !== undefined ? o.contextLength : (m.contextLength ?? null),
          connection: row.name,
        };
      });
  }

  function statusOf(models: ModelInfo[] | null, error: unknown): ConnectionStatus {
    const checkedAt = new Date().toISOString();
    if (models) {
      return models.length
        ? { ok: true, reason: null, message: `${models.length} model${models.length === 1 ? '' : 's'}`, models: models.map((m) => m.name), checkedAt }
        : { ok: false, reason: 'no_models', message: 'The server lists no models (or none the allow-list keeps)', models: [], checkedAt };
    }
    const e = error as { status?: unknown; statusCode?: unknown; message?: unknown };
    const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : null;
    if (status === 401 || status === 403) {
      return { ok: false, reason: 'unauthorized', message: `The server refused the key (${status})`, models: [], checkedAt };
    }
    if (status === null && !(error instanceof ListError && /model list/.test(error.message))) {
      const why = typeof e?.message === 'string' ? e.message.slice(0, 200) : 'no answer';
      return { ok: false, reason: 'unreachable', message: `Could not reach the server (${why})`, models: [], checkedAt };
    }
    return { ok: false, reason: 'error', message: status ? `The server answered ${status}` : String(e?.message ?? 'failed').slice(0, 200), models: [], checkedAt };
  }

  async function modelsOf(r: Resolved): Promise<ModelInfo[]> {
    const stamp = `${r.row.updatedAt}`;
    let entry = lists.get(r.row.id);
    if (!entry || entry.stamp !== stamp) {
      entry = { stamp, models: null, fetchedAt: 0, failedAt: 0, inflight: null };
      lists.set(r.row.id, entry);
    }
    const e = entry;
    const refresh = () =>
      (e.inflight ??= fetchModels(r)
        .then(
          (models) => {
            e.models = models;
            e.fetchedAt = Date.now();
            statuses.set(r.row.id, statusOf(models, null));
          },
          (error: unknown) => {
            e.failedAt = Date.now();
            statuses.set(r.row.id, statusOf(null, error));
            log.warn('connection model list failed', { connection: r.row.slug, error: String((error as Error)?.message ?? error).slice(0, 300) });
          },
        )
        .finally(() => (e.inflight = null)));
    const now = Date.now();
    if (e.models) {
      if (now - e.fetchedAt > MODELS_TTL_MS && now - e.failedAt > RETRY_MS) void refresh();
      return e.models;
    }
    if (e.inflight) await e.inflight;
    else if (now - e.failedAt > RETRY_MS) await refresh();
    return e.models ?? [];
  }

  function sealKey(apiKey: string | null | undefined) {
    return apiKey ? { enc: encrypt(sealing, apiKey), last4: apiKey.slice(-4) } : null;
  }

  function check(f: ConnectionFields) {
    if (f.slug === 'openai' || f.slug === 'mistral') throw badRequest({ slug: 'is reserved for the environment’s providers' });
    try {
      const url = new URL(f.baseUrl);
      if (url.username || url.password) throw badRequest({ baseUrl: 'must not carry credentials; use the key field' });
    } catch (error) {
      if (error instanceof Error && 'status' in error) throw error;
      throw badRequest({ baseUrl: 'must be an http(s) URL' });
    }
    for (const p of f.defaultFor) if (!f.purposes.includes(p)) throw badRequest({ defaultFor: `names ${p}, which is not one of its purposes` });
  }

  async function saving<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw conflict('Another connection has this slug', { slug: 'is taken' });
      throw error;
    } finally {
      invalidate();
    }
  }

  async function testSearch(row: ConnectionRow): Promise<ConnectionStatus> {
    const checkedAt = new Date().toISOString();
    try {
      const tool = webSearchTool(row.baseUrl);
      const result = await tool.run({ query: 'test' }, { userId: '', signal: AbortSignal.timeout(10_000), cite: () => 0 });
      if (result.isError) return { ok: false, reason: 'error', message: result.output, models: [], checkedAt };
      return { ok: true, reason: null, message: 'Search answers', models: [], checkedAt };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const status = /answered (\d+)/.exec(message)?.[1];
      return status
        ? { ok: false, reason: 'error', message: `The search server answered ${status} (is its JSON format enabled?)`, models: [], checkedAt }
        : { ok: false, reason: 'unreachable', message: `Could not reach the search server (${message.slice(0, 200)})`, models: [], checkedAt };
    }
  }

  async function find(id: string) {
    const row = (await allRows()).find((r) => r.id === id);
    if (!row) throw notFound('Connection');
    return row;
  }

  return {
    async list() {
      return (await allRows()).map(view);
    },

    async create(body) {
      const fields: ConnectionFields = {
        name: body.name.trim(),
        slug: body.slug ?? slugFrom(body.name),
        kind: body.kind,
        baseUrl: body.baseUrl.trim().replace(/\/+$/, ''),
        key: sealKey(body.apiKey),
        models: body.models ?? null,
        purposes: [...new Set(body.purposes ?? (['chat'] as Purpose[]))],
        defaultFor: [...new Set(body.defaultFor ?? [])],
        overrides: body.overrides ?? {},
      };
      check(fields);
      return view(await saving(() => insertConnection(sql, fields)));
    },

    async update(id, body) {
      const row = await find(id);
      const fields: ConnectionFields = {
        name: body.name?.trim() ?? row.name,
        slug: body.slug ?? row.slug,
        kind: body.kind ?? row.kind,
        baseUrl: body.baseUrl?.trim().replace(/\/+$/, '') ?? row.baseUrl,
        // undefined: keep; null: remove; a string: replace.
        key: body.apiKey === undefined ? (row.keyEnc ? { enc: row.keyEnc, last4: row.keyLast4 ?? '' } : null) : sealKey(body.apiKey),
        models: body.models === undefined ? row.models : body.models,
        purposes: body.purposes ? [...new Set(body.purposes)] : row.purposes,
        defaultFor: body.defaultFor ? [...new Set(body.defaultFor)] : row.defaultFor.filter((p) => (body.purposes ?? row.purposes).includes(p)),
        overrides: body.overrides ?? row.overrides,
      };
      check(fields);
      const updated = await saving(() => updateConnection(sql, id, fields));
      if (!updated) throw notFound('Connection');
      statuses.delete(id);
      return view(updated);
    },

    async remove(id) {
      if (!(await saving(() => deleteConnection(sql, id)))) throw notFound('Connection');
      lists.delete(id);
      statuses.delete(id);
      resolved.delete(id);
    },

    async test(id) {
      const row = await find(id);
      const r = resolve(row);
      let status: ConnectionStatus;
      if (row.purposes.every((p) => p === 'search')) {
        // A search engine (SearXNG) lists no models: ask it something instead.
        status = await testSearch(row);
        statuses.set(id, status);
        return { connection: view(row), status };
      }
      try {
        const models = await fetchModels(r);
        status = statusOf(models, null);
        lists.set(id, { stamp: `${row.updatedAt}`, models, fetchedAt: Date.now(), failedAt: 0, inflight: null });
      } catch (error) {
        status = statusOf(null, error);
      }
      statuses.set(id, status);
      return { connection: view(row), status };
    },

    async chatModels() {
      const chat = (await allRows()).filter((r) => r.purposes.includes('chat'));
      const lists = await Promise.all(chat.map((row) => modelsOf(resolve(row))));
      return lists.flat();
    },

    async bySlug(slug) {
      const row = (await allRows()).find((r) => r.slug === slug);
      return row ? resolve(row) : null;
    },

    async mistralAccount() {
      const all = (await allRows()).filter((r) => r.kind === 'mistral');
      const row = all.find((r) => r.purposes.includes('chat')) ?? all[0];
      return row ? resolve(row) : null;
    },

    async forPurpose(purpose) {
      const all = (await allRows()).filter((r) => r.purposes.includes(purpose));
      const row = all.find((r) => r.defaultFor.includes(purpose)) ?? all[0];
      return row ? resolve(row) : null;
    },
  };
}
