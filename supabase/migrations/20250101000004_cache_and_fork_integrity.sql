-- Integrity fixes to two functions of 20250101000003 (a new file, so projects that applied the
-- earlier migrations pick them up with `supabase db push`).
--
-- 1. The engine runs in the app, and any signed-in user can call reserve_run/finish_run through the
--    REST API with outputs of their own making. The execution cache therefore serves a user only
--    their own runs: a forged result never reaches anyone else (the app's in-process cache, filled
--    only by runs the app itself executed, still shares results across users of one instance).
-- 2. fork_model copied whatever version models.current_version_id pointed at; an author can point
--    their own model at any version id, including another user's private one. It now copies only a
--    version of the source model itself.

create or replace function public.find_cached_run(p_version_id uuid, p_inputs_hash text)
returns table (run_id uuid, outputs jsonb) language sql stable security definer set search_path = public, pg_temp as $$
    select r.id, r.outputs from public.model_runs r
    join public.models m on m.id = r.model_id
    where r.version_id = p_version_id and r.inputs_hash = p_inputs_hash and r.status = 'success' and not r.cached
      and r.user_id = auth.uid()
      and r.created_at > now() - interval '1 hour'
      and (m.visibility in ('public', 'unlisted') or m.author_id = auth.uid())
    order by r.created_at desc limit 1
$$;

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
    select * into v_ver from public.model_versions
     where id = v_src.current_version_id and model_id = v_src.id
       and (status = 'published' or v_src.author_id = v_uid);
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

-- Anonymous visitors cannot run, so they have no use for the execution cache.
revoke execute on function public.find_cached_run(uuid, text) from public, anon;
grant execute on function public.find_cached_run(uuid, text) to authenticated;
revoke execute on function public.fork_model(text, text, text) from public, anon;
grant execute on function public.fork_model(text, text, text) to authenticated;
