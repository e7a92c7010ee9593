-- Stored files (uploads for vision, generated images) and public share links.
--
-- Bytes live in a BlobStore (DATA_DIR/blobs by default), addressed by SHA-256, so
-- identical bytes are stored once however many users upload them. `blobs` is the
-- index of what the store holds; a blob is deleted (row and bytes) once no `files`
-- row refers to it any more: see server/files/service.ts deleteOrphanBlobs().

create table blobs (
  sha256 text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint not null check (size >= 0),
  created_at timestamptz not null default now()
);

create table files (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  -- Set once the file belongs to a thread (attached to a message, generated into it,
  -- copied by a fork): deleting the thread deletes the file.
  thread_id uuid references threads (id) on delete cascade,
  -- No cascade: a blob outlives a file only until the orphan sweep.
  sha256 text not null references blobs (sha256),
  -- The allow-list, again here: nothing else (SVG, HTML) can ever be stored and served.
  mime text not null check (mime in ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
  size bigint not null check (size >= 0),
  name text not null default '' check (length(name) <= 255),
  source text not null default 'upload' check (source in ('upload', 'generated', 'fork')),
  created_at timestamptz not null default now()
);
create index files_user_idx on files (user_id, created_at desc);
create index files_thread_idx on files (thread_id);
create index files_sha256_idx on files (sha256);

-- One share per thread: sharing again refreshes the snapshot and keeps the code.
create table shares (
  thread_id uuid primary key references threads (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  -- base64url of 16 random bytes (128 bits).
  code text not null,
  -- {thread: {title, model, createdAt}, messages: [...]}: a copy, so later messages are not shared.
  snapshot jsonb not null,
  -- The owner's files the snapshot shows: readable through the share, nothing else.
  file_ids uuid[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index shares_code_key on shares (code);
create index shares_user_idx on shares (user_id, created_at desc, thread_id desc);
