-- Signing in the way people already do: OpenID Connect, passkeys, guests, devices.

-- (The four roles of the contract and users.last_seen_at come from 0008_admin.)
-- Accounts made through an identity provider, a passkey or as a guest have no password.
alter table users alter column password_hash drop not null;

-- Sign-in choices an admin makes (one row). NULL allow_guests: follow ALLOW_GUESTS.
create table signin_settings (
  id boolean primary key default true check (id),
  allow_guests boolean,
  updated_at timestamptz not null default now()
);
insert into signin_settings (id) values (true);

-- Identity providers added by an admin (the environment's are not stored).
create table oidc_providers (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  name text not null,
  issuer text not null,
  client_id text not null,
  -- AES-GCM under a key derived from APP_SECRET; never sent back.
  client_secret_enc text,
  enabled boolean not null default true,
  -- create: an unknown person gets an account with default_role; invited: only known emails.
  signup text not null default 'create' check (signup in ('create', 'invited')),
  default_role text not null default 'user' check (default_role in ('user', 'restricted')),
  role_claim text,
  role_map jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Who an identity provider says someone is: (provider, subject) → account.
create table user_identities (
  provider_id text not null,
  subject text not null,
  user_id uuid not null references users (id) on delete cascade,
  email text,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  primary key (provider_id, subject)
);
create index user_identities_user_idx on user_identities (user_id);

-- WebAuthn credentials (discoverable), one row per passkey.
create table passkeys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  credential_id text not null unique,
  public_key bytea not null,
  counter bigint not null default 0,
  transports text[] not null default '{}',
  name text not null default '',
  created_at timestamptz not null default now(),
  last_used_at timestamptz
);
create index passkeys_user_idx on passkeys (user_id);

-- One-time WebAuthn challenges (registration bound to a user; sign-in to nobody yet).
create table webauthn_challenges (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('register', 'login')),
  user_id uuid references users (id) on delete cascade,
  challenge text not null,
  expires_at timestamptz not null
);

-- OpenID Connect sign-ins in progress: looked up by `state`, deleted when used, so a
-- callback can be completed once. The browser that started it holds `state` in a cookie.
create table oidc_logins (
  state text primary key,
  provider_id text not null,
  nonce text not null,
  code_verifier text not null,
  return_to text not null,
  guest_user_id uuid references users (id) on delete cascade,
  expires_at timestamptz not null
);
-- (Password-reset links, emailed or the admin's, are 0008_admin's account_links.)
