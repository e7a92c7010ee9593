import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';

/** Placeholder: the images feature's routes are built in their own issue. */
export function imagesRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'images' });
}
