import { t } from 'elysia';
import { Permissions, Role } from './permissions';

export const Email = t.String({
  format: 'email',
  maxLength: 254,
  error: 'must be a valid email address',
});
// Length is checked again in code-points by the password rules; this bound keeps
// a hostile body from reaching Argon2 at all.
export const Password = t.String({ minLength: 1, maxLength: 1024, error: 'must be a string' });

export const RegisterBody = t.Object({
  email: Email,
  password: Password,
  name: t.Optional(t.String({ maxLength: 100, error: 'must be at most 100 characters' })),
});
export const LoginBody = t.Object({ email: t.String({ maxLength: 254, error: 'must be a string' }), password: Password });

export const User = t.Object({
  id: t.String(),
  email: t.String(),
  name: t.String(),
  role: Role,
}, { title: 'User' });
export type User = typeof User.static;
export type RegisterBody = typeof RegisterBody.static;
export type LoginBody = typeof LoginBody.static;

export const ChangePasswordBody = t.Object({
  currentPassword: t.String({ maxLength: 1024 }),
  newPassword: t.String({ maxLength: 1024 }),
});
export type ChangePasswordBody = typeof ChangePasswordBody.static;

/** DELETE /api/auth/me: the password, unless the session signed in within the last few minutes. */
export const DeleteAccountBody = t.Optional(t.Object({ password: t.Optional(t.String({ maxLength: 1024 })) }));
export type DeleteAccountBody = typeof DeleteAccountBody.static;

/** Register, login, refresh and GET /me answer the signed-in user. */
export const UserAnswer = t.Object({ user: User });
export type UserAnswer = typeof UserAnswer.static;

/** GET /api/auth/me: the user and what their role may do. */
export const MeAnswer = t.Object({ user: User, permissions: Permissions });
export type MeAnswer = typeof MeAnswer.static;

/** POST /api/auth/reset: a one-time invite or reset token and the new password. */
export const ResetBody = t.Object({ token: t.String({ minLength: 1, maxLength: 200 }), password: Password });
export type ResetBody = typeof ResetBody.static;

export const Ok = t.Object({ ok: t.Literal(true) });
export type Ok = typeof Ok.static;

/** GET /api/auth/providers: the ways to sign in here, and whether this is a fresh install. */
export const AuthProviders = t.Object({
  password: t.Literal(true),
  /** Passkeys and guests arrive with the sign-in issue; false until then. */
  passkeys: t.Boolean(),
  guests: t.Boolean(),
  oidc: t.Array(t.Object({ id: t.String(), name: t.String() })),
  /** Whether a new account can be created by signing up (always on a fresh install). */
  registration: t.Boolean(),
  /** No account exists yet: the first one created becomes the admin. */
  firstRun: t.Boolean(),
  /** "Forgot password" emails are set up (SMTP_URL). */
  passwordReset: t.Boolean(),
});
export type AuthProviders = typeof AuthProviders.static;
