/** The SQL of the voice feature. */
import type { Sql } from '../db';

/** The voice a user chose in their settings, if any (their row only). */
export async function savedVoice(sql: Sql, userId: string): Promise<string | null> {
  const [row] = await sql<{ voice: string | null }[]>`
    select prefs->>'voice' as voice from user_settings where user_id = ${userId}`;
  return row?.voice ?? null;
}
