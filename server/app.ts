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
import { webRoutes } from './web';

export function createApp(input: { config: Config; sql: Sql; hooks?: Partial<Hooks> }) {
  const deps: AppDeps = {
    config: input.config,
    sql: input.sql,
    auth: authPlugin(input),
    hooks: { beforeAccountDelete: async () => {}, ...input.hooks },
  };
  return new Elysia()
    .use(errorHandler)
    .use(securityPlugin(input.config.http.publicUrl))
    .use(healthRoutes(input.sql))
    .use(authRoutes(deps))
    .use(webRoutes(input.config));
}

export type App = ReturnType<typeof createApp>;
