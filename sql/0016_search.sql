-- Search that costs what the searcher's own messages cost, not what every account's do.
--
-- The GIN index over (user_id, search) of 0011 finds "this user's rows with this word" by
-- intersecting two posting lists, but the word's list holds every account's rows: a common
-- word, or a short prefix (which unions the lists of every lexeme it starts), read millions
-- of entries to keep a few thousand. Here each lexeme is keyed by its owner instead: the
-- first 8 hex digits of user_id are put in front of every lexeme, so the index's entries
-- for 'ab12cd34the' hold only that account's rows and a prefix 'ab12cd34non':* walks only
-- that account's words. Two accounts sharing 8 hex digits only share entries: the query
-- still says user_id = $1 and search @@ the real tsquery, so the rows are always exact.
create function parley_search_keys(owner uuid, doc tsvector) returns tsvector
  language sql immutable strict parallel safe
  as $$ select array_to_tsvector(array(select left(owner::text, 8) || w from unnest(tsvector_to_array(doc)) as w)) $$;

create index messages_search_keys_idx on messages using gin (parley_search_keys(user_id, search));
drop index messages_search_idx;
-- The index's expression gets statistics of its own (how common each owner's words are).
analyze messages;

-- An import under way, for its progress bar: one row per user while the import runs (any
-- instance answers GET /api/import/progress, whichever one is doing the work).
create table import_progress (
  user_id uuid primary key references users (id) on delete cascade,
  phase text not null check (phase in ('checking', 'importing')),
  done integer not null default 0,
  total integer not null default 0,
  updated_at timestamptz not null default now()
);
