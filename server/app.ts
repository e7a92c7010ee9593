/**
 * createApp(deps) chains the feature plugins. It never listens: index.ts does,
 * and tests drive the same app on a real port or through app.handle().
 */
import { Elysia } from 'elysia';
import type { Config } from './config';
import type { Sql } from './db';
import type { AppDeps, Hooks } from './deps';
import { errorHandler } from './errors';
import { securityPlugin } from './http/security';
import { healthRoutes } from './health';
import { authPlugin } from './auth/plugin';
import { authRoutes } from './auth';
import { createProviders, modelsRoutes } from './providers';
import { connectionsRoutes, createConnections } from './connections';
import { createMcpServers, createToolBox, toolsRoutes } from './tools';
import { settingsRoutes } from './settings';
import { threadsRoutes } from './threads';
import { repliesRoutes } from './replies';
import { syncRoutes } from './sync';
import { voiceRoutes } from './voice';
import { fileHooks, fileReader, filesRoutes } from './files';
import { imagesRoutes } from './images';
import { sharesRoutes } from './shares';
import { openapiRoutes } from './openapi';
import { webRoutes } from './web';
import { Generations } from './replies/generations';
import type { FileReader } from './replies/types';

export interface AppInput {
  config: Config;
  sql: Sql;
  hooks?: Partial<Hooks>;
  providers?: AppDeps['providers'];
  files?: FileReader;
}

export function createApp(input: AppInput) {
  // Replies in flight in this process; deleting a thread or an account stops theirs.
  const generations = new Generations();
  const hooks = input.hooks ?? {};
  // Stored files go with their threads and accounts; bytes nobody refers to are deleted.
  const files = fileHooks(input);
  // Model servers and MCP servers an admin added (server/connections, server/tools).
  const connections = createConnections(input.config, input.sql);
  const mcp = createMcpServers(input.config, input.sql);
  const deps = {
    config: input.config,
    sql: input.sql,
    auth: authPlugin(input),
    hooks: {
      beforeAccountDelete: async (userId: string) => {
        generations.cancelUser(userId);
        await hooks.beforeAccountDelete?.(userId);
        await files.beforeAccountDelete(userId);
      },
      beforeThreadDelete: async (userId: string, threadId: string) => {
        generations.cancelThread(threadId);
        await hooks.beforeThreadDelete?.(userId, threadId);
        await files.beforeThreadDelete(userId, threadId);
      },
      afterThreadDelete: async (userId: string, threadId: string) => {
        await hooks.afterThreadDelete?.(userId, threadId);
        await files.afterThreadDelete(userId, threadId);
      },
    },
    providers: input.providers ?? createProviders(input.config, input.sql, { connections }),
    connections,
    mcp,
    tools: createToolBox(input.config, connections, mcp),
    generations,
    files: input.files ?? fileReader(input),
  } satisfies AppDeps & Record<string, unknown>;
  const app = new Elysia()
    .use(errorHandler)
    .use(securityPlugin(input.config.http.publicUrl))
    .use(healthRoutes(input.sql))
    .use(authRoutes(deps))
    .use(modelsRoutes(deps))
    .use(connectionsRoutes(deps))
    .use(toolsRoutes(deps))
    .use(settingsRoutes(deps))
    .use(threadsRoutes(deps))
    .use(repliesRoutes(deps))
    .use(syncRoutes(deps))
    .use(voiceRoutes(deps))
    .use(filesRoutes(deps))
    .use(imagesRoutes(deps))
    .use(sharesRoutes(deps))
    .use(openapiRoutes())
    .use(webRoutes(input.config));
  // Exposed for graceful shutdown (drain) and for tests that check nothing leaks.
  return Object.assign(app, { generations });
}

export type App = ReturnType<typeof createApp>;
