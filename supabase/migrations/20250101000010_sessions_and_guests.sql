-- Sessions that last, and guests with a smaller quota (issues 9, 11 and 16).
--
-- 1. public.sessions: a browser keeps an opaque random token in an HttpOnly cookie; this table keeps
--    only its SHA-256 (token_hash), its expiry and revocation, and the user's GoTrue refresh token
--    sealed with a key derived from the token (AES-GCM, done by the app: the table alone opens
--    nothing). Each refresh rotates the refresh token (GoTrue's own rotation) and bumps generation,
--    which the app updates conditionally, so two tabs refreshing at once cannot both win. Only the
--    server (service_role) reads or writes it: row-level security with no policy, and no grant to
--    anon or authenticated, so a user's JWT can neither list sessions nor read a refresh token.
--    The embedded store has the same table (store/sqlite/schema.py, migration 10).
-- 2. Guests (anonymous users, profiles.is_guest) may start fewer runs a day than a free account:
--    daily_run_limit(tier, is_guest), checked against contracts/rules.py by
--    tests/contracts/test_rules_parity.py; reserve_run reads is_guest with the tier and reports
--    'guest' in its refusal so the app can say "sign up".

create table public.sessions (
    id                    uuid primary key default gen_random_uuid(),
    user_id               uuid not null references public.profiles (id) on delete cascade,
    token_hash            text not null unique check (char_length(token_hash) = 64),
    refresh_token_sealed  text,
    generation            integer not null default 0,
    created_at            timestamptz not null default now(),
    expires_at            timestamptz not null,
    last_used_at          timestamptz,
    revoked_at            timestamptz
);
create index sessions_user_idx on public.sessions (user_id) where revoked_at is null;
alter table public.sessions enable row level security;
revoke all on public.sessions from public, anon, authenticated;
grant select, insert, update, delete on public.sessions to service_role;

-- ------------------------------------------------------------------------------- guest quota
create or replace function public.daily_run_limit(p_tier text, p_is_guest boolean) returns integer
language sql immutable as $$
    select case when coalesce(p_is_guest, false) then 3 else public.daily_run_limit(p_tier) end
$$;
grant execute on function public.daily_run_limit(text, boolean) to anon, authenticated, service_role;

-- reserve_run as in 20250101000006, with the guest quota.
create or replace function public.reserve_run(p_user_id uuid, p_model_id uuid, p_model_version_id uuid, p_inputs_json jsonb, p_inputs_hash text,
                                              p_stale_after_s double precision default 3600)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_tier text;
    v_is_guest boolean;
    v_limit integer;
    v_minute_limit integer := public.runs_per_minute_limit();
    v_used integer;
    v_recent integer;
    v_oldest timestamptz;
    v_day_start timestamptz := date_trunc('day', now() at time zone 'utc') at time zone 'utc';
    v_id uuid;
begin
    if p_user_id is null then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    if not exists (
        select 1 from public.model_versions v join public.models m on m.id = v.model_id
        where v.id = p_model_version_id and m.id = p_model_id
          and (m.owner_id = p_user_id or (m.visibility in ('public', 'unlisted') and v.status = 'published'))
    ) then
        raise exception 'AUSTER:not_found:model';
    end if;
    -- the user's profile row is locked, so concurrent reservations of one user queue
    select tier, is_guest into v_tier, v_is_guest from public.profiles where id = p_user_id for update;
    if not found then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    perform public.sweep_stale_runs(p_user_id, p_stale_after_s);
    v_limit := public.daily_run_limit(v_tier, v_is_guest);
    select count(*) into v_used from public.model_runs
        where user_id = p_user_id and not cached and status <> 'error' and created_at >= v_day_start;
    if v_used >= v_limit then
        raise exception 'AUSTER:rate_limit_daily:%:%', v_limit, case when v_is_guest then 'guest' else v_tier end;
    end if;
    select count(*), min(created_at) into v_recent, v_oldest from public.model_runs
        where user_id = p_user_id and model_id = p_model_id and created_at > now() - interval '1 minute';
    if v_recent >= v_minute_limit then
        raise exception 'AUSTER:rate_limit_minute:%:%', v_minute_limit,
            to_char((v_oldest + interval '1 minute') at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS');
    end if;
    insert into public.model_runs (model_id, model_version_id, user_id, inputs_json, inputs_hash, status)
        values (p_model_id, p_model_version_id, p_user_id, coalesce(p_inputs_json, '{}'), p_inputs_hash, 'pending')
        returning id into v_id;
    return v_id;
end $$;
-- create or replace keeps the grants of 20250101000006 (service_role only); restated to be plain.
revoke execute on function public.reserve_run(uuid, uuid, uuid, jsonb, text, double precision) from public, anon, authenticated;
grant execute on function public.reserve_run(uuid, uuid, uuid, jsonb, text, double precision) to service_role;
