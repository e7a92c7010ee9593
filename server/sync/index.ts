import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';

/** Placeholder: the sync feature's routes are built in their own issue. */
export function syncRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'sync' });
}
