-- Folders, archive, full-text search and import bookkeeping (issue 15).

-- A folder groups threads; its model and system prompt apply to threads started in it.
-- `seq` takes values from users.sync_seq like threads' (offline mirrors sync folders too).
create table folders (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  model text,
  system_prompt text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  seq bigint not null default 0
);
create index folders_user_idx on folders (user_id, name);
create index folders_user_seq_idx on folders (user_id, seq);

create table deleted_folders (
  folder_id uuid primary key,
  user_id uuid not null references users (id) on delete cascade,
  seq bigint not null
);
create index deleted_folders_user_seq_idx on deleted_folders (user_id, seq);

-- Deleting a folder unfiles its threads: conversations/writes.ts does it first, with a
-- new seq for each (so offline copies learn), and the `set null` is only the backstop.
alter table threads add column folder_id uuid references folders (id) on delete set null;
alter table threads add column archived boolean not null default false;
-- Where an imported thread came from ("chatgpt:<conversation id>", "claude:<uuid>",
-- "parley:<thread id>"): importing the same file again skips it.
alter table threads add column import_key text;
create unique index threads_user_import_key on threads (user_id, import_key) where import_key is not null;
create index threads_folder_idx on threads (folder_id) where folder_id is not null;

-- Full-text search. The vectors are generated columns, so they are kept with the row
-- by PostgreSQL itself, whoever writes it. 'simple' (no stemming, no stop words): the
-- words people type, in any language. Messages are capped at 200,000 characters for
-- the vector (a tsvector has a 1 MB limit).
alter table threads add column search tsvector
  generated always as (to_tsvector('simple', title)) stored;
alter table messages add column search tsvector
  generated always as (to_tsvector('simple', left(content, 200000))) stored;
-- GIN over (owner, vector) (btree_gin lets a GIN index hold the uuid): a search reads only
-- the searcher's rows, however many other accounts share a word. btree_gin is a trusted
-- contrib extension (PostgreSQL 13+), bundled with PGlite (loaded in server/db.ts).
create extension if not exists btree_gin;
create index threads_search_idx on threads using gin (user_id, search);
create index messages_search_idx on messages using gin (user_id, search);
