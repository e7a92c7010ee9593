-- An import sent in parts (POST /api/import/uploads, PUT …/parts/:n, POST …/finish): the
-- parts are kept here, cut into chunks of at most 512 KiB, until the import is finished or
-- the upload is abandoned (no part for an hour: deleted by the next upload's start). In the
-- database, not on one instance's disk, so any instance can take any part and the finish.
create table import_uploads (
  id uuid primary key,
  user_id uuid not null references users (id) on delete cascade,
  size bigint not null check (size > 0),
  part_bytes integer not null check (part_bytes > 0),
  name text not null default '',
  -- Set by the one request that finishes it: a second finish is refused.
  finishing boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index import_uploads_user_idx on import_uploads (user_id);
create index import_uploads_updated_idx on import_uploads (updated_at);

create table import_upload_chunks (
  upload_id uuid not null references import_uploads (id) on delete cascade,
  part integer not null,
  n integer not null,
  data bytea not null,
  primary key (upload_id, part, n)
);
-- Kept out of line and uncompressed: the parts live for minutes, and compressing 100 MB
-- on the way in (and inflating it on the way out) would cost more than the disk it saves.
alter table import_upload_chunks alter column data set storage external;
