/** What features receive from createApp: explicit, so each shows what it depends on. */
import type { Config } from './config';
import type { Sql } from './db';
import type { authPlugin } from './auth/plugin';
import type { Providers } from './providers/types';
import type { ToolBox } from './tools/types';
import type { Connections } from './connections/service';

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
  /** Tools a reply may call (web search, MCP); absent: none. */
  tools?: ToolBox;
  /** The admin's connections (speech, images and search can be served by one). */
  connections?: Connections;
}
