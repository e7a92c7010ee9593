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
