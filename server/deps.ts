/** What features receive from createApp: explicit, so each shows what it depends on. */
import type { Config } from './config';
import type { Sql } from './db';
import type { authPlugin } from './auth/plugin';
import type { Providers } from './providers/types';
import type { SessionStreams } from './auth/sessions';

export interface Hooks {
  /** Runs before an account's rows are deleted (e.g. to remove its stored files). */
  beforeAccountDelete(userId: string): Promise<void>;
  /** Runs before a thread is deleted (e.g. to stop its replies). */
  beforeThreadDelete(userId: string, threadId: string): Promise<void>;
  /** Runs after a thread is deleted (e.g. to remove blobs no longer referenced). */
  afterThreadDelete(userId: string, threadId: string): Promise<void>;
}

export interface AppDeps {
  config: Config;
  sql: Sql;
  auth: ReturnType<typeof authPlugin>;
  hooks: Hooks;
  providers: Providers;
  /** Streams open per session in this process: signing a device out ends them. */
  sessionStreams: SessionStreams;
}
