/**
 * Role names for sign-in (identity providers' default role, claim mapping). The roles
 * themselves are the permissions document's (permissions.ts); this only lists them.
 */
import type { Role } from './permissions';

export type { Role } from './permissions';
export const ROLES: readonly Role[] = ['admin', 'user', 'restricted', 'guest'];

/** Roles an identity provider may give a new account (never admin by default, never guest). */
export const SIGNUP_ROLES = ['user', 'restricted'] as const;
export type SignupRole = (typeof SIGNUP_ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
