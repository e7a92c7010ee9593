-- Connections (model servers an admin adds beside the environment's two providers),
-- MCP servers, and what a reply keeps besides its text: the model's reasoning, the
-- tool calls it made and the sources it cites.

create table connections (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  -- Models are listed as `<slug>:<model>`; `openai` and `mistral` stay the environment's.
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,31}$' and slug not in ('openai', 'mistral')),
  kind text not null check (kind in ('openai', 'mistral')),
  base_url text not null,
  -- AES-256-GCM under a key derived from APP_SECRET; only the last four characters are ever shown.
  key_enc text,
  key_last4 text,
  -- An allow-list of model ids (null: every model the server lists).
  models jsonb,
  purposes jsonb not null default '["chat"]'::jsonb,
  -- The purposes (stt, tts, images, search) for which this one is preferred over the others.
  default_for jsonb not null default '[]'::jsonb,
  -- Per model, what the admin says where the server says nothing: {capabilities?, contextLength?}.
  overrides jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table mcp_servers (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  url text not null,
  -- Header values are secrets (tokens): sealed like keys; their names are shown.
  headers_enc text,
  header_names jsonb not null default '[]'::jsonb,
  enabled boolean not null default true,
  require_approval boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

alter table messages
  add column reasoning text not null default '',
  add column tool_calls jsonb not null default '[]'::jsonb,
  add column sources jsonb not null default '[]'::jsonb;
