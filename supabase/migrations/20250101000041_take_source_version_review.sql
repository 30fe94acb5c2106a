-- Taking a source's newer version goes through review like any code (issue 15; this branch's numbers are 41-49).
--
-- take_source_version() of 20250101000030 predates code review (20250101000040): it let a fork's owner take a
-- source version another author had not had approved (reading code nobody else may see), and it inserted a code
-- version with no review_status, so the copy never reached the admins' queue. Re-created here as the embedded
-- store does it (store/sqlite/models.py): the source must be shared with the caller (a code model approved), the
-- version published and, when it is another author's code, approved; a taken code version starts 'pending'
-- (the trigger model_versions_code_pending sends the fork back to review unless an approved version stays live).
-- tests/store/test_code_reviews.py checks both backends.

create or replace function public.take_source_version(p_fork_slug text, p_version integer)
returns public.model_versions language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_fork public.models;
    v_src public.models;
    v_ver public.model_versions;
    v_new public.model_versions;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:take a version';
    end if;
    select * into v_fork from public.models where slug = p_fork_slug for update;
    if not found or v_fork.owner_id is distinct from v_uid then
        raise exception 'AUSTER:permission:Only the owner of this fork can take a version of its source.';
    end if;
    select * into v_src from public.models
     where id = v_fork.forked_from_id
       and ((visibility in ('public', 'unlisted') and public.model_shared(kind, review_status)) or owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:source model';
    end if;
    select * into v_ver from public.model_versions
     where model_id = v_src.id and version = p_version
       and ((status = 'published' and public.model_shared(runtime, review_status)) or v_src.owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:source version';
    end if;
    insert into public.model_versions (model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by,
                                       runtime, code_bundle, dependencies, review_status)
        values (v_fork.id, (select coalesce(max(version), 0) + 1 from public.model_versions where model_id = v_fork.id),
                v_ver.dsl_json, v_ver.input_schema, v_ver.output_schema,
                'Took ' || v_src.slug || ' v' || v_ver.version, 'published', v_uid,
                v_ver.runtime, v_ver.code_bundle, v_ver.dependencies,
                case when v_ver.runtime = 'dsl' then null else 'pending' end)
        returning * into v_new;
    update public.models set current_version_id = v_new.id, forked_from_version_id = v_ver.id, updated_at = now() where id = v_fork.id;
    return v_new;
end $$;

revoke execute on function public.take_source_version(text, integer) from public, anon, authenticated;
grant execute on function public.take_source_version(text, integer) to authenticated;
