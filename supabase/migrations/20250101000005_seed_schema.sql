-- The seed's schema, exactly (issue 8): the seed document's table and column names and values, with
-- our extra columns kept beside them. Existing projects upgrade in place with nothing lost: columns
-- are renamed (never dropped and re-created), keys and columns added, 'beginner' rows updated, and
-- every function and view that named an old column is re-created against the new names (a rename
-- follows into views and policies, which are stored parsed, but not into plpgsql and SQL function
-- bodies, which are stored as text).
--
--   models               author_id -> owner_id; + is_template; difficulty beginner -> basic
--   model_versions       + runtime ('dsl', 'python', 'js'), code_bundle, dependencies
--   model_runs           version_id -> model_version_id, inputs -> inputs_json, outputs -> outputs_json,
--                        error -> error_message; + cached_from_run_id (ours: a cache hit references the
--                        run it reuses instead of copying its outputs)
--   model_usage_daily    day -> date; + id primary key; unique (model_id, date)
--   model_saves          + id primary key; unique (user_id, model_id)
--   model_ratings        + id primary key; unique (user_id, model_id)
--   published_artifacts  created_by -> owner_id, run_id -> model_run_id, view_count -> views;
--                        + type ('model_run', 'research_object')

-- ------------------------------------------------------------------------------------------- models
alter table public.models rename column author_id to owner_id;
alter table public.models add column is_template boolean not null default false;
update public.models m set is_template = true
 where m.owner_id is null
   and exists (select 1 from public.model_versions v where v.model_id = m.id and v.version = 1 and v.changelog = 'Template');
alter table public.models drop constraint models_difficulty_check;
update public.models set difficulty = 'basic' where difficulty = 'beginner';
alter table public.models add constraint models_difficulty_check check (difficulty in ('basic', 'intermediate', 'advanced'));
alter table public.models rename constraint models_author_id_fkey to models_owner_id_fkey;
alter index public.models_author_idx rename to models_owner_idx;
create index models_is_template_idx on public.models (is_template);

-- ----------------------------------------------------------------------------------- model_versions
alter table public.model_versions add column runtime text not null default 'dsl' check (runtime in ('dsl', 'python', 'js'));
alter table public.model_versions add column code_bundle text;
alter table public.model_versions add column dependencies jsonb not null default '[]';

-- --------------------------------------------------------------------------------------- model_runs
alter table public.model_runs rename column version_id to model_version_id;
alter table public.model_runs rename column inputs to inputs_json;
alter table public.model_runs rename column outputs to outputs_json;
alter table public.model_runs rename column error to error_message;
alter table public.model_runs rename constraint model_runs_version_id_fkey to model_runs_model_version_id_fkey;
-- Deferred: when a reused run is deleted, the trigger below first hands its outputs to the hits
-- that referenced it (an AFTER trigger, so rows deleted by the same statement are left alone).
alter table public.model_runs add column cached_from_run_id uuid
    references public.model_runs (id) deferrable initially deferred;
drop index public.model_runs_cache_idx;
create index model_runs_cache_idx on public.model_runs (model_version_id, inputs_hash, created_at desc)
    where not cached and status = 'success';
create index model_runs_cached_from_idx on public.model_runs (cached_from_run_id) where cached_from_run_id is not null;

-- Cache hits recorded before this migration hold a copy of their source's outputs: point each one at
-- the run it copied (same version, inputs and outputs, made before it) and drop the copy.
with pairs as (
    select h.id as hit_id,
           (select s.id from public.model_runs s
             where not s.cached and s.status = 'success' and s.model_version_id = h.model_version_id
               and s.inputs_hash = h.inputs_hash and s.outputs_json = h.outputs_json and s.created_at <= h.created_at
             order by s.created_at desc limit 1) as source_id
    from public.model_runs h
    where h.cached and h.outputs_json is not null
)
update public.model_runs r set cached_from_run_id = p.source_id, outputs_json = null
  from pairs p where r.id = p.hit_id and p.source_id is not null;

create or replace function public.keep_reused_outputs() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    update public.model_runs set outputs_json = old.outputs_json, cached_from_run_id = null
     where cached_from_run_id = old.id;
    return null;
end $$;

create trigger model_runs_keep_reused_outputs after delete on public.model_runs
    for each row execute function public.keep_reused_outputs();

-- -------------------------------------------------------------------------------- model_usage_daily
alter table public.model_usage_daily rename column day to date;
alter table public.model_usage_daily add column id uuid not null default gen_random_uuid();
alter table public.model_usage_daily drop constraint model_usage_daily_pkey;
alter table public.model_usage_daily add constraint model_usage_daily_pkey primary key (id);
alter table public.model_usage_daily add constraint model_usage_daily_model_id_date_key unique (model_id, date);
alter index public.model_usage_daily_day_idx rename to model_usage_daily_date_idx;

-- ------------------------------------------------------------------------ model_saves, model_ratings
alter table public.model_saves add column id uuid not null default gen_random_uuid();
alter table public.model_saves drop constraint model_saves_pkey;
alter table public.model_saves add constraint model_saves_pkey primary key (id);
alter table public.model_saves add constraint model_saves_user_id_model_id_key unique (user_id, model_id);

alter table public.model_ratings add column id uuid not null default gen_random_uuid();
alter table public.model_ratings drop constraint model_ratings_pkey;
alter table public.model_ratings add constraint model_ratings_pkey primary key (id);
alter table public.model_ratings add constraint model_ratings_user_id_model_id_key unique (user_id, model_id);

-- ------------------------------------------------------------------------------ published_artifacts
alter table public.published_artifacts rename column created_by to owner_id;
alter table public.published_artifacts rename column run_id to model_run_id;
alter table public.published_artifacts rename column view_count to views;
alter table public.published_artifacts rename constraint published_artifacts_created_by_fkey to published_artifacts_owner_id_fkey;
alter table public.published_artifacts rename constraint published_artifacts_run_id_fkey to published_artifacts_model_run_id_fkey;
alter table public.published_artifacts add column type text not null default 'model_run'
    check (type in ('model_run', 'research_object'));
update public.published_artifacts set payload = jsonb_set(payload, '{model,difficulty}', '"basic"')
 where payload -> 'model' ->> 'difficulty' = 'beginner';
alter index public.published_artifacts_creator_idx rename to published_artifacts_owner_idx;
create index published_artifacts_model_run_idx on public.published_artifacts (model_run_id);

-- --------------------------------------------------------------------------------------- policies
-- Renamed columns follow into the policies by themselves (every policy was read again against the
-- new names); these add what the new columns need: users never make templates, and a user's versions
-- stay DSL documents until code models get a review (phase 3) that the server runs.
drop policy if exists models_insert_own on public.models;
create policy models_insert_own on public.models for insert to authenticated
    with check (owner_id = auth.uid() and kind = 'dsl' and review_status is null and not is_template);
drop policy if exists versions_insert_own on public.model_versions;
create policy versions_insert_own on public.model_versions for insert to authenticated with check (
    created_by = auth.uid() and runtime = 'dsl' and code_bundle is null
    and exists (select 1 from public.models m where m.id = model_id and m.owner_id = auth.uid()));
drop policy if exists versions_update_own_draft on public.model_versions;
create policy versions_update_own_draft on public.model_versions for update to authenticated
    using (status = 'draft' and exists (select 1 from public.models m where m.id = model_id and m.owner_id = auth.uid()))
    with check (runtime = 'dsl' and code_bundle is null
                and exists (select 1 from public.models m where m.id = model_id and m.owner_id = auth.uid()));

-- A rating moved to another model must still be of a model the user can see (as when inserting it).
drop policy if exists ratings_update_own on public.model_ratings;
create policy ratings_update_own on public.model_ratings for update to authenticated
    using (user_id = auth.uid())
    with check (user_id = auth.uid() and exists (select 1 from public.models m where m.id = model_id));

-- ------------------------------------------------------------------------------------------ views
drop view public.model_listing;
create view public.model_listing with (security_invoker = true) as
select m.*,
       coalesce((select sum(u.runs) from public.model_usage_daily u
                 where u.model_id = m.id and u.date >= current_date - 30), 0)::integer as runs_30d,
       (select round(avg(r.rating)::numeric, 2)::double precision from public.model_ratings r where r.model_id = m.id) as rating_avg,
       (select count(*) from public.model_ratings r where r.model_id = m.id)::integer as rating_count
from public.models m;

-- ------------------------------------------------------------------------------------------ rules
-- Quotas live in contracts/rules.py; these functions are their one SQL spelling
-- (tests/contracts/test_rules_parity.py compares them).
create or replace function public.runs_per_minute_limit() returns integer
language sql immutable as $$ select 3 $$;

create or replace function public.execution_cache_ttl() returns interval
language sql immutable as $$ select interval '3600 seconds' $$;

-- ------------------------------------------------------------------------------------------- runs
-- Argument names follow the columns, so the functions are dropped and created again.
drop function public.reserve_run(uuid, uuid, jsonb, text);
create function public.reserve_run(p_model_id uuid, p_model_version_id uuid, p_inputs_json jsonb, p_inputs_hash text)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_tier text;
    v_limit integer;
    v_minute_limit integer := public.runs_per_minute_limit();
    v_used integer;
    v_recent integer;
    v_oldest timestamptz;
    v_day_start timestamptz := date_trunc('day', now() at time zone 'utc') at time zone 'utc';
    v_id uuid;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    if not exists (
        select 1 from public.model_versions v join public.models m on m.id = v.model_id
        where v.id = p_model_version_id and m.id = p_model_id
          and (m.owner_id = v_uid or (m.visibility in ('public', 'unlisted') and v.status = 'published'))
    ) then
        raise exception 'AUSTER:not_found:model';
    end if;
    select tier into v_tier from public.profiles where id = v_uid for update;
    if not found then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    v_limit := public.daily_run_limit(v_tier);
    select count(*) into v_used from public.model_runs
        where user_id = v_uid and not cached and created_at >= v_day_start;
    if v_used >= v_limit then
        raise exception 'AUSTER:rate_limit_daily:%:%', v_limit, v_tier;
    end if;
    select count(*), min(created_at) into v_recent, v_oldest from public.model_runs
        where user_id = v_uid and model_id = p_model_id and not cached and created_at > now() - interval '1 minute';
    if v_recent >= v_minute_limit then
        raise exception 'AUSTER:rate_limit_minute:%:%', v_minute_limit,
            to_char((v_oldest + interval '1 minute') at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS');
    end if;
    insert into public.model_runs (model_id, model_version_id, user_id, inputs_json, inputs_hash, status)
        values (p_model_id, p_model_version_id, v_uid, coalesce(p_inputs_json, '{}'), p_inputs_hash, 'pending')
        returning id into v_id;
    return v_id;
end $$;

drop function public.finish_run(uuid, text, jsonb, double precision, text);
create function public.finish_run(p_run_id uuid, p_status text, p_outputs_json jsonb, p_runtime_ms double precision, p_error_message text)
returns void language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_run public.model_runs;
    v_day date := (now() at time zone 'utc')::date;
    v_new_user integer;
begin
    if p_status not in ('success', 'error') then
        raise exception 'AUSTER:invalid:status must be success or error';
    end if;
    perform 1 from public.profiles where id = v_uid for update;  -- one finish at a time per user
    update public.model_runs set status = p_status, outputs_json = p_outputs_json, runtime_ms = p_runtime_ms,
           error_message = p_error_message, finished_at = now()
     where id = p_run_id and user_id = v_uid and status = 'pending'
     returning * into v_run;
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    select case when exists (
        select 1 from public.model_runs r
        where r.user_id = v_uid and r.model_id = v_run.model_id and r.id <> v_run.id and not r.cached
          and r.status <> 'pending' and r.finished_at >= v_day::timestamp at time zone 'utc'
    ) then 0 else 1 end into v_new_user;
    insert into public.model_usage_daily as u (model_id, date, runs, unique_users)
        values (v_run.model_id, v_day, 1, v_new_user)
        on conflict (model_id, date) do update set runs = u.runs + 1, unique_users = u.unique_users + excluded.unique_users;
end $$;

-- The caller's own newest successful run of this version with these canonical inputs within the
-- cache's lifetime (a user's own only: see 20250101000004).
drop function public.find_cached_run(uuid, text);
create function public.find_cached_run(p_model_version_id uuid, p_inputs_hash text)
returns table (run_id uuid, outputs_json jsonb) language sql stable security definer set search_path = public, pg_temp as $$
    select r.id, r.outputs_json from public.model_runs r
    join public.models m on m.id = r.model_id
    where r.model_version_id = p_model_version_id and r.inputs_hash = p_inputs_hash and not r.cached and r.status = 'success'
      and r.user_id = auth.uid()
      and r.created_at > now() - public.execution_cache_ttl()
      and (m.visibility in ('public', 'unlisted') or m.owner_id = auth.uid())
    order by r.created_at desc limit 1
$$;

-- Log a cache hit as a run of the caller (cached = true: not counted against limits or usage) that
-- references the run holding the outputs; nothing is copied and nothing is taken from the caller.
drop function public.log_cached_run(uuid, jsonb);
create function public.log_cached_run(p_source_run_id uuid, p_inputs_json jsonb)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_src public.model_runs;
    v_id uuid;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:run a model';
    end if;
    select r.* into v_src from public.model_runs r join public.models m on m.id = r.model_id
     where r.id = p_source_run_id and r.status = 'success' and r.created_at > now() - public.execution_cache_ttl()
       and (m.visibility in ('public', 'unlisted') or m.owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    insert into public.model_runs (model_id, model_version_id, user_id, inputs_json, inputs_hash, runtime_ms, status, cached,
                                   cached_from_run_id, finished_at)
        values (v_src.model_id, v_src.model_version_id, v_uid, coalesce(p_inputs_json, v_src.inputs_json), v_src.inputs_hash,
                v_src.runtime_ms, 'success', true, coalesce(v_src.cached_from_run_id, v_src.id), now())
        returning id into v_id;
    return v_id;
end $$;

-- The caller's runs (one when p_run_id is given, else the newest p_limit), each with its outputs
-- resolved through the run a cache hit reuses, which the caller's RLS would not let them read.
create function public.my_runs(p_run_id uuid, p_limit integer)
returns table (id uuid, model_id uuid, model_version_id uuid, user_id uuid, inputs_json jsonb, inputs_hash text,
               outputs_json jsonb, runtime_ms double precision, status text, error_message text, cached boolean,
               cached_from_run_id uuid, created_at timestamptz, finished_at timestamptz, model_slug text)
language sql stable security definer set search_path = public, pg_temp as $$
    select r.id, r.model_id, r.model_version_id, r.user_id, r.inputs_json, r.inputs_hash,
           coalesce(r.outputs_json, src.outputs_json), r.runtime_ms, r.status, r.error_message, r.cached,
           r.cached_from_run_id, r.created_at, r.finished_at, m.slug
    from public.model_runs r
    join public.models m on m.id = r.model_id
    left join public.model_runs src on src.id = r.cached_from_run_id
    where r.user_id = auth.uid() and (p_run_id is null or r.id = p_run_id)
    order by r.created_at desc
    limit greatest(1, least(coalesce(p_limit, 50), 200))
$$;

-- ------------------------------------------------------------------------------------- artifacts
-- Everything needed to render a run without re-running it; a cache hit's outputs come from the run it reuses.
create or replace function public.artifact_payload(p_run public.model_runs) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'model', jsonb_build_object('id', m.id, 'slug', m.slug, 'name', m.name, 'description', m.description,
                                    'lab_scope', m.lab_scope, 'tags', to_jsonb(m.tags), 'difficulty', m.difficulty),
        'version', jsonb_build_object('id', v.id, 'version', v.version, 'dsl', v.dsl_json,
                                      'input_schema', v.input_schema, 'output_schema', v.output_schema, 'changelog', v.changelog),
        'inputs', p_run.inputs_json,
        'result', coalesce(p_run.outputs_json, (select s.outputs_json from public.model_runs s where s.id = p_run.cached_from_run_id)),
        'run', jsonb_build_object('id', p_run.id, 'created_at', p_run.created_at, 'runtime_ms', p_run.runtime_ms, 'cached', p_run.cached))
    from public.models m join public.model_versions v on v.id = p_run.model_version_id
    where m.id = p_run.model_id
$$;

-- Publish one of the caller's successful runs as an immutable artifact.
drop function public.publish_artifact(uuid, text, text, text, text);
create function public.publish_artifact(p_model_run_id uuid, p_slug text, p_title text, p_summary text, p_visibility text)
returns public.published_artifacts language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_run public.model_runs;
    v_payload jsonb;
    v_art public.published_artifacts;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:publish a run';
    end if;
    select * into v_run from public.model_runs where id = p_model_run_id and user_id = v_uid;
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    v_payload := public.artifact_payload(v_run);
    if v_run.status <> 'success' or v_payload -> 'result' is null or jsonb_typeof(v_payload -> 'result') = 'null' then
        raise exception 'AUSTER:invalid:only a successful run can be published';
    end if;
    insert into public.published_artifacts (slug, type, model_run_id, model_id, version_id, owner_id, title, summary, visibility, payload)
        values (p_slug, 'model_run', v_run.id, v_run.model_id, v_run.model_version_id, v_uid, p_title, coalesce(p_summary, ''),
                coalesce(p_visibility, 'public'), v_payload)
        returning * into v_art;
    return v_art;
end $$;

-- Exact-slug lookup: unlisted artifacts are readable by whoever has the link, never listable.
create or replace function public.get_artifact_by_slug(p_slug text)
returns setof public.published_artifacts language sql stable security definer set search_path = public, pg_temp as $$
    select * from public.published_artifacts where slug = p_slug
$$;

create or replace function public.increment_artifact_views(p_slug text)
returns integer language sql volatile security definer set search_path = public, pg_temp as $$
    update public.published_artifacts set views = views + 1 where slug = p_slug returning views
$$;

-- ---------------------------------------------------------------------------------------- models
-- Exact-slug lookup of a model with its versions: unlisted models by link; drafts only for the owner.
create or replace function public.get_model_by_slug(p_slug text)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'model', to_jsonb(l),
        'versions', coalesce((select jsonb_agg(to_jsonb(v) order by v.version desc) from public.model_versions v
                              where v.model_id = l.id and (v.status = 'published' or l.owner_id = auth.uid())), '[]'::jsonb))
    from public.model_listing l
    where l.slug = p_slug and (l.visibility in ('public', 'unlisted') or l.owner_id = auth.uid())
$$;

-- Fork: copy a visible model's current version (of that model itself) into the caller's workspace, private.
create or replace function public.fork_model(p_source_slug text, p_new_slug text, p_name text)
returns public.models language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_src public.models;
    v_ver public.model_versions;
    v_new public.models;
    v_new_version uuid;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:fork a model';
    end if;
    select * into v_src from public.models
     where slug = p_source_slug and (visibility in ('public', 'unlisted') or owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:model';
    end if;
    select * into v_ver from public.model_versions
     where id = v_src.current_version_id and model_id = v_src.id
       and (status = 'published' or v_src.owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:invalid:this model has no version to fork';
    end if;
    insert into public.models (slug, name, description, owner_id, lab_scope, tags, difficulty, visibility, is_template, forked_from_id, kind)
        values (p_new_slug, coalesce(p_name, v_src.name), v_src.description, v_uid, v_src.lab_scope, v_src.tags,
                v_src.difficulty, 'private', false, v_src.id, v_src.kind)
        returning * into v_new;
    insert into public.model_versions (model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by,
                                       runtime, code_bundle, dependencies)
        values (v_new.id, 1, v_ver.dsl_json, v_ver.input_schema, v_ver.output_schema,
                'Forked from ' || v_src.slug || ' v' || v_ver.version, 'published', v_uid,
                v_ver.runtime, v_ver.code_bundle, v_ver.dependencies)
        returning id into v_new_version;
    update public.models set current_version_id = v_new_version where id = v_new.id returning * into v_new;
    return v_new;
end $$;

-- ---------------------------------------------------------------------------------------- grants
-- Only these functions are callable through the API; the helpers stay internal.
revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on function public.get_artifact_by_slug(text), public.increment_artifact_views(text),
    public.get_model_by_slug(text) to anon, authenticated;
grant execute on function public.reserve_run(uuid, uuid, jsonb, text), public.finish_run(uuid, text, jsonb, double precision, text),
    public.find_cached_run(uuid, text), public.log_cached_run(uuid, jsonb), public.my_runs(uuid, integer),
    public.publish_artifact(uuid, text, text, text, text), public.fork_model(text, text, text),
    public.daily_run_limit(text), public.runs_per_minute_limit() to authenticated;
grant select on public.model_listing to anon, authenticated;
