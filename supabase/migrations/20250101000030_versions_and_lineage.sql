-- Issue 13: version history with authors, fork lineage, and taking a source's newer version.
--
-- 1. models.forked_from_version_id: the version of the source a fork copied, or last took. Authors cannot
--    set it (the column grants of 20250101000002 leave it out); fork_model and take_source_version do.
--    Forks made before this are matched through their first changelog ("Forked from <slug> v<N>").
-- 2. get_model_by_slug: each version carries its author's display name (profiles are readable by their
--    owner only, so the name is added here, for versions the caller may see anyway).
-- 3. fork_model: a fork is named "<name> (fork)" until renamed, and remembers its source version.
-- 4. model_lineage(slug): where a visible model came from (slug, name, version, author) and its forks the
--    caller may list (public ones, and the caller's own); an unlisted or private fork is never listed.
-- 5. take_source_version(fork slug, version): the fork's owner takes a published version of the source
--    (visible to them) as a new version of the fork, atomically.
-- The embedded store's migration 30 (store/sqlite/schema.py) makes the same column.

alter table public.models add column if not exists forked_from_version_id uuid references public.model_versions (id) on delete set null;
update public.models m set forked_from_version_id = (
    select sv.id from public.model_versions fv, public.models src, public.model_versions sv
     where fv.model_id = m.id and fv.version = 1 and src.id = m.forked_from_id and sv.model_id = src.id
       and fv.changelog = 'Forked from ' || src.slug || ' v' || sv.version)
 where m.forked_from_id is not null and m.forked_from_version_id is null;
create index if not exists models_forked_from_idx on public.models (forked_from_id) where forked_from_id is not null;

create or replace function public.get_model_by_slug(p_slug text)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'model', to_jsonb(l),
        'versions', coalesce((select jsonb_agg(to_jsonb(v) || jsonb_build_object('author_name', p.display_name) order by v.version desc)
                                from public.model_versions v left join public.profiles p on p.id = v.created_by
                               where v.model_id = l.id and (v.status = 'published' or l.owner_id = auth.uid())), '[]'::jsonb))
    from public.model_listing l
    where l.slug = p_slug and (l.visibility in ('public', 'unlisted') or l.owner_id = auth.uid())
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
    insert into public.models (slug, name, description, owner_id, lab_scope, tags, difficulty, visibility, is_template,
                               forked_from_id, forked_from_version_id, kind)
        values (p_new_slug, coalesce(nullif(btrim(p_name), ''), left(v_src.name, 113) || ' (fork)'), v_src.description, v_uid,
                v_src.lab_scope, v_src.tags, v_src.difficulty, 'private', false, v_src.id, v_ver.id, v_src.kind)
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

create or replace function public.model_lineage(p_slug text)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'source_id', me.forked_from_id,
        'source', (select jsonb_build_object('slug', s.slug, 'name', s.name, 'is_template', s.is_template,
                                             'owner_name', p.display_name, 'version', sv.version)
                     from public.models s
                     left join public.profiles p on p.id = s.owner_id
                     left join public.model_versions sv on sv.id = me.forked_from_version_id and sv.model_id = s.id
                    where s.id = me.forked_from_id and (s.visibility in ('public', 'unlisted') or s.owner_id = auth.uid())),
        'forks', coalesce((select jsonb_agg(jsonb_build_object('slug', f.slug, 'name', f.name, 'owner_name', p.display_name,
                                                               'created_at', f.created_at, 'version', fv.version)
                                            order by f.created_at, f.slug)
                             from public.models f
                             left join public.profiles p on p.id = f.owner_id
                             left join public.model_versions fv on fv.id = f.forked_from_version_id and fv.model_id = me.id
                            where f.forked_from_id = me.id and (f.visibility = 'public' or f.owner_id = auth.uid())), '[]'::jsonb))
    from public.models me
    where me.slug = p_slug and (me.visibility in ('public', 'unlisted') or me.owner_id = auth.uid())
$$;

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
     where id = v_fork.forked_from_id and (visibility in ('public', 'unlisted') or owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:source model';
    end if;
    select * into v_ver from public.model_versions
     where model_id = v_src.id and version = p_version and (status = 'published' or v_src.owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:source version';
    end if;
    insert into public.model_versions (model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by,
                                       runtime, code_bundle, dependencies)
        values (v_fork.id, (select coalesce(max(version), 0) + 1 from public.model_versions where model_id = v_fork.id),
                v_ver.dsl_json, v_ver.input_schema, v_ver.output_schema,
                'Took ' || v_src.slug || ' v' || v_ver.version, 'published', v_uid,
                v_ver.runtime, v_ver.code_bundle, v_ver.dependencies)
        returning * into v_new;
    update public.models set current_version_id = v_new.id, forked_from_version_id = v_ver.id, updated_at = now() where id = v_fork.id;
    return v_new;
end $$;

revoke execute on function public.model_lineage(text), public.take_source_version(text, integer) from public, anon, authenticated;
grant execute on function public.model_lineage(text) to anon, authenticated;
grant execute on function public.take_source_version(text, integer) to authenticated;
