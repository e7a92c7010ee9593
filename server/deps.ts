/** What features receive from createApp: explicit, so each shows what it depends on. */
import type { Config } from './config';
import type { Sql } from './db';
import type { authPlugin } from './auth/plugin';
import type { Providers } from './providers/types';

export interface Hooks {
  /** Runs before an account's rows are deleted (e.g. to remove its stored files). */
  beforeAccountDelete(userId: string): Promise<void>;
}

export interface AppDeps {
  config: Config;
  sql: Sql;
  auth: ReturnType<typeof authPlugin>;
  hooks: Hooks;
  providers: Providers;
}
