import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';

/** Placeholder: the threads feature's routes are built in their own issue. */
export function threadsRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'threads' });
}
