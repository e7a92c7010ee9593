-- Web Push "watched": a session whose windows all reported themselves hidden (POST
-- /api/push/visibility), with when. Kept in the database, not in one instance's memory, so a
-- report that reached any instance counts on the one running the reply. A row is removed
-- when the windows show again, and with the session.
create table push_visibility (
  session_id uuid primary key references sessions (id) on delete cascade,
  hidden_at timestamptz not null default now()
);
