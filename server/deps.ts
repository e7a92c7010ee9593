/** What features receive from createApp: explicit, so each shows what it depends on. */
import type { Config } from './config';
import type { Sql } from './db';
import type { authPlugin } from './auth/plugin';
import type { Providers } from './providers/types';
import type { Streams } from './replies/streams';
import type { ToolBox } from './tools/types';
import type { Connections } from './connections/service';

export interface Hooks {
  /** Runs before an account's rows are deleted (e.g. to remove its stored files). */
  beforeAccountDelete(userId: string): Promise<void>;
  /** Runs before a thread is deleted (e.g. to stop its replies). */
  beforeThreadDelete(userId: string, threadId: string): Promise<void>;
  /**
   * Call after an account is disabled (or its role lowered so it may no longer stream): its
   * replies stop and are stored as cancelled, never left `streaming`, and its open streams end.
   */
  afterAccountDisabled(userId: string): Promise<void>;
  /** Runs after a thread is deleted (e.g. to remove blobs no longer referenced). */
  afterThreadDelete(userId: string, threadId: string): Promise<void>;
}

export interface AppDeps {
  config: Config;
  sql: Sql;
  auth: ReturnType<typeof authPlugin>;
  hooks: Hooks;
  providers: Providers;
  /** Open reply streams by session: sign-out, password change and disabling end them at once. */
  streams: Streams;
  /** Ends sessions' streams (signing a device out); the same registry as `streams`. */
  sessionStreams: { end(sessionIds: Iterable<string>): void };
  /** Tools a reply may call (web search, MCP); absent: none. */
  tools?: ToolBox;
  /** The admin's connections (speech, images and search can be served by one). */
  connections?: Connections;
}
