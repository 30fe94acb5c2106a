-- Issue 13: model_usage_daily kept exact (and model_input_daily beside it). unique_users counts the distinct users of a model on a UTC day,
-- whether they ran it or were served from the cache, through model_usage_users (one row per model, day
-- and user; a user counts once, when their row is first inserted), in the same transaction as the run
-- that brings them: finish_run and log_cached_run, the server's alone. Beside it, errors (failed runs)
-- and cache_hits (served from the cache); runs stays the count of executed runs (the registry's
-- popularity). Days before this migration keep their counts; the users of each day so far are entered in
-- model_usage_users, so that nobody who ran a model today is counted twice after the upgrade. The embedded
-- store's migration 32 does the same.

create table if not exists public.model_usage_users (
    model_id  uuid not null references public.models (id) on delete cascade,
    date      date not null,
    user_id   uuid not null references public.profiles (id) on delete cascade,
    primary key (model_id, date, user_id)
);
alter table public.model_usage_users enable row level security;
revoke all on public.model_usage_users from anon, authenticated;

-- The input values of each model's runs per day (name, value as text, cut to 200 characters): the owner's
-- dashboard reads its most used inputs here instead of every run's inputs (bench/analytics.py).
create table if not exists public.model_input_daily (
    model_id  uuid not null references public.models (id) on delete cascade,
    date      date not null,
    name      text not null,
    value     text not null,
    runs      integer not null default 0,
    primary key (model_id, date, name, value)
);
alter table public.model_input_daily enable row level security;
revoke all on public.model_input_daily from anon, authenticated;

-- The runtimes the dashboard's percentiles read, from the index alone.
create index if not exists model_runs_model_runtime_idx on public.model_runs (model_id, created_at) include (runtime_ms)
    where not cached and status = 'success';

alter table public.model_usage_daily add column if not exists errors integer not null default 0;
alter table public.model_usage_daily add column if not exists cache_hits integer not null default 0;

insert into public.model_usage_users (model_id, date, user_id)
    select distinct model_id, (coalesce(finished_at, created_at) at time zone 'utc')::date, user_id
      from public.model_runs where status <> 'pending'
    on conflict do nothing;

insert into public.model_input_daily (model_id, date, name, value, runs)
    select r.model_id, (coalesce(r.finished_at, r.created_at) at time zone 'utc')::date, kv.key, left(kv.value, 200), count(*)
      from public.model_runs r, jsonb_each_text(r.inputs_json) kv where r.status <> 'pending' and kv.value is not null group by 1, 2, 3, 4
    on conflict do nothing;

-- Count a run's (or a cache hit's) input values in the model's day.
create or replace function public.note_model_inputs(p_model_id uuid, p_date date, p_inputs jsonb)
returns void language sql security definer set search_path = public, pg_temp as $$
    insert into public.model_input_daily as d (model_id, date, name, value, runs)
        select p_model_id, p_date, kv.key, left(kv.value, 200), 1 from jsonb_each_text(coalesce(p_inputs, '{}'::jsonb)) kv where kv.value is not null  -- an input left empty is no value
        on conflict (model_id, date, name, value) do update set runs = d.runs + 1
$$;
revoke execute on function public.note_model_inputs(uuid, date, jsonb) from public, anon, authenticated;

-- 1 when this is the user's first run of the model that day (their row is new), else 0.
create or replace function public.note_model_user(p_model_id uuid, p_date date, p_user_id uuid)
returns integer language plpgsql security definer set search_path = public, pg_temp as $$
begin
    insert into public.model_usage_users (model_id, date, user_id) values (p_model_id, p_date, p_user_id) on conflict do nothing;
    return case when found then 1 else 0 end;
end $$;
revoke execute on function public.note_model_user(uuid, date, uuid) from public, anon, authenticated;

create or replace function public.finish_run(p_user_id uuid, p_run_id uuid, p_status text, p_outputs_json jsonb, p_runtime_ms double precision,
                                  p_error_message text)
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
           error_message = p_error_message, finished_at = now()
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


create or replace function public.log_cached_run(p_user_id uuid, p_source_run_id uuid, p_inputs_hash text)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_src public.model_runs;
    v_minute_limit integer := public.runs_per_minute_limit();
    v_recent integer;
    v_oldest timestamptz;
    v_id uuid;
    v_day date := (now() at time zone 'utc')::date;
begin
    if p_user_id is null then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    perform 1 from public.profiles where id = p_user_id for update;
    if not found then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    select r.* into v_src from public.model_runs r join public.models m on m.id = r.model_id
     where r.id = p_source_run_id and r.status = 'success' and r.created_at > now() - public.execution_cache_ttl()
       and (m.visibility in ('public', 'unlisted') or m.owner_id = p_user_id);
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    if v_src.inputs_hash is distinct from p_inputs_hash then
        raise exception 'AUSTER:invalid:the cached result was computed for other inputs';
    end if;
    select count(*), min(created_at) into v_recent, v_oldest from public.model_runs
        where user_id = p_user_id and model_id = v_src.model_id and created_at > now() - interval '1 minute';
    if v_recent >= v_minute_limit then
        raise exception 'AUSTER:rate_limit_minute:%:%', v_minute_limit,
            to_char((v_oldest + interval '1 minute') at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS');
    end if;
    insert into public.model_runs (model_id, model_version_id, user_id, inputs_json, inputs_hash, runtime_ms, status, cached,
                                   cached_from_run_id, finished_at)
        values (v_src.model_id, v_src.model_version_id, p_user_id, v_src.inputs_json, v_src.inputs_hash,
                v_src.runtime_ms, 'success', true, coalesce(v_src.cached_from_run_id, v_src.id), now())
        returning id into v_id;
    insert into public.model_usage_daily as u (model_id, date, runs, unique_users, errors, cache_hits)
        values (v_src.model_id, v_day, 0, public.note_model_user(v_src.model_id, v_day, p_user_id), 0, 1)
        on conflict (model_id, date) do update set unique_users = u.unique_users + excluded.unique_users, cache_hits = u.cache_hits + 1;
    perform public.note_model_inputs(v_src.model_id, v_day, v_src.inputs_json);
    return v_id;
end $$;
