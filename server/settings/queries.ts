import type { Sql, Tx } from '../db';

type Db = Sql | Tx;

export interface SettingsRow {
  prefs: Record<string, unknown>;
  mistralKeyEnc: string | null;
  mistralKeyLast4: string | null;
  openaiKeyEnc: string | null;
  openaiKeyLast4: string | null;
}

export async function selectSettings(sql: Db, userId: string): Promise<SettingsRow | null> {
  const [row] = await sql<SettingsRow[]>`
    select prefs, mistral_key_enc, mistral_key_last4, openai_key_enc, openai_key_last4
    from user_settings where user_id = ${userId}`;
  return row ?? null;
}

export interface SettingsChange {
  /** Merged into the stored preferences (jsonb ||). */
  prefs: Record<string, unknown>;
  /** undefined: unchanged; null: removed; otherwise the new sealed key and its last four characters. */
  mistral?: { enc: string; last4: string } | null;
  openai?: { enc: string; last4: string } | null;
}

/** Upserts one user's row: preferences merged, keys replaced only when given. */
export async function upsertSettings(sql: Db, userId: string, change: SettingsChange): Promise<SettingsRow> {
  const keep = (k: 'mistral' | 'openai') => change[k] === undefined;
  const mEnc = change.mistral?.enc ?? null;
  const mLast4 = change.mistral?.last4 ?? null;
  const oEnc = change.openai?.enc ?? null;
  const oLast4 = change.openai?.last4 ?? null;
  const [row] = await sql<SettingsRow[]>`
    insert into user_settings (user_id, prefs, mistral_key_enc, mistral_key_last4, openai_key_enc, openai_key_last4)
    values (${userId}, ${sql.json(change.prefs as never)}, ${mEnc}, ${mLast4}, ${oEnc}, ${oLast4})
    on conflict (user_id) do update set
      prefs = user_settings.prefs || excluded.prefs,
      mistral_key_enc = case when ${keep('mistral')} then user_settings.mistral_key_enc else excluded.mistral_key_enc end,
      mistral_key_last4 = case when ${keep('mistral')} then user_settings.mistral_key_last4 else excluded.mistral_key_last4 end,
      openai_key_enc = case when ${keep('openai')} then user_settings.openai_key_enc else excluded.openai_key_enc end,
      openai_key_last4 = case when ${keep('openai')} then user_settings.openai_key_last4 else excluded.openai_key_last4 end,
      updated_at = now()
    returning prefs, mistral_key_enc, mistral_key_last4, openai_key_enc, openai_key_last4`;
  return row!;
}
