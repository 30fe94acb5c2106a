-- Issue 13, the admin page's health: errors by operation and the data providers' health. The embedded store's
-- migration 46 does the same.
--
-- A failed run keeps its error's code and the operation of the step that failed (null when no step did: invalid
-- inputs, an invalid document, a refusal); finish_run takes both. The data providers' cache events (hits, misses,
-- stale copies served, errors and rate limits with their error code) are counted in the app's memory and added
-- here in batches by the server (record_provider_events, the service role's alone); admins read them, nobody else
-- does (RLS), and admin_health() gives an admin both over N days.

alter table public.model_runs add column if not exists error_code text check (error_code is null or length(error_code) between 1 and 64);
alter table public.model_runs add column if not exists error_operation text
    check (error_operation is null or length(error_operation) between 1 and 100);
create index if not exists model_runs_errors_idx on public.model_runs (finished_at) where status = 'error';

create table if not exists public.provider_health_daily (
    provider  text not null check (length(provider) between 1 and 64),
    kind      text not null check (length(kind) between 1 and 64),
    date      date not null,
    event     text not null check (event in ('hit', 'miss', 'stale', 'error', 'rate_limited')),
    code      text not null default '' check (length(code) <= 64),
    count     bigint not null default 0 check (count >= 0),
    primary key (provider, kind, date, event, code)
);
create index if not exists provider_health_daily_date_idx on public.provider_health_daily (date);
alter table public.provider_health_daily enable row level security;
drop policy if exists provider_health_admins on public.provider_health_daily;
-- (the caller's own profile row, which profiles_select_own lets them read, says whether they are an admin)
create policy provider_health_admins on public.provider_health_daily for select to authenticated using (
    exists (select 1 from public.profiles p where p.id = auth.uid() and p.role = 'admin'));
revoke insert, update, delete, truncate on public.provider_health_daily from anon, authenticated;

-- Finish a run as before (20250101000032), now with the failure's code and operation.
drop function public.finish_run(uuid, uuid, text, jsonb, double precision, text);
create function public.finish_run(p_user_id uuid, p_run_id uuid, p_status text, p_outputs_json jsonb, p_runtime_ms double precision,
                                  p_error_message text, p_error_code text default null, p_error_operation text default null)
returns void language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_run public.model_runs;
    v_day date := (now() at time zone 'utc')::date;
    v_new_user integer;
    v_error integer := case when p_status = 'error' then 1 else 0 end;
begin
    if p_status not in ('success', 'error') then
        raise exception 'AUSTER:invalid:status must be success or error';
    end if;
    perform 1 from public.profiles where id = p_user_id for update;  -- one finish at a time per user
    update public.model_runs set status = p_status, outputs_json = p_outputs_json, runtime_ms = p_runtime_ms,
           error_message = p_error_message, finished_at = now(),
           error_code = case when p_status = 'error' then nullif(p_error_code, '') end,
           error_operation = case when p_status = 'error' then nullif(p_error_operation, '') end
     where id = p_run_id and user_id = p_user_id and status = 'pending'
     returning * into v_run;
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    v_new_user := public.note_model_user(v_run.model_id, v_day, p_user_id);
    perform public.note_model_inputs(v_run.model_id, v_day, v_run.inputs_json);
    insert into public.model_usage_daily as u (model_id, date, runs, unique_users, errors, cache_hits)
        values (v_run.model_id, v_day, 1, v_new_user, v_error, 0)
        on conflict (model_id, date) do update
        set runs = u.runs + 1, unique_users = u.unique_users + excluded.unique_users, errors = u.errors + excluded.errors;
end $$;

-- Add a batch of counts: [{provider, kind, date, event, code, count}, ...] (one call per flush, not per event).
create or replace function public.record_provider_events(p_rows jsonb)
returns void language sql security definer set search_path = public, pg_temp as $$
    insert into public.provider_health_daily as h (provider, kind, date, event, code, count)
        select r.provider, r.kind, r.date, r.event, coalesce(r.code, ''), sum(r.count)
          from jsonb_to_recordset(coalesce(p_rows, '[]'::jsonb)) as r(provider text, kind text, date date, event text, code text, count bigint)
         group by 1, 2, 3, 4, 5
        on conflict (provider, kind, date, event, code) do update set count = h.count + excluded.count
$$;

-- For admins: the providers' events per day and the failed runs per operation and error code since N days ago.
create or replace function public.admin_health(p_days integer)
returns jsonb language plpgsql stable security definer set search_path = public, pg_temp as $$
declare
    v_since date := (now() at time zone 'utc')::date - (greatest(1, least(coalesce(p_days, 30), 366)) - 1);
begin
    if not public.is_admin(auth.uid()) then
        raise exception 'AUSTER:permission:Only an administrator can see the data providers'' health.';
    end if;
    return jsonb_build_object(
        'since', v_since,
        'events', coalesce((select jsonb_agg(jsonb_build_object('provider', h.provider, 'kind', h.kind, 'date', h.date, 'event', h.event,
                                                                'code', h.code, 'count', h.count)
                                             order by h.date, h.provider, h.kind, h.event, h.code)
                              from public.provider_health_daily h where h.date >= v_since), '[]'::jsonb),
        'errors', coalesce((select jsonb_agg(jsonb_build_object('operation', e.operation, 'code', e.code, 'errors', e.errors, 'last_at', e.last_at)
                                             order by e.errors desc, e.operation nulls first, e.code nulls first)
                              from (select r.error_operation as operation, r.error_code as code, count(*) as errors, max(r.finished_at) as last_at
                                      from public.model_runs r
                                     where r.status = 'error' and r.finished_at >= v_since::timestamp at time zone 'utc'
                                     group by r.error_operation, r.error_code) e), '[]'::jsonb));
end $$;

revoke execute on function public.finish_run(uuid, uuid, text, jsonb, double precision, text, text, text),
    public.record_provider_events(jsonb), public.admin_health(integer)
    from public, anon, authenticated;
grant execute on function public.finish_run(uuid, uuid, text, jsonb, double precision, text, text, text),
    public.record_provider_events(jsonb) to service_role;
grant execute on function public.admin_health(integer) to authenticated;
