/**
 * The four roles of the contract. The administration issue owns permissions; this is only
 * the vocabulary, so sign-in (guests, identity providers' default role) can name roles.
 */
import { t } from 'elysia';
import { HttpError } from '../errors';

export const ROLES = ['admin', 'user', 'restricted', 'guest'] as const;
export type Role = (typeof ROLES)[number];
export const Role = t.Union([t.Literal('admin'), t.Literal('user'), t.Literal('restricted'), t.Literal('guest')]);

/** Roles an identity provider may give a new account (never admin by default, never guest). */
export const SIGNUP_ROLES = ['user', 'restricted'] as const;
export type SignupRole = (typeof SIGNUP_ROLES)[number];

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** Until the administration issue's guard lands: admins only, 403 for everyone else, before any work. */
export function assertAdmin(user: { role: string }) {
  if (user.role !== 'admin') throw new HttpError(403, 'forbidden', 'Only an admin can do this');
}

/**
 * What a guest may not do (no sharing, no own keys), until the administration issue's
 * permission document replaces this with the guest role's permissions.
 */
export function assertNotGuest(user: { role: string }, what: string) {
  if (user.role === 'guest') throw new HttpError(403, 'forbidden', `Guests cannot ${what}; create an account first`);
}
