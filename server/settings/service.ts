/**
 * Per-user preferences and the user's own provider keys. Keys are sealed with
 * AES-256-GCM under a key derived from APP_SECRET for this purpose only, and
 * leave this module in full only towards the providers, never towards a client.
 */
import type { Config } from '../config';
import type { Sql } from '../db';
import type { Providers } from '../providers/types';
import { decrypt, deriveKey, encrypt } from '../crypto';
import { badGateway, badRequest } from '../errors';
import { log } from '../log';
import { DEFAULT_SETTINGS, type Settings, type SettingsUpdate, type SettingsView } from './model';
import { selectSettings, upsertSettings, type SettingsRow } from './queries';

export type KeyProvider = 'mistral' | 'openai';
export type UserKeys = Record<KeyProvider, string | null>;

const sealingKeys = new Map<string, Buffer>();
function sealingKey(config: Config): Buffer {
  let key = sealingKeys.get(config.auth.secret);
  if (!key) sealingKeys.set(config.auth.secret, (key = deriveKey(config.auth.secret, 'provider-keys')));
  return key;
}

function prefsOf(row: SettingsRow | null): Settings {
  const p = (row?.prefs ?? {}) as Partial<Record<keyof Settings, unknown>>;
  return {
    defaultModel: typeof p.defaultModel === 'string' ? p.defaultModel : DEFAULT_SETTINGS.defaultModel,
    theme: p.theme === 'light' || p.theme === 'dark' || p.theme === 'system' ? p.theme : DEFAULT_SETTINGS.theme,
    voice: typeof p.voice === 'string' ? p.voice : DEFAULT_SETTINGS.voice,
    talkMode: p.talkMode === 'toggle' || p.talkMode === 'hold' ? p.talkMode : DEFAULT_SETTINGS.talkMode,
  };
}

function viewOf(row: SettingsRow | null): SettingsView {
  return {
    settings: prefsOf(row),
    keys: {
      mistral: row?.mistralKeyEnc && row.mistralKeyLast4 ? { last4: row.mistralKeyLast4 } : null,
      openai: row?.openaiKeyEnc && row.openaiKeyLast4 ? { last4: row.openaiKeyLast4 } : null,
    },
  };
}

/** A user's preferences (defaults when they saved none): for any feature that needs them. */
export async function getSettings(sql: Sql, userId: string): Promise<Settings> {
  return prefsOf(await selectSettings(sql, userId));
}

/** What GET /api/settings shows: preferences and, for keys, only their last four characters. */
export async function getSettingsView(sql: Sql, userId: string): Promise<SettingsView> {
  return viewOf(await selectSettings(sql, userId));
}

function keysOf(config: Config, row: SettingsRow | null, userId: string): UserKeys {
  const open = (sealed: string | null | undefined, provider: KeyProvider) => {
    if (!sealed) return null;
    try {
      return decrypt(sealingKey(config), sealed);
    } catch {
      log.warn('stored provider key does not decrypt (was APP_SECRET changed?)', { userId, provider });
      return null;
    }
  };
  return { mistral: open(row?.mistralKeyEnc, 'mistral'), openai: open(row?.openaiKeyEnc, 'openai') };
}

/**
 * The user's own keys in clear, for the providers. A key that no longer decrypts
 * (APP_SECRET changed) counts as absent, so the server's key is used instead.
 */
export async function getUserKeys(sql: Sql, config: Config, userId: string): Promise<UserKeys> {
  return keysOf(config, await selectSettings(sql, userId), userId);
}

/** Keys and preferences in one read: what the providers need for each request. */
export async function getKeysAndSettings(sql: Sql, config: Config, userId: string): Promise<{ keys: UserKeys; settings: Settings }> {
  const row = await selectSettings(sql, userId);
  return { keys: keysOf(config, row, userId), settings: prefsOf(row) };
}

export interface SettingsDeps {
  sql: Sql;
  config: Config;
  providers: Providers;
}

/** Applies a PUT: validates against the models the user would have after it, then saves in one statement. */
export async function updateSettings(deps: SettingsDeps, userId: string, body: SettingsUpdate): Promise<SettingsView> {
  await checkNewKeys(deps.providers, body);
  const seal = (value: string | null | undefined) =>
    value === undefined ? undefined : value === null ? null : { enc: encrypt(sealingKey(deps.config), value), last4: value.slice(-4) };

  if (typeof body.defaultModel === 'string') {
    // A key saved in this same request may be what makes the model available.
    const current = await getUserKeys(deps.sql, deps.config, userId);
    const keys: UserKeys = {
      mistral: body.mistralKey === undefined ? current.mistral : body.mistralKey,
      openai: body.openaiKey === undefined ? current.openai : body.openaiKey,
    };
    const models = deps.providers.modelsForKeys
      ? await deps.providers.modelsForKeys(keys)
      : (await deps.providers.models(userId)).models;
    if (!models.some((m) => m.id === body.defaultModel)) {
      throw badRequest({ defaultModel: 'is not an available model' });
    }
  }

  const prefs: Record<string, unknown> = {};
  for (const name of ['defaultModel', 'theme', 'voice', 'talkMode'] as const) {
    if (body[name] !== undefined) prefs[name] = body[name];
  }
  const row = await upsertSettings(deps.sql, userId, {
    prefs,
    mistral: seal(body.mistralKey),
    openai: seal(body.openaiKey),
  });
  return viewOf(row);
}

const LABELS: Record<KeyProvider, string> = { mistral: 'Mistral', openai: 'OpenAI' };

/**
 * A key is tried against its provider before it is stored: a refused key is a 400 naming its
 * field, and a provider that cannot be asked is a 502; either way nothing of the PUT is saved.
 */
async function checkNewKeys(providers: Providers, body: SettingsUpdate): Promise<void> {
  if (!providers.checkKey) return;
  const wanted = (['mistral', 'openai'] as const).flatMap((p) => {
    const key = body[`${p}Key`];
    return typeof key === 'string' ? [{ provider: p, key }] : [];
  });
  const results = await Promise.all(wanted.map(({ provider, key }) => providers.checkKey!(provider, key)));
  const refused: Record<string, string> = {};
  for (const [i, r] of results.entries()) {
    const { provider } = wanted[i]!;
    if (r.ok) continue;
    if (r.refused) refused[`${provider}Key`] = `was not accepted by ${LABELS[provider]} (${r.status})`;
    else throw badGateway(`Could not check the ${LABELS[provider]} key: ${LABELS[provider]} did not answer${r.status ? ` (${r.status})` : ''}. Nothing was saved; try again.`);
  }
  if (Object.keys(refused).length) throw badRequest(refused, 'The provider did not accept the key');
}
