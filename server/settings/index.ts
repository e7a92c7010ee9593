import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';

/** Placeholder: the settings feature's routes are built in their own issue. */
export function settingsRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'settings' });
}
