/** The admin console's identity providers and guest switch (sign-in settings). */
import { issuerAllowed } from '../config';
import type { Config } from '../config';
import type { Sql } from '../db';
import { badRequest, conflict, forbidden, notFound } from '../errors';
import { guestsAllowed } from './guests';
import { allProviders, redirectUri, sealSecret, type OidcProvider } from './oidc';
import type { AdminOidcProvider, CreateProviderBody, SigninSettings, UpdateProviderBody } from './signin-model';

type Deps = { sql: Sql; config: Config };

function view(config: Config, p: OidcProvider): AdminOidcProvider {
  return {
    id: p.id,
    name: p.name,
    issuer: p.issuer,
    clientId: p.clientId,
    hasSecret: !!p.clientSecret,
    enabled: p.enabled,
    signup: p.signup,
    defaultRole: p.defaultRole,
    roleClaim: p.roleClaim,
    roleMap: Object.fromEntries(Object.entries(p.roleMap).filter(([, r]) => r !== 'guest')) as AdminOidcProvider['roleMap'],
    fromEnv: p.fromEnv,
    redirectUri: redirectUri(config, p.id),
  };
}

export async function settings(deps: Deps): Promise<SigninSettings> {
  return {
    allowGuests: await guestsAllowed(deps),
    providers: (await allProviders(deps)).map((p) => view(deps.config, p)),
  };
}

export async function setAllowGuests({ sql }: Deps, allowGuests: boolean) {
  await sql`update signin_settings set allow_guests = ${allowGuests}, updated_at = now()`;
}

function checkIssuer(issuer: string) {
  if (!issuerAllowed(issuer)) throw badRequest({ issuer: 'must be an https URL (http only on a loopback address)' });
}

export async function createProvider(deps: Deps, body: CreateProviderBody) {
  const { sql, config } = deps;
  checkIssuer(body.issuer);
  if (config.signin.providers.some((p) => p.id === body.id)) throw conflict('This id is taken by a provider from the environment', { id: 'is taken' });
  const rows = await sql`
    insert into oidc_providers (id, name, issuer, client_id, client_secret_enc, enabled, signup, default_role, role_claim, role_map)
    values (${body.id}, ${body.name.trim()}, ${body.issuer}, ${body.clientId},
            ${body.clientSecret ? sealSecret(config, body.clientSecret) : null}, ${body.enabled ?? true},
            ${body.signup ?? 'create'}, ${body.defaultRole ?? 'user'}, ${body.roleClaim ?? null}, ${sql.json(body.roleMap ?? {})})
    on conflict (id) do nothing returning id`;
  if (!rows.length) throw conflict('There is already a provider with this id', { id: 'is taken' });
  return one(deps, body.id);
}

export async function updateProvider(deps: Deps, id: string, body: UpdateProviderBody) {
  const { sql, config } = deps;
  if (config.signin.providers.some((p) => p.id === id)) throw forbidden('This provider is configured by the environment');
  if (body.issuer !== undefined) checkIssuer(body.issuer);
  const secret =
    body.clientSecret === undefined ? sql`client_secret_enc` : body.clientSecret ? sealSecret(config, body.clientSecret) : null;
  const rows = await sql`
    update oidc_providers set
      name = coalesce(${body.name?.trim() ?? null}, name),
      issuer = coalesce(${body.issuer ?? null}, issuer),
      client_id = coalesce(${body.clientId ?? null}, client_id),
      client_secret_enc = ${secret},
      enabled = coalesce(${body.enabled ?? null}, enabled),
      signup = coalesce(${body.signup ?? null}, signup),
      default_role = coalesce(${body.defaultRole ?? null}, default_role),
      role_claim = ${body.roleClaim === undefined ? sql`role_claim` : body.roleClaim},
      role_map = ${body.roleMap === undefined ? sql`role_map` : sql.json(body.roleMap)},
      updated_at = now()
    where id = ${id} returning id`;
  if (!rows.length) throw notFound('Identity provider');
  return one(deps, id);
}

export async function deleteProvider(deps: Deps, id: string) {
  if (deps.config.signin.providers.some((p) => p.id === id)) throw forbidden('This provider is configured by the environment');
  const rows = await deps.sql`delete from oidc_providers where id = ${id} returning id`;
  if (!rows.length) throw notFound('Identity provider');
}

async function one(deps: Deps, id: string) {
  const found = (await allProviders(deps)).find((p) => p.id === id);
  if (!found) throw notFound('Identity provider');
  return view(deps.config, found);
}
