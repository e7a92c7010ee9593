-- A message's search vector is made when its text is final, not on every write while a reply
-- streams.
--
-- A streaming reply's text is appended to its row every 250 ms (server/replies/runner.ts, one
-- statement for every reply in flight). With the vector generated from the whole content, each
-- append tokenized the whole reply again and wrote its entries into the GIN index
-- (messages_search_keys_idx): at 200 replies in flight, 800 GIN insertions a second, and now and
-- then the GIN pending list's cleanup inside that statement, which held the replies' rows for
-- 20-70 ms while their ends (finishReply) and the same users' new messages (insertExchange)
-- queued behind it (bench:replies with log_min_duration_statement showed the chains).
--
-- Now a streaming message has no vector; it gets one when it ends (complete, cancelled or
-- error), in the same statement that ends it. A reply is found by search once it has ended.
-- The column is made again (PostgreSQL 15 cannot change a generated column's expression):
-- the table is rewritten once and every finished message's vector recomputed.
--
-- While it streams, a reply's appends now change no indexed value, so PostgreSQL can write each
-- new version in the same page without touching the indexes (a HOT update) when the page has
-- room: pages are filled to 85% (the rewrite below applies it), leaving that room.
alter table messages set (fillfactor = 85);
drop index messages_search_keys_idx;
alter table messages drop column search;
alter table messages add column search tsvector
  generated always as (case when status = 'streaming' then null else to_tsvector('simple', left(content, 200000)) end) stored;
create index messages_search_keys_idx on messages using gin (parley_search_keys(user_id, search));
analyze messages;
