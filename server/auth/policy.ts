/**
 * Permission checks that depend on the request's content (a model named in a body, a
 * system prompt, provider keys), for routes whose guard cannot decide from the route
 * alone. Route-level checks use the `requireRole` / `requirePermission` macros (plugin.ts).
 * Every check here runs before the route does any work.
 */
import type { Sql } from '../db';
import { forbidden } from '../errors';
import { modelAllowed, permissionsForUser, type Permission, type Permissions } from './permissions';

export const notAllowed = (what: string) => forbidden(`Your account may not ${what}`);

/** 403 unless the account's role has `permission`; returns the permissions for further checks. */
export async function assertPermission(sql: Sql, userId: string, permission: Permission, what: string) {
  const permissions = await permissionsForUser(sql, userId);
  if (!permissions[permission]) throw notAllowed(what);
  return permissions;
}

/**
 * A model the account asked for by name: 403 when it may not choose models at all (a
 * different model than the one it would get anyway) or the model is not on its allow-list.
 */
export function assertModelChoice(permissions: Permissions, requested: string | null | undefined, current: string | null) {
  if (requested == null || requested === current) return;
  if (!permissions.chooseModel) throw notAllowed('choose the model');
  if (!modelAllowed(permissions, requested)) throw forbidden('This model is not available to your account');
}

/**
 * The model a reply will use, kept within the allow-list: a resolved model that is not
 * allowed falls back to the first allowed one the server offers (null: none).
 */
export function allowedModel(permissions: Permissions, resolved: string | null, offered: { id: string }[]) {
  if (modelAllowed(permissions, resolved)) return resolved;
  return offered.find((m) => modelAllowed(permissions, m.id))?.id ?? null;
}
