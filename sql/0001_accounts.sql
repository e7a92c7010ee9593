-- Accounts, login sessions (refresh-token families) and shared rate-limit state.

create table users (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  name text not null default '',
  password_hash text not null,
  role text not null default 'user' check (role in ('user', 'admin')),
  disabled boolean not null default false,
  -- Access tokens issued before this instant are refused (password change, disable).
  tokens_valid_after timestamptz not null default date_trunc('second', now()),
  -- Per-user change counter behind /api/sync: bumped under this row's lock, so a
  -- user's changes commit in cursor order.
  sync_seq bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

-- One row per login: the refresh-token family.
create table sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  user_agent text
);
create index sessions_user_idx on sessions (user_id);

-- Refresh tokens are stored only as SHA-256 hashes; a used one stays as evidence of reuse.
create table refresh_tokens (
  token_hash text primary key,
  session_id uuid not null references sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index refresh_tokens_session_idx on refresh_tokens (session_id);

-- Fixed-window counters shared by every instance (login/registration throttling, voice quotas).
create table rate_limits (
  key text primary key,
  window_start timestamptz not null,
  hits integer not null
);
