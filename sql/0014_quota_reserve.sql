-- A reply's quota hold in one round trip (server/quota/service.ts `reserve`), with the same
-- guarantee as the transaction it stands for: the account's quota row is locked first, and
-- the holds in flight are summed by a later statement, which (READ COMMITTED, a volatile
-- function) sees every hold committed by whoever held the lock before. Only the common case
-- is handled here; an account with no quota row yet, or whose period grant is due, answers
-- 'slow' and the caller takes the full path (row creation, refill, ledger).
create function parley_quota_reserve(p_user uuid, p_tokens bigint, p_ttl interval)
returns table (outcome text, hold_id uuid, balance bigint, grant_tokens bigint, period text, next_grant_at timestamptz)
language plpgsql as $$
declare
  q quotas%rowtype;
  held bigint;
  id uuid;
begin
  select * into q from quotas where quotas.user_id = p_user for update;
  if not found
     or (q.period is not null and q.grant_tokens is not null and q.next_grant_at is not null and q.next_grant_at <= now()) then
    return query select 'slow'::text, null::uuid, null::bigint, null::bigint, null::text, null::timestamptz;
    return;
  end if;
  if q.balance is null then
    return query select 'unlimited'::text, null::uuid, null::bigint, q.grant_tokens, q.period, q.next_grant_at;
    return;
  end if;
  select coalesce(sum(h.tokens), 0) into held from quota_holds h
    where h.user_id = p_user and h.created_at > now() - p_ttl;
  if q.balance - held <= 0 then
    return query select 'exceeded'::text, null::uuid, q.balance, q.grant_tokens, q.period, q.next_grant_at;
    return;
  end if;
  insert into quota_holds (user_id, tokens) values (p_user, p_tokens) returning quota_holds.id into id;
  return query select 'held'::text, id, q.balance, q.grant_tokens, q.period, q.next_grant_at;
end;
$$;

-- Settling a request (server/quota/service.ts `settle`) in one round trip, under the same row
-- lock as the transaction it stands for: the hold released, the balance debited, one ledger row
-- and the day's usage. 'slow' (no quota row, or a period grant due) changes nothing; the caller
-- then takes the full path.
create function parley_quota_settle(
  p_user uuid, p_hold uuid, p_in bigint, p_out bigint, p_source text, p_message uuid, p_model text
) returns text
language plpgsql as $$
declare
  q quotas%rowtype;
  after bigint;
begin
  select * into q from quotas where quotas.user_id = p_user for update;
  if not found
     or (q.period is not null and q.grant_tokens is not null and q.next_grant_at is not null and q.next_grant_at <= now()) then
    return 'slow';
  end if;
  if p_hold is not null then
    delete from quota_holds where id = p_hold;
  end if;
  update quotas set balance = balance - (p_in + p_out), updated_at = now()
    where quotas.user_id = p_user returning balance into after;
  insert into quota_transactions (user_id, kind, tokens, balance_after, tokens_in, tokens_out, source, message_id, model)
    values (p_user, 'debit', -(p_in + p_out), after, p_in, p_out, p_source, p_message, p_model);
  insert into usage_daily (day, user_id, model, tokens_in, tokens_out, replies)
    values ((now() at time zone 'UTC')::date, p_user, coalesce(p_model, ''), p_in, p_out, case when p_source = 'reply' then 1 else 0 end)
    on conflict (day, user_id, model) do update set
      tokens_in = usage_daily.tokens_in + excluded.tokens_in,
      tokens_out = usage_daily.tokens_out + excluded.tokens_out,
      replies = usage_daily.replies + excluded.replies;
  return 'settled';
end;
$$;
