/**
 * Roles and what each may do. Admins may do everything; the other roles' permissions are
 * a document an admin edits (GET/PUT /api/admin/permissions), stored per role with the
 * role's default quota. Guards (requireRole / requirePermission in plugin.ts) read it here.
 */
import { t } from 'elysia';
import type { Sql, Tx } from '../db';

type Db = Sql | Tx;

export const Role = t.Union([t.Literal('admin'), t.Literal('user'), t.Literal('restricted'), t.Literal('guest')]);
export type Role = typeof Role.static;

export const Period = t.Union([t.Literal('day'), t.Literal('week'), t.Literal('month'), t.Null()]);
export type Period = typeof Period.static;

export const DefaultQuota = t.Object({
  /** Tokens a new account of this role starts with; null = unlimited. */
  balance: t.Union([t.Integer({ minimum: 0, maximum: 1e12 }), t.Null()]),
  /** Refilled to this every period; null = no refill. */
  grant: t.Union([t.Integer({ minimum: 0, maximum: 1e12 }), t.Null()]),
  period: Period,
});
export type DefaultQuota = typeof DefaultQuota.static;

const permissionFields = {
  voice: t.Boolean(),
  images: t.Boolean(),
  share: t.Boolean(),
  ownKeys: t.Boolean(),
  chooseModel: t.Boolean(),
  systemPrompt: t.Boolean(),
  rooms: t.Boolean(),
  /** Allowed model ids, or null for all. */
  models: t.Union([t.Array(t.String({ maxLength: 200 }), { maxItems: 500 }), t.Null()]),
};

/** What the caller may do (GET /api/auth/me). */
export const Permissions = t.Object(permissionFields, { title: 'Permissions' });
export type Permissions = typeof Permissions.static;
export type Permission = Exclude<keyof Permissions, 'models'>;

/** One role's document: its permissions and its default quota. */
export const RolePermissions = t.Object({ ...permissionFields, defaultQuota: DefaultQuota }, { title: 'RolePermissions' });
export type RolePermissions = typeof RolePermissions.static;

export const PermissionsDocument = t.Object({ user: RolePermissions, restricted: RolePermissions, guest: RolePermissions });
export type PermissionsDocument = typeof PermissionsDocument.static;

export const ADMIN_PERMISSIONS: RolePermissions = {
  voice: true,
  images: true,
  share: true,
  ownKeys: true,
  chooseModel: true,
  systemPrompt: true,
  rooms: true,
  models: null,
  defaultQuota: { balance: null, grant: null, period: null },
};

/** Everything off: what a role whose row is missing gets (never more than intended). */
const NOTHING: RolePermissions = {
  voice: false,
  images: false,
  share: false,
  ownKeys: false,
  chooseModel: false,
  systemPrompt: false,
  rooms: false,
  models: [],
  defaultQuota: { balance: 0, grant: null, period: null },
};

/** A role's permissions from its `role_permissions` row (absent: nothing). */
const fromRow = (role: Role, stored: RolePermissions | null | undefined): RolePermissions =>
  role === 'admin' ? ADMIN_PERMISSIONS : stored ? { ...NOTHING, ...stored } : NOTHING;

/** Permissions as the API gives them: without the role's quota default. */
const withoutQuota = ({ defaultQuota: _, ...permissions }: RolePermissions): Permissions => permissions;

export async function rolePermissions(sql: Db, role: Role): Promise<RolePermissions> {
  if (role === 'admin') return ADMIN_PERMISSIONS;
  const [row] = await sql<{ permissions: RolePermissions }[]>`select permissions from role_permissions where role = ${role}`;
  return fromRow(role, row?.permissions);
}

/** The caller's permissions without the quota default (the shape of /api/auth/me). */
export async function permissionsOf(sql: Db, role: Role): Promise<Permissions> {
  return withoutQuota(await rolePermissions(sql, role));
}

export async function permissionsDocument(sql: Db): Promise<PermissionsDocument> {
  return {
    user: await rolePermissions(sql, 'user'),
    restricted: await rolePermissions(sql, 'restricted'),
    guest: await rolePermissions(sql, 'guest'),
  };
}

export async function savePermissionsDocument(sql: Sql, doc: PermissionsDocument) {
  await sql.begin(async (tx) => {
    for (const role of ['user', 'restricted', 'guest'] as const) {
      await tx`
        insert into role_permissions (role, permissions) values (${role}, ${tx.json(doc[role] as never)})
        on conflict (role) do update set permissions = excluded.permissions, updated_at = now()`;
    }
  });
  return permissionsDocument(sql);
}

/** Whether a model id is allowed by an allow-list (null = all). */
export const modelAllowed = (permissions: Pick<Permissions, 'models'>, model: string | null | undefined) =>
  permissions.models === null || (model != null && permissions.models.includes(model));

/** The permissions of an account by id (services that receive only the user's id). */
export async function permissionsForUser(sql: Db, userId: string): Promise<Permissions> {
  // The role and its row in one round trip.
  const [row] = await sql<RolePermissionsRow[]>`
    select u.role, rp.permissions from users u left join role_permissions rp on rp.role = u.role where u.id = ${userId}`;
  if (!row) return permissionsOf(sql, 'guest');
  return permissionsOfRow(row);
}

/** An account's role and its role's row (`users u left join role_permissions rp on rp.role = u.role`). */
export type RolePermissionsRow = { role: Role; permissions: RolePermissions | null };
/** What that row means: permissionsForUser's answer (a reply's look-up reads the row with the thread). */
export const permissionsOfRow = (row: RolePermissionsRow): Permissions => withoutQuota(fromRow(row.role, row.permissions));
