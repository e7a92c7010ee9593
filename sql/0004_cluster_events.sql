-- Several instances on one PostgreSQL: a sign-out, a revoked session or a disabled or
-- deleted account must end that session's or account's open reply streams on EVERY
-- instance at once, whichever code path wrote the change. These triggers tell all of
-- them over NOTIFY on the 'parley_events' channel (server/infra/notify.ts), sent when the
-- transaction commits. The payloads are small JSON objects {kind, ...}.

create function parley_session_ended() returns trigger language plpgsql as $$
begin
  perform pg_notify('parley_events', json_build_object('kind', 'session_ended', 'sessionId', new.id)::text);
  return null;
end $$;

create trigger sessions_ended_notify after update of revoked_at on sessions
  for each row when (old.revoked_at is null and new.revoked_at is not null)
  execute function parley_session_ended();

create function parley_user_disabled() returns trigger language plpgsql as $$
declare
  target uuid := case when tg_op = 'DELETE' then old.id else new.id end;
begin
  perform pg_notify('parley_events', json_build_object('kind', 'user_disabled', 'userId', target)::text);
  return null;
end $$;

create trigger users_disabled_notify after update of disabled on users
  for each row when (not old.disabled and new.disabled)
  execute function parley_user_disabled();

create trigger users_deleted_notify after delete on users
  for each row execute function parley_user_disabled();
