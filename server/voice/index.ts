import { Elysia } from 'elysia';
import type { AppDeps } from '../deps';

/** Placeholder: the voice feature's routes are built in their own issue. */
export function voiceRoutes(deps: AppDeps) {
  void deps;
  return new Elysia({ name: 'voice' });
}
