import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';

/** Placeholder: the shares feature's routes are built in their own issue. */
export function sharesRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'shares' });
}
