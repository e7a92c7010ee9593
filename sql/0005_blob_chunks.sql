-- Bytes of stored files when BLOB_STORE=postgres (the default with DATABASE_URL):
-- every instance on the database serves every file, with no shared disk and nothing
-- else to run. Content-addressed like the directory store: `blob_objects` marks a
-- blob whose chunks are all written (in the same transaction), `blob_chunks` holds
-- them in order. Which blobs are referenced stays the `blobs`/`files` tables' job.
create table blob_objects (
  sha256 text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint not null check (size >= 0),
  chunks int not null check (chunks >= 0),
  created_at timestamptz not null default now()
);

create table blob_chunks (
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  n int not null check (n >= 0),
  data bytea not null,
  primary key (sha256, n)
);
-- Images and documents arrive compressed already: do not spend CPU compressing them again.
alter table blob_chunks alter column data set storage external;
