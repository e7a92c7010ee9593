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
import { settingsRoutes } from './settings';
import { threadsRoutes } from './threads';
import { repliesRoutes } from './replies';
import { syncRoutes } from './sync';
import { voiceRoutes } from './voice';
import { imagesRoutes } from './images';
import { sharesRoutes } from './shares';
import { webRoutes } from './web';

export interface AppInput {
  config: Config;
  sql: Sql;
  hooks?: Partial<Hooks>;
  providers?: AppDeps['providers'];
}

export function createApp(input: AppInput) {
  const deps: AppDeps = {
    config: input.config,
    sql: input.sql,
    auth: authPlugin(input),
    hooks: { beforeAccountDelete: async () => {}, ...input.hooks },
    providers: input.providers ?? createProviders(input.config, input.sql),
  };
  return new Elysia()
    .use(errorHandler)
    .use(securityPlugin(input.config.http.publicUrl))
    .use(healthRoutes(input.sql))
    .use(authRoutes(deps))
    .use(modelsRoutes(deps))
    .use(settingsRoutes(deps))
    .use(threadsRoutes(deps))
    .use(repliesRoutes(deps))
    .use(syncRoutes(deps))
    .use(voiceRoutes(deps))
    .use(imagesRoutes(deps))
    .use(sharesRoutes(deps))
    .use(webRoutes(input.config));
}

export type App = ReturnType<typeof createApp>;
