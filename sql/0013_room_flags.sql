-- Flags on room messages too (the administration issue's flags, once rooms exist): a flag
-- names a thread message or a room message, so message_id no longer references `messages`
-- alone; each kind goes with its thread or room.
alter table flags drop constraint flags_message_id_fkey;
alter table flags add constraint flags_room_fkey foreign key (room_id) references rooms (id) on delete cascade;
alter table flags add constraint flags_of_something check (thread_id is not null or room_id is not null);
