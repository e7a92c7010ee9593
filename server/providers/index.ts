import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';
import type { Config } from '../config';
import type { Sql } from '../db';
import type { Providers } from './types';

/** Placeholder until the providers issue: no models, every stream fails. */
export function createProviders(config: Config, sql: Sql): Providers {
  void config;
  void sql;
  return {
    async models() {
      return { models: [], defaultModel: null };
    },
    async resolveModel() {
      return null;
    },
    async *stream() {
      yield { type: 'error', message: 'No provider configured' };
    },
  };
}

export function modelsRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'models' });
}
