import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';

/** Placeholder: the replies feature's routes are built in their own issue. */
export function repliesRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'replies' });
}
