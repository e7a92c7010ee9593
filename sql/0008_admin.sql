-- Roles and permissions, quotas with an append-only ledger, usage rollups, prices,
-- one-time account links (invites, password resets), flags, and the integration API's
-- external ids and spent token ids.

alter table users drop constraint if exists users_role_check;
alter table users add constraint users_role_check check (role in ('admin', 'user', 'restricted', 'guest'));
alter table users add column external_id text;
alter table users add column last_seen_at timestamptz;
create unique index users_external_id_key on users (external_id) where external_id is not null;
create index users_created_idx on users (created_at desc, id desc);

-- What each non-admin role may do (admins may do everything), with its default quota.
create table role_permissions (
  role text primary key check (role in ('user', 'restricted', 'guest')),
  permissions jsonb not null,
  updated_at timestamptz not null default now()
);
insert into role_permissions (role, permissions) values
  ('user', '{"voice": true, "images": true, "share": true, "ownKeys": true, "chooseModel": true, "systemPrompt": true, "rooms": true, "models": null, "defaultQuota": {"balance": null, "grant": null, "period": null}}'),
  ('restricted', '{"voice": true, "images": false, "share": false, "ownKeys": false, "chooseModel": true, "systemPrompt": false, "rooms": true, "models": null, "defaultQuota": {"balance": 100000, "grant": 100000, "period": "month"}}'),
  ('guest', '{"voice": false, "images": false, "share": false, "ownKeys": false, "chooseModel": false, "systemPrompt": false, "rooms": false, "models": null, "defaultQuota": {"balance": 20000, "grant": null, "period": null}}');

-- One row per account once it has used or been given a quota; absent = its role's default.
-- balance null = unlimited. The row is locked (for update) by every debit and hold.
create table quotas (
  user_id uuid primary key references users (id) on delete cascade,
  balance bigint,
  grant_tokens bigint,
  period text check (period in ('day', 'week', 'month')),
  next_grant_at timestamptz,
  updated_at timestamptz not null default now()
);

-- Tokens set aside by requests in flight, so concurrent requests cannot all spend the
-- same balance. Released when the request settles; stale ones (a crashed process) expire.
create table quota_holds (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  tokens bigint not null,
  created_at timestamptz not null default now()
);
create index quota_holds_user_idx on quota_holds (user_id, created_at);

-- The append-only ledger: every grant, debit and adjustment, with who and why.
create table quota_transactions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  kind text not null check (kind in ('grant', 'debit', 'adjust')),
  tokens bigint not null,
  balance_after bigint,
  tokens_in bigint not null default 0,
  tokens_out bigint not null default 0,
  source text check (source in ('reply', 'image', 'speech', 'transcription')),
  message_id uuid,
  model text,
  note text not null default '',
  actor_id uuid,
  created_at timestamptz not null default now()
);
create index quota_transactions_time_idx on quota_transactions (created_at desc, id desc);
create index quota_transactions_user_time_idx on quota_transactions (user_id, created_at desc, id desc);

-- Usage per day, account and model, kept in the same transaction as each debit, so the
-- usage screen reads a few rows per day instead of the whole ledger.
create table usage_daily (
  day date not null,
  user_id uuid not null references users (id) on delete cascade,
  model text not null default '',
  tokens_in bigint not null default 0,
  tokens_out bigint not null default 0,
  replies bigint not null default 0,
  primary key (day, user_id, model)
);

-- Prices per million tokens, set by an admin.
create table model_prices (
  model text primary key,
  input numeric not null default 0,
  output numeric not null default 0
);

-- One-time links: invites (set a first password) and password resets. Only hashes stored.
create table account_links (
  token_hash text primary key,
  user_id uuid not null references users (id) on delete cascade,
  kind text not null check (kind in ('invite', 'reset')),
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null default now()
);
create index account_links_user_idx on account_links (user_id);

-- Flags: a user's report on an assistant reply, reviewed by admins.
create table flags (
  id uuid primary key default gen_random_uuid(),
  message_id uuid not null references messages (id) on delete cascade,
  thread_id uuid references threads (id) on delete cascade,
  room_id uuid,
  user_id uuid not null references users (id) on delete cascade,
  reason text not null,
  status text not null default 'open' check (status in ('open', 'resolved', 'dismissed')),
  reviewed_by uuid references users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index flags_status_idx on flags (status, created_at desc, id desc);
create unique index flags_once_idx on flags (message_id, user_id);

-- Integration tokens' ids, each accepted once (kept until well past their expiry).
create table integration_jtis (
  jti text primary key,
  expires_at timestamptz not null
);
