-- Results nobody can forge (issue 9). Until now the app finished a run with the user's own JWT, so a
-- user calling the REST API directly could record any outputs for their own runs, publish them, and
-- add views to any artifact. From here on:
--
--   * runs, their outputs and daily usage are written only by the server: reserve_run, finish_run,
--     find_cached_run, log_cached_run and sweep_stale_runs take the acting user's id and are
--     executable by service_role alone (the app holds SUPABASE_SERVICE_ROLE_KEY server side). Users'
--     JWTs still read their runs (my_runs, RLS on model_runs) and publish them (publish_artifact);
--   * failed runs do not use the daily quota; every run, failed or served from the execution cache,
--     counts against the per-minute limit;
--   * a run left pending past the run budget (its recording failed) is swept to 'error' before the
--     next reservation of its user, so it never counts against the quota for ever;
--   * an execution-cache hit takes the canonical inputs of the run it reuses, after checking that the
--     caller's inputs hash to the same key: a hit never pairs one person's inputs with another run's
--     outputs;
--   * views are counted by the server once per viewer per day (artifact_views), by artifact id: the
--     counting call no longer exists for users and never answers whether a slug exists;
--   * publishing a run of a model the publisher can no longer see is refused, and an unlisted
--     artifact's address ends in 128 random bits made here, whatever slug the caller sent.
--
-- Once results are recorded only by the server, sharing them across users through the execution
-- cache is safe again, as DESIGN.md intends (20250101000004 had restricted it to a user's own runs).
-- Runs recorded before this migration may carry outputs a user sent; the last hour of them (the
-- cache's lifetime) is kept out of every cache by prefixing its key. Nothing else changes.

update public.model_runs set inputs_hash = 'before-server-writes:' || inputs_hash
 where not cached and status = 'success' and created_at > now() - public.execution_cache_ttl();

-- ------------------------------------------------------------------------------------------- runs
-- The sentence a swept run is recorded with (store/common.py says the same for sqlite).
create or replace function public.stale_run_message() returns text
language sql immutable as $$
    select 'The run was not recorded in time (the app stopped or its database was busy); it does not count against your daily runs.'::text
$$;

-- Pending runs of this user older than the run budget become failed runs (they never finished).
create function public.sweep_stale_runs(p_user_id uuid, p_stale_after_s double precision)
returns integer language sql volatile security definer set search_path = public, pg_temp as $$
    with swept as (
        update public.model_runs set status = 'error', error_message = public.stale_run_message(), finished_at = now()
         where user_id = p_user_id and status = 'pending'
           and created_at < now() - make_interval(secs => greatest(coalesce(p_stale_after_s, 3600), 0))
        returning 1)
    select count(*)::integer from swept
$$;

drop function public.reserve_run(uuid, uuid, jsonb, text);
create function public.reserve_run(p_user_id uuid, p_model_id uuid, p_model_version_id uuid, p_inputs_json jsonb, p_inputs_hash text,
                                   p_stale_after_s double precision default 3600)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_tier text;
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
    select tier into v_tier from public.profiles where id = p_user_id for update;
    if not found then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    perform public.sweep_stale_runs(p_user_id, p_stale_after_s);
    v_limit := public.daily_run_limit(v_tier);
    select count(*) into v_used from public.model_runs
        where user_id = p_user_id and not cached and status <> 'error' and created_at >= v_day_start;
    if v_used >= v_limit then
        raise exception 'AUSTER:rate_limit_daily:%:%', v_limit, v_tier;
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

drop function public.finish_run(uuid, text, jsonb, double precision, text);
create function public.finish_run(p_user_id uuid, p_run_id uuid, p_status text, p_outputs_json jsonb, p_runtime_ms double precision,
                                  p_error_message text)
returns void language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_run public.model_runs;
    v_day date := (now() at time zone 'utc')::date;
    v_new_user integer;
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
    select case when exists (
        select 1 from public.model_runs r
        where r.user_id = p_user_id and r.model_id = v_run.model_id and r.id <> v_run.id and not r.cached
          and r.status <> 'pending' and r.finished_at >= v_day::timestamp at time zone 'utc'
    ) then 0 else 1 end into v_new_user;
    insert into public.model_usage_daily as u (model_id, date, runs, unique_users)
        values (v_run.model_id, v_day, 1, v_new_user)
        on conflict (model_id, date) do update set runs = u.runs + 1, unique_users = u.unique_users + excluded.unique_users;
end $$;

-- The newest successful run of this version with these canonical inputs within the cache's lifetime,
-- of a model the user may run. Every such run was executed and recorded by the server, so its
-- result is the same for whoever asks.
drop function public.find_cached_run(uuid, text);
create function public.find_cached_run(p_user_id uuid, p_model_version_id uuid, p_inputs_hash text)
returns table (run_id uuid, outputs_json jsonb) language sql stable security definer set search_path = public, pg_temp as $$
    select r.id, r.outputs_json from public.model_runs r
    join public.models m on m.id = r.model_id
    where r.model_version_id = p_model_version_id and r.inputs_hash = p_inputs_hash and not r.cached and r.status = 'success'
      and r.created_at > now() - public.execution_cache_ttl()
      and (m.visibility in ('public', 'unlisted') or m.owner_id = p_user_id)
    order by r.created_at desc limit 1
$$;

-- Log a cache hit as a run of the user: a reference to the run holding the outputs, with that run's
-- canonical inputs (the caller's inputs must hash to the same key), counted against the per-minute
-- limit only.
drop function public.log_cached_run(uuid, jsonb);
create function public.log_cached_run(p_user_id uuid, p_source_run_id uuid, p_inputs_hash text)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_src public.model_runs;
    v_minute_limit integer := public.runs_per_minute_limit();
    v_recent integer;
    v_oldest timestamptz;
    v_id uuid;
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
    return v_id;
end $$;

-- -------------------------------------------------------------------------------------- artifacts
-- One row per artifact, day (UTC) and viewer (a user id, or a hash of an anonymous browser session);
-- only today's rows are kept. No policy: only the server reads or writes it.
create table public.artifact_views (
    artifact_id  uuid not null references public.published_artifacts (id) on delete cascade,
    viewer_key   text not null check (char_length(viewer_key) between 1 and 200),
    date         date not null,
    primary key (artifact_id, date, viewer_key)
);
alter table public.artifact_views enable row level security;
revoke all on public.artifact_views from anon, authenticated;

drop function public.increment_artifact_views(text);

-- Count a view of this artifact by this viewer, once a day; return the artifact's views (0 for an
-- unknown id). Keyed by id, which the server has read from get_artifact_by_slug first.
create function public.record_artifact_view(p_artifact_id uuid, p_viewer_key text)
returns integer language plpgsql volatile security definer set search_path = public, pg_temp as $$
declare
    v_today date := (now() at time zone 'utc')::date;
    v_views integer;
begin
    if not exists (select 1 from public.published_artifacts where id = p_artifact_id) then
        return 0;
    end if;
    delete from public.artifact_views where artifact_id = p_artifact_id and date < v_today;
    insert into public.artifact_views (artifact_id, viewer_key, date) values (p_artifact_id, p_viewer_key, v_today)
        on conflict do nothing;
    if found then
        update public.published_artifacts set views = views + 1 where id = p_artifact_id returning views into v_views;
    else
        select views into v_views from public.published_artifacts where id = p_artifact_id;
    end if;
    return coalesce(v_views, 0);
end $$;

-- Publish one of the caller's successful runs as an immutable artifact, if its model is still shared
-- with the caller; an unlisted artifact's address ends in 128 random bits (two random UUIDs, 244 random bits, hashed
-- with SHA-256 and cut to 32 hex digits).
create or replace function public.publish_artifact(p_model_run_id uuid, p_slug text, p_title text, p_summary text, p_visibility text)
returns public.published_artifacts language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_run public.model_runs;
    v_payload jsonb;
    v_slug text := p_slug;
    v_art public.published_artifacts;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:publish a run';
    end if;
    select * into v_run from public.model_runs where id = p_model_run_id and user_id = v_uid;
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    if not exists (select 1 from public.models m where m.id = v_run.model_id
                   and (m.visibility in ('public', 'unlisted') or m.owner_id = v_uid)) then
        raise exception 'AUSTER:permission:The model of this run is no longer shared with you, so the run cannot be published.';
    end if;
    v_payload := public.artifact_payload(v_run);
    if v_run.status <> 'success' or v_payload -> 'result' is null or jsonb_typeof(v_payload -> 'result') = 'null' then
        raise exception 'AUSTER:invalid:only a successful run can be published';
    end if;
    if coalesce(p_visibility, 'public') = 'unlisted' then
        v_slug := rtrim(left(coalesce(p_slug, 'artifact'), 60), '-') || '-'
                  || left(encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex'), 32);
    end if;
    insert into public.published_artifacts (slug, type, model_run_id, model_id, version_id, owner_id, title, summary, visibility, payload)
        values (v_slug, 'model_run', v_run.id, v_run.model_id, v_run.model_version_id, v_uid, p_title, coalesce(p_summary, ''),
                coalesce(p_visibility, 'public'), v_payload)
        returning * into v_art;
    return v_art;
end $$;

-- ---------------------------------------------------------------------------------------- grants
-- The writing functions are the server's alone; functions created after the blanket revoke of
-- 20250101000005 get Supabase's default grants, so each is revoked by name.
revoke execute on function public.reserve_run(uuid, uuid, uuid, jsonb, text, double precision),
    public.finish_run(uuid, uuid, text, jsonb, double precision, text),
    public.find_cached_run(uuid, uuid, text), public.log_cached_run(uuid, uuid, text),
    public.sweep_stale_runs(uuid, double precision), public.record_artifact_view(uuid, text),
    public.stale_run_message()
    from public, anon, authenticated;
grant execute on function public.reserve_run(uuid, uuid, uuid, jsonb, text, double precision),
    public.finish_run(uuid, uuid, text, jsonb, double precision, text),
    public.find_cached_run(uuid, uuid, text), public.log_cached_run(uuid, uuid, text),
    public.sweep_stale_runs(uuid, double precision), public.record_artifact_view(uuid, text),
    public.stale_run_message()
    to service_role;
