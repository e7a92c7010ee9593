-- Rooms: several people and the assistant in one live conversation.
-- Every change to a room's messages takes the room's next `seq` (under the room
-- row's lock), so `GET /api/rooms/:id/events?since=N` replays exactly what changed
-- after N: no gap, no duplicate, whichever instance wrote it.
create table rooms (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 80),
  description text not null default '' check (char_length(description) <= 500),
  visibility text not null check (visibility in ('public', 'private')),
  model text check (model is null or char_length(model) <= 200),
  system_prompt text check (system_prompt is null or char_length(system_prompt) <= 8000),
  voice text check (voice is null or char_length(voice) <= 100),
  owner_id uuid not null references users (id) on delete cascade,
  seq bigint not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index rooms_public on rooms (created_at desc) where visibility = 'public';

create table room_members (
  room_id uuid not null references rooms (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'member')),
  -- Refreshed by open event streams: "online" is a recent enough value, on any instance.
  online_until timestamptz,
  joined_at timestamptz not null default now(),
  primary key (room_id, user_id)
);
create index room_members_user on room_members (user_id);

create table room_messages (
  id uuid primary key,
  room_id uuid not null references rooms (id) on delete cascade,
  author_id uuid references users (id) on delete set null,
  author_name text not null default '',
  role text not null check (role in ('user', 'assistant')),
  content text not null default '',
  -- queued: an assistant reply waiting for the one before it; removed: taken down by a moderator.
  status text not null default 'complete' check (status in ('queued', 'streaming', 'complete', 'error', 'removed')),
  error text,
  reply_to uuid references room_messages (id) on delete set null,
  -- Who called the assistant (their allowance pays for the reply).
  requested_by uuid references users (id) on delete set null,
  model text,
  seq bigint not null,
  -- clock_timestamp(): a question and the reply queued in its transaction keep their order.
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default now()
);
create index room_messages_page on room_messages (room_id, created_at desc, id desc);
create index room_messages_seq on room_messages (room_id, seq);
create index room_messages_pending on room_messages (room_id, seq) where status in ('queued', 'streaming');
