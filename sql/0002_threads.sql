-- Threads, messages (a tree: edits and regenerations are siblings under one parent),
-- per-user settings, and tombstones for offline sync.
-- `seq` columns take values from users.sync_seq (see 0001): /api/sync reads by them.

create table threads (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  title text not null default '',
  model text,
  system_prompt text not null default '',
  pinned boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  seq bigint not null default 0
);
create index threads_user_activity_idx on threads (user_id, updated_at desc, id desc);
create index threads_user_seq_idx on threads (user_id, seq);

create table messages (
  id uuid primary key,
  thread_id uuid not null references threads (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  parent_id uuid references messages (id) on delete cascade,
  role text not null check (role in ('user', 'assistant', 'system')),
  content text not null default '',
  status text not null default 'complete' check (status in ('complete', 'streaming', 'cancelled', 'error')),
  model text,
  error text,
  attachments jsonb not null default '[]'::jsonb,
  tokens_in integer,
  tokens_out integer,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp(),
  seq bigint not null default 0
);
create index messages_thread_idx on messages (thread_id, created_at, id);
create index messages_user_seq_idx on messages (user_id, seq);
create index messages_parent_idx on messages (parent_id);

-- Deleted threads, so offline clients can drop their copies.
create table deleted_threads (
  thread_id uuid primary key,
  user_id uuid not null references users (id) on delete cascade,
  seq bigint not null
);
create index deleted_threads_user_seq_idx on deleted_threads (user_id, seq);

-- Preferences (jsonb) and the user's own provider keys, encrypted with a key derived from APP_SECRET.
create table user_settings (
  user_id uuid primary key references users (id) on delete cascade,
  prefs jsonb not null default '{}'::jsonb,
  mistral_key_enc text,
  mistral_key_last4 text,
  openai_key_enc text,
  openai_key_last4 text,
  updated_at timestamptz not null default now()
);
