-- Functions for what must be atomic or trusted. Errors the app turns into sentences are raised with
-- messages 'AUSTER:<code>:<detail>' (see store/supabase.py, _raise_for).

-- A profile for every new auth user (email sign-up or anonymous sign-in).
create or replace function public.handle_new_user() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    insert into public.profiles (id, email, display_name, is_guest)
    values (new.id, new.email,
            coalesce(new.raw_user_meta_data ->> 'display_name', split_part(coalesce(new.email, 'guest'), '@', 1)),
            coalesce(new.is_anonymous, false))
    on conflict (id) do nothing;
    return new;
end $$;

drop trigger if exists on_auth_user_created on auth.users;
create trigger on_auth_user_created after insert on auth.users for each row execute function public.handle_new_user();

create or replace function public.daily_run_limit(p_tier text) returns integer
language sql immutable as $$ select case when p_tier = 'paid' then 100 else 10 end $$;

-- Reserve a run within the limits, atomically: the caller's profile row is locked, so concurrent
-- reservations by one user queue and each sees the ones before it.
create or replace function public.reserve_run(p_model_id uuid, p_version_id uuid, p_inputs jsonb, p_inputs_hash text)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_tier text;
    v_limit integer;
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
        where v.id = p_version_id and m.id = p_model_id
          and (m.author_id = v_uid or (m.visibility in ('public', 'unlisted') and v.status = 'published'))
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
    if v_recent >= 3 then
        raise exception 'AUSTER:rate_limit_minute:3:%', to_char((v_oldest + interval '1 minute') at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS');
    end if;
    insert into public.model_runs (model_id, version_id, user_id, inputs, inputs_hash, status)
        values (p_model_id, p_version_id, v_uid, coalesce(p_inputs, '{}'), p_inputs_hash, 'pending')
        returning id into v_id;
    return v_id;
end $$;

-- Finish a reserved run and bump the model's daily usage (runs, unique users).
create or replace function public.finish_run(p_run_id uuid, p_status text, p_outputs jsonb, p_runtime_ms double precision, p_error text)
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
    update public.model_runs set status = p_status, outputs = p_outputs, runtime_ms = p_runtime_ms,
           error = p_error, finished_at = now()
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
    insert into public.model_usage_daily as u (model_id, day, runs, unique_users)
        values (v_run.model_id, v_day, 1, v_new_user)
        on conflict (model_id, day) do update set runs = u.runs + 1, unique_users = u.unique_users + excluded.unique_users;
end $$;

-- The newest successful run of this version with these canonical inputs in the last hour, if the
-- caller may run the model. Outputs are a function of (version, inputs), so sharing them across users
-- reveals nothing the caller could not compute.
create or replace function public.find_cached_run(p_version_id uuid, p_inputs_hash text)
returns table (run_id uuid, outputs jsonb) language sql stable security definer set search_path = public, pg_temp as $$
    select r.id, r.outputs from public.model_runs r
    join public.models m on m.id = r.model_id
    where r.version_id = p_version_id and r.inputs_hash = p_inputs_hash and r.status = 'success' and not r.cached
      and r.created_at > now() - interval '1 hour'
      and (m.visibility in ('public', 'unlisted') or m.author_id = auth.uid())
    order by r.created_at desc limit 1
$$;

-- Log a cache hit as a run of the caller (cached = true: not counted against limits or usage). The
-- outputs are copied from the source run, never taken from the caller.
create or replace function public.log_cached_run(p_source_run_id uuid, p_inputs jsonb)
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
     where r.id = p_source_run_id and r.status = 'success' and r.created_at > now() - interval '1 hour'
       and (m.visibility in ('public', 'unlisted') or m.author_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    insert into public.model_runs (model_id, version_id, user_id, inputs, inputs_hash, outputs, runtime_ms, status, cached, finished_at)
        values (v_src.model_id, v_src.version_id, v_uid, coalesce(p_inputs, v_src.inputs), v_src.inputs_hash,
                v_src.outputs, v_src.runtime_ms, 'success', true, now())
        returning id into v_id;
    return v_id;
end $$;

-- Everything needed to render a run without re-running it.
create or replace function public.artifact_payload(p_run public.model_runs) returns jsonb
language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'model', jsonb_build_object('id', m.id, 'slug', m.slug, 'name', m.name, 'description', m.description,
                                    'lab_scope', m.lab_scope, 'tags', to_jsonb(m.tags), 'difficulty', m.difficulty),
        'version', jsonb_build_object('id', v.id, 'version', v.version, 'dsl', v.dsl_json,
                                      'input_schema', v.input_schema, 'output_schema', v.output_schema, 'changelog', v.changelog),
        'inputs', p_run.inputs,
        'result', p_run.outputs,
        'run', jsonb_build_object('id', p_run.id, 'created_at', p_run.created_at, 'runtime_ms', p_run.runtime_ms, 'cached', p_run.cached))
    from public.models m join public.model_versions v on v.id = p_run.version_id
    where m.id = p_run.model_id
$$;

-- Publish one of the caller's successful runs as an immutable artifact.
create or replace function public.publish_artifact(p_run_id uuid, p_slug text, p_title text, p_summary text, p_visibility text)
returns public.published_artifacts language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_run public.model_runs;
    v_art public.published_artifacts;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:publish a run';
    end if;
    select * into v_run from public.model_runs where id = p_run_id and user_id = v_uid;
    if not found then
        raise exception 'AUSTER:not_found:run';
    end if;
    if v_run.status <> 'success' then
        raise exception 'AUSTER:invalid:only a successful run can be published';
    end if;
    insert into public.published_artifacts (slug, run_id, model_id, version_id, created_by, title, summary, visibility, payload)
        values (p_slug, v_run.id, v_run.model_id, v_run.version_id, v_uid, p_title, coalesce(p_summary, ''),
                coalesce(p_visibility, 'public'), public.artifact_payload(v_run))
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
    update public.published_artifacts set view_count = view_count + 1 where slug = p_slug returning view_count
$$;

-- Exact-slug lookup of a model with its versions: unlisted models by link; drafts only for the author.
create or replace function public.get_model_by_slug(p_slug text)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'model', to_jsonb(l),
        'versions', coalesce((select jsonb_agg(to_jsonb(v) order by v.version desc) from public.model_versions v
                              where v.model_id = l.id and (v.status = 'published' or l.author_id = auth.uid())), '[]'::jsonb))
    from public.model_listing l
    where l.slug = p_slug and (l.visibility in ('public', 'unlisted') or l.author_id = auth.uid())
$$;

-- Fork: copy a visible model's current version into the caller's workspace, private.
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
     where slug = p_source_slug and (visibility in ('public', 'unlisted') or author_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:model';
    end if;
    select * into v_ver from public.model_versions where id = v_src.current_version_id;
    if not found then
        raise exception 'AUSTER:invalid:this model has no version to fork';
    end if;
    insert into public.models (slug, name, description, author_id, lab_scope, tags, difficulty, visibility, forked_from_id, kind)
        values (p_new_slug, coalesce(p_name, v_src.name), v_src.description, v_uid, v_src.lab_scope, v_src.tags,
                v_src.difficulty, 'private', v_src.id, v_src.kind)
        returning * into v_new;
    insert into public.model_versions (model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by)
        values (v_new.id, 1, v_ver.dsl_json, v_ver.input_schema, v_ver.output_schema,
                'Forked from ' || v_src.slug || ' v' || v_ver.version, 'published', v_uid)
        returning id into v_new_version;
    update public.models set current_version_id = v_new_version where id = v_new.id returning * into v_new;
    return v_new;
end $$;

-- Only these functions are callable through the API; the helpers stay internal.
revoke execute on all functions in schema public from public, anon, authenticated;
grant execute on function public.get_artifact_by_slug(text), public.increment_artifact_views(text),
    public.get_model_by_slug(text), public.find_cached_run(uuid, text) to anon, authenticated;
grant execute on function public.reserve_run(uuid, uuid, jsonb, text), public.finish_run(uuid, text, jsonb, double precision, text),
    public.log_cached_run(uuid, jsonb), public.publish_artifact(uuid, text, text, text, text),
    public.fork_model(text, text, text), public.daily_run_limit(text) to authenticated;
grant select on public.model_listing to anon, authenticated;
