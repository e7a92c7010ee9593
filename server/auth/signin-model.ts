/** Schemas of the sign-in routes: sessions, passkeys, guests, identity providers. */
import { t } from 'elysia';
import { IsoDate } from '../http/model';

export const Session = t.Object({
  id: t.String(),
  current: t.Boolean(),
  /** Read from the user agent, e.g. "Chrome on Android". */
  device: t.String(),
  createdAt: IsoDate,
  lastSeenAt: IsoDate,
}, { title: 'Session' });
export type Session = typeof Session.static;
export const SessionList = t.Object({ sessions: t.Array(Session) });
export type SessionList = typeof SessionList.static;

export const Passkey = t.Object({
  id: t.String(),
  name: t.String(),
  createdAt: IsoDate,
  lastUsedAt: t.Union([IsoDate, t.Null()]),
}, { title: 'Passkey' });
export type Passkey = typeof Passkey.static;
export const PasskeyList = t.Object({ passkeys: t.Array(Passkey) });
export type PasskeyList = typeof PasskeyList.static;
export const PasskeyAnswer = t.Object({ passkey: Passkey });

/** WebAuthn options as @simplewebauthn/browser takes them (PublicKeyCredential*OptionsJSON). */
export const WebAuthnOptions = t.Object({ challenge: t.String() }, { additionalProperties: true, title: 'WebAuthnOptions' });
/** What @simplewebauthn/browser's startRegistration/startAuthentication returned. */
// Every field names its error: without one, Elysia's validation message serialises the value
// it got, and a hostile 100,000-deep array overflows the stack (a 500, found by the fuzz test).
const WebAuthnResponse = t.Object(
  { id: t.String({ maxLength: 1024, error: 'must be the credential id' }) },
  { additionalProperties: true, error: 'must be what the browser answered' },
);
export const PasskeyRegisterBody = t.Object(
  { response: WebAuthnResponse, name: t.Optional(t.String({ maxLength: 60, error: 'must be at most 60 characters' })) },
  { error: 'must be {response, name?}' },
);
export const PasskeyLoginBody = t.Object({ response: WebAuthnResponse }, { error: 'must be {response}' });

export const IdParams = t.Object({ id: t.String({ format: 'uuid', error: 'must be a UUID' }) });
export const ProviderParams = t.Object({ id: t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$', error: 'must be a provider id' }) });
export const StartQuery = t.Object({ returnTo: t.Optional(t.String({ maxLength: 1000, error: 'must be a path' })) });

const RoleName = t.Union([t.Literal('admin'), t.Literal('user'), t.Literal('restricted')]);

/** An identity provider as the admin console shows it; the client secret never comes back. */
export const AdminOidcProvider = t.Object({
  id: t.String(),
  name: t.String(),
  issuer: t.String(),
  clientId: t.String(),
  hasSecret: t.Boolean(),
  enabled: t.Boolean(),
  signup: t.Union([t.Literal('create'), t.Literal('invited')]),
  defaultRole: t.Union([t.Literal('user'), t.Literal('restricted')]),
  roleClaim: t.Union([t.String(), t.Null()]),
  roleMap: t.Record(t.String(), RoleName),
  /** Configured by the environment (OIDC_*, GOOGLE_*): shown here, changed there. */
  fromEnv: t.Boolean(),
  redirectUri: t.String(),
}, { title: 'AdminOidcProvider' });
export type AdminOidcProvider = typeof AdminOidcProvider.static;

export const SigninSettings = t.Object({
  allowGuests: t.Boolean(),
  providers: t.Array(AdminOidcProvider),
});
export type SigninSettings = typeof SigninSettings.static;
export const SigninSettingsBody = t.Object({ allowGuests: t.Boolean({ error: 'must be true or false' }) });

const ProviderFields = {
  name: t.String({ minLength: 1, maxLength: 60, error: 'must be 1 to 60 characters' }),
  issuer: t.String({ minLength: 8, maxLength: 500, error: 'must be the issuer URL' }),
  clientId: t.String({ minLength: 1, maxLength: 500, error: 'must be the client id' }),
  clientSecret: t.Optional(t.Union([t.String({ maxLength: 2000 }), t.Null()], { error: 'must be a string or null' })),
  enabled: t.Optional(t.Boolean({ error: 'must be true or false' })),
  signup: t.Optional(t.Union([t.Literal('create'), t.Literal('invited')], { error: 'must be create or invited' })),
  defaultRole: t.Optional(t.Union([t.Literal('user'), t.Literal('restricted')], { error: 'must be user or restricted' })),
  roleClaim: t.Optional(t.Union([t.String({ minLength: 1, maxLength: 100 }), t.Null()], { error: 'must be a claim name or null' })),
  roleMap: t.Optional(t.Record(t.String({ maxLength: 200 }), RoleName, { error: 'must map claim values to admin, user or restricted' })),
};
export const CreateProviderBody = t.Object({
  id: t.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$', error: 'lower-case letters, digits and dashes' }),
  ...ProviderFields,
});
export type CreateProviderBody = typeof CreateProviderBody.static;
export const UpdateProviderBody = t.Partial(t.Object(ProviderFields), { error: 'must be an object of provider fields' });
export type UpdateProviderBody = typeof UpdateProviderBody.static;
export const ProviderAnswer = t.Object({ provider: AdminOidcProvider });

export const ForgotBody = t.Object({ email: t.String({ maxLength: 254, error: 'must be a string' }) });
export const ResetBody = t.Object({
  token: t.String({ minLength: 1, maxLength: 200, error: 'must be the token from the link' }),
  password: t.String({ minLength: 1, maxLength: 1024, error: 'must be a string' }),
});
export const Accepted = t.Object({ ok: t.Literal(true) });
