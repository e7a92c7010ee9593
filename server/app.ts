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
import { compressJson } from './http/compress';
import { bodyLimits, type RouteInfo } from './http/body-limits';
import { healthRoutes } from './health';
import { authPlugin } from './auth/plugin';
import { authRoutes } from './auth';
import { signinRoutes } from './auth/signin';
import { deleteIdleGuests } from './auth/guests';
import { createProviders, modelsRoutes } from './providers';
import { connectionsRoutes, createConnections } from './connections';
import { createMcpServers, createToolBox, toolsRoutes } from './tools';
import { settingsRoutes } from './settings';
import { threadsRoutes } from './threads';
import { foldersRoutes } from './folders';
import { searchRoutes } from './search';
import { exportRoutes } from './export';
import { importRoutes } from './import';
import { repliesRoutes } from './replies';
import { syncRoutes } from './sync';
import { voiceRoutes } from './voice';
import { fileHooks, fileReader, filesRoutes } from './files';
import { imagesRoutes } from './images';
import { sharesRoutes } from './shares';
import { createRoomBus, roomsRoutes } from './rooms';
import { openapiRoutes } from './openapi';
import { adminRoutes } from './admin';
import { quotaRoutes } from './quota';
import { flagsRoutes } from './flags';
import { integrationRoutes } from './integration';
import { webRoutes } from './web';
import { Generations } from './replies/generations';
import { Relay } from './replies/relay';
import { Streams } from './replies/streams';
import { createPush, pushRoutes } from './push';
import type { FileReader } from './replies/types';
import { localBus, type Bus } from './infra/notify';

export interface AppInput {
  config: Config;
  sql: Sql;
  hooks?: Partial<Hooks>;
  providers?: AppDeps['providers'];
  files?: FileReader;
  /** How instances tell each other (index.ts: PostgreSQL LISTEN/NOTIFY); default: this process only. */
  bus?: Bus;
}

export function createApp(input: AppInput) {
  // Replies in flight in this process; deleting a thread or an account stops theirs.
  const generations = new Generations();
  // Open reply streams by session, and replies across instances (followed, cancelled, stopped).
  const streams = new Streams();
  const bus = input.bus ?? localBus();
  const relay = new Relay({ bus, generations, streams, sql: input.sql });
  // Draining (SIGTERM): health answers 503 so a load balancer sends nobody new here.
  const lifecycle = { draining: false };
  const hooks = input.hooks ?? {};
  // Stored files go with their threads and accounts; bytes nobody refers to are deleted.
  const files = fileHooks(input);
  // Web Push: a reply that finishes unwatched notifies the account's devices.
  const push = createPush(input);
  // Model servers and MCP servers an admin added (server/connections, server/tools).
  const connections = createConnections(input.config, input.sql);
  const mcp = createMcpServers(input.config, input.sql);
  const deps = {
    config: input.config,
    sql: input.sql,
    auth: authPlugin(input),
    hooks: {
      beforeAccountDelete: async (userId: string) => {
        relay.stopUser(userId);
        await hooks.beforeAccountDelete?.(userId);
        await files.beforeAccountDelete(userId);
      },
      afterAccountDisabled: async (userId: string) => {
        // Stored `cancelled` with the text so far, never left `streaming`.
        generations.cancelUserReplies(userId);
        streams.endUser(userId);
        await hooks.afterAccountDisabled?.(userId);
      },
      beforeThreadDelete: async (userId: string, threadId: string) => {
        relay.stopThread(userId, threadId);
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
    streams,
    relay,
    // Signing a device out ends its streams: the same registry (the cluster's triggers reach the others).
    sessionStreams: { end: (ids: Iterable<string>) => { for (const id of ids) streams.endSession(id); } },
    files: input.files ?? fileReader(input),
    // Room events between instances (LISTEN/NOTIFY; in-process on the embedded database).
    rooms: createRoomBus(bus),
    push,
    afterReply: [push.replyFinished],
  } satisfies AppDeps & Record<string, unknown>;
  let routes = (): RouteInfo[] => [];
  const app = new Elysia()
    .use(errorHandler)
    .use(securityPlugin(input.config.http.publicUrl))
    // JSON answers of 1 KB or more go gzipped: a phone waits a second for a thread's 200 KB of messages.
    .use(compressJson)
    // The upload routes (parse: 'none') are found among the app's routes at the first request.
    .use(bodyLimits(() => routes()))
    .use(healthRoutes(input.sql, lifecycle))
    .use(authRoutes(deps))
    .use(signinRoutes(deps))
    .use(modelsRoutes(deps))
    .use(connectionsRoutes(deps))
    .use(toolsRoutes(deps))
    .use(settingsRoutes(deps))
    .use(threadsRoutes(deps))
    .use(foldersRoutes(deps))
    .use(searchRoutes(deps))
    .use(exportRoutes(deps))
    .use(importRoutes(deps))
    .use(repliesRoutes(deps))
    .use(syncRoutes(deps))
    .use(voiceRoutes(deps))
    .use(filesRoutes(deps))
    .use(imagesRoutes(deps))
    .use(sharesRoutes(deps))
    .use(roomsRoutes(deps))
    .use(pushRoutes(deps))
    .use(adminRoutes(deps))
    .use(quotaRoutes(deps))
    .use(flagsRoutes(deps))
    .use(integrationRoutes(deps))
    .use(openapiRoutes())
    .use(webRoutes(input.config));
  // Guests unused for 30 days go with their data (index.ts runs it every few hours).
  const sweepIdleGuests = (days?: number) => deleteIdleGuests(input.sql, deps.hooks, days);
  // Exposed for graceful shutdown (drain, lifecycle) and for tests that check nothing leaks.
  routes = () => app.routes as RouteInfo[];
  return Object.assign(app, { generations, streams, relay, bus, lifecycle, push, hooks: deps.hooks, sweepIdleGuests });
}

export type App = ReturnType<typeof createApp>;
