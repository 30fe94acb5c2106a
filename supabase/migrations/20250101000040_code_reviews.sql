-- Code models in review (issues 14 and 15; this branch's numbers are 40-49).
--
-- A code version (runtime python or js) starts 'pending'. Only an admin approves or rejects it, through
-- review_code_version(), which keeps every decision in model_reviews (who, when, the SHA-256 of the code
-- judged, a note) and moves the version's and the model's review_status. models.review_status is
-- 'approved' once any version is approved, else the state of its newest code version. Until then a
-- code model is its owner's alone: nobody else sees it, lists it, forks it or runs it, and it cannot be
-- made public or unlisted. Afterwards others see and run only its approved versions: a new version goes
-- back to review while the last approved one stays live. The sqlite backend (store/sqlite, migration 40)
-- follows the same rules; tests/store/test_code_reviews.py attacks both.

-- ------------------------------------------------------------------------------------------ tables
alter table public.model_versions add column review_status text
    check (review_status in ('pending', 'approved', 'rejected'));
create index model_versions_pending_idx on public.model_versions (created_at) where review_status = 'pending';

create table public.model_reviews (
    id           uuid primary key default gen_random_uuid(),
    model_id     uuid not null references public.models (id) on delete cascade,
    version_id   uuid not null references public.model_versions (id) on delete cascade,
    reviewer_id  uuid references auth.users (id) on delete set null,
    decision     text not null check (decision in ('approved', 'rejected')),
    code_sha256  text not null check (length(code_sha256) = 64),
    note         text not null default '' check (length(note) <= 4000),
    created_at   timestamptz not null default now()
);
create index model_reviews_model_idx on public.model_reviews (model_id, created_at desc);

-- ------------------------------------------------------------------------------------------ helpers
create function public.is_admin() returns boolean
language sql stable security definer set search_path = public, pg_temp as $$
    select exists (select 1 from public.profiles p where p.id = auth.uid() and p.role = 'admin')
$$;

-- Others may see a model (as a row) when it is shared and, for a code model, approved.
create function public.model_shared(p_kind text, p_review_status text) returns boolean
language sql immutable as $$
    select p_kind = 'dsl' or p_review_status = 'approved'
$$;

-- ---------------------------------------------------------------------------------------- policies
alter table public.model_reviews enable row level security;
-- Decisions are read with the model (public ones, the caller's own) or by an admin; unlisted models'
-- decisions through model_reviews_of(). Nobody writes the table directly: review_code_version() does.
create policy reviews_select on public.model_reviews for select to anon, authenticated using (
    public.is_admin() or exists (select 1 from public.models m where m.id = model_id));
revoke insert, update, delete, truncate on public.model_reviews from anon, authenticated;

drop policy if exists models_select on public.models;
create policy models_select on public.models for select to anon, authenticated
    using ((visibility = 'public' and public.model_shared(kind, review_status)) or owner_id = auth.uid());
drop policy if exists models_insert_own on public.models;
create policy models_insert_own on public.models for insert to authenticated
    with check (owner_id = auth.uid() and not is_template
                and ((kind = 'dsl' and review_status is null)
                     or (kind in ('python', 'js') and review_status = 'pending' and visibility = 'private')));
drop policy if exists models_update_own on public.models;
create policy models_update_own on public.models for update to authenticated
    using (owner_id = auth.uid())
    with check (owner_id = auth.uid() and (visibility = 'private' or public.model_shared(kind, review_status)));

drop policy if exists versions_select on public.model_versions;
create policy versions_select on public.model_versions for select to anon, authenticated using (
    exists (select 1 from public.models m where m.id = model_id
            and ((m.visibility = 'public' and status = 'published' and public.model_shared(m.kind, m.review_status)
                  and public.model_shared(runtime, review_status))
                 or m.owner_id = auth.uid())));
drop policy if exists versions_insert_own on public.model_versions;
create policy versions_insert_own on public.model_versions for insert to authenticated with check (
    created_by = auth.uid()
    and exists (select 1 from public.models m where m.id = model_id and m.owner_id = auth.uid() and m.kind = runtime)
    and ((runtime = 'dsl' and code_bundle is null and review_status is null)
         or (runtime in ('python', 'js') and code_bundle is not null and review_status = 'pending')));
-- Authors edit their drafts' content, never a version's runtime or review status.
drop policy if exists versions_update_own_draft on public.model_versions;
create policy versions_update_own_draft on public.model_versions for update to authenticated
    using (status = 'draft' and review_status is distinct from 'approved'
           and exists (select 1 from public.models m where m.id = model_id and m.owner_id = auth.uid()))
    with check (exists (select 1 from public.models m where m.id = model_id and m.owner_id = auth.uid())
                and ((runtime = 'dsl' and code_bundle is null) or review_status = 'pending'));
revoke update on public.model_versions from anon, authenticated;
grant update (dsl_json, input_schema, output_schema, changelog, status, code_bundle, dependencies) on public.model_versions to authenticated;

-- --------------------------------------------------------------------------------------- triggers
-- A new code version sends the model back to review unless one of its versions is approved already.
create function public.code_version_pending() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    update public.models set review_status = 'pending'
     where id = new.model_id and review_status is distinct from 'approved';
    return null;
end $$;
create trigger model_versions_code_pending after insert on public.model_versions
    for each row when (new.runtime <> 'dsl') execute function public.code_version_pending();

-- Nobody but its owner runs a code version that is not approved, whatever path inserts the run
-- (reserve_run, log_cached_run, or a function written later).
create function public.runs_code_reviewed() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    if exists (select 1 from public.model_versions v join public.models m on m.id = v.model_id
                where v.id = new.model_version_id and v.runtime <> 'dsl'
                  and v.review_status is distinct from 'approved' and m.owner_id is distinct from new.user_id) then
        raise exception 'AUSTER:not_found:model';
    end if;
    return new;
end $$;
create trigger model_runs_code_reviewed before insert on public.model_runs
    for each row execute function public.runs_code_reviewed();

-- -------------------------------------------------------------------------------------- functions
create or replace function public.model_readable(p_model_id uuid) returns boolean
language sql stable security definer set search_path = public, pg_temp as $$
    select exists (select 1 from public.models m where m.id = p_model_id
                   and ((m.visibility in ('public', 'unlisted') and public.model_shared(m.kind, m.review_status))
                        or m.owner_id = auth.uid()))
$$;

create or replace function public.get_model_by_slug(p_slug text)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'model', to_jsonb(l),
        'versions', coalesce((select jsonb_agg(to_jsonb(v) || jsonb_build_object('author_name', p.display_name) order by v.version desc)
                                from public.model_versions v left join public.profiles p on p.id = v.created_by
                              where v.model_id = l.id
                                and ((v.status = 'published' and public.model_shared(v.runtime, v.review_status))
                                     or l.owner_id = auth.uid())), '[]'::jsonb))
    from public.model_listing l
    where l.slug = p_slug
      and ((l.visibility in ('public', 'unlisted') and public.model_shared(l.kind, l.review_status)) or l.owner_id = auth.uid())
$$;

-- Fork: as before (20250101000030: the "(fork)" name, the source version remembered), and a code model's fork
-- starts pending review (the forker's copy of approved code is new code in a new model). get_model_by_slug keeps
-- 20250101000030's author names.
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
     where slug = p_source_slug
       and ((visibility in ('public', 'unlisted') and public.model_shared(kind, review_status)) or owner_id = v_uid);
    if not found then
        raise exception 'AUSTER:not_found:model';
    end if;
    if v_src.owner_id = v_uid then
        select * into v_ver from public.model_versions where id = v_src.current_version_id and model_id = v_src.id;
    else
        select * into v_ver from public.model_versions
         where model_id = v_src.id and status = 'published' and public.model_shared(runtime, review_status)
         order by version desc limit 1;
    end if;
    if not found then
        raise exception 'AUSTER:invalid:this model has no version to fork';
    end if;
    insert into public.models (slug, name, description, owner_id, lab_scope, tags, difficulty, visibility, is_template, forked_from_id,
                               forked_from_version_id, kind, review_status)
        values (p_new_slug, coalesce(nullif(btrim(p_name), ''), left(v_src.name, 113) || ' (fork)'), v_src.description, v_uid,
                v_src.lab_scope, v_src.tags, v_src.difficulty, 'private', false, v_src.id, v_ver.id, v_src.kind,
                case when v_src.kind = 'dsl' then null else 'pending' end)
        returning * into v_new;
    insert into public.model_versions (model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by,
                                       runtime, code_bundle, dependencies, review_status)
        values (v_new.id, 1, v_ver.dsl_json, v_ver.input_schema, v_ver.output_schema,
                'Forked from ' || v_src.slug || ' v' || v_ver.version, 'published', v_uid,
                v_ver.runtime, v_ver.code_bundle, v_ver.dependencies, case when v_ver.runtime = 'dsl' then null else 'pending' end)
        returning id into v_new_version;
    update public.models set current_version_id = v_new_version where id = v_new.id returning * into v_new;
    return v_new;
end $$;

-- An admin's decision on a code version: kept in model_reviews, and the version's and model's status moved.
-- p_code_sha256 is the hash of the code the admin read: a decision never covers code it did not see.
create function public.review_code_version(p_version_id uuid, p_decision text, p_note text, p_code_sha256 text)
returns public.model_reviews language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_ver public.model_versions;
    v_review public.model_reviews;
begin
    if not public.is_admin() then
        raise exception 'AUSTER:permission:Only an admin can review code models.';
    end if;
    if p_decision not in ('approved', 'rejected') then
        raise exception 'AUSTER:invalid:decide approved or rejected';
    end if;
    select * into v_ver from public.model_versions where id = p_version_id and runtime <> 'dsl' for update;
    if not found then
        raise exception 'AUSTER:not_found:version';
    end if;
    if encode(sha256(convert_to(coalesce(v_ver.code_bundle, ''), 'UTF8')), 'hex') <> p_code_sha256 then
        raise exception 'AUSTER:conflict:The code changed since you read it; read it again before deciding.';
    end if;
    insert into public.model_reviews (model_id, version_id, reviewer_id, decision, code_sha256, note)
        values (v_ver.model_id, v_ver.id, auth.uid(), p_decision, p_code_sha256, coalesce(p_note, ''))
        returning * into v_review;
    update public.model_versions set review_status = p_decision where id = v_ver.id;
    update public.models m set review_status = case
            when exists (select 1 from public.model_versions v where v.model_id = m.id and v.review_status = 'approved') then 'approved'
            else p_decision end
     where m.id = v_ver.model_id;
    return v_review;
end $$;

-- Code versions as an admin reviews them: the pending ones (p_version_id null) or one, each with its
-- model and the last approved version before it (for the diff).
create function public.code_versions_for_review(p_version_id uuid default null)
returns setof jsonb language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
    if not public.is_admin() then
        raise exception 'AUSTER:permission:Only an admin can review code models.';
    end if;
    return query
    select jsonb_build_object(
               'model', to_jsonb(m),
               'version', to_jsonb(v),
               'last_approved', (select to_jsonb(a) from public.model_versions a
                                  where a.model_id = v.model_id and a.review_status = 'approved' and a.version < v.version
                                  order by a.version desc limit 1))
      from public.model_versions v join public.models m on m.id = v.model_id
     where v.runtime <> 'dsl'
       and ((p_version_id is null and v.review_status = 'pending') or v.id = p_version_id)
     order by v.created_at, v.version;
end $$;

-- Every decision on a model the caller may read by link, newest first, with the reviewer's display name.
create function public.model_reviews_of(p_model_id uuid)
returns setof jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select to_jsonb(r) || jsonb_build_object('version', v.version, 'reviewer_name', coalesce(p.display_name, ''))
      from public.model_reviews r join public.model_versions v on v.id = r.version_id
      left join public.profiles p on p.id = r.reviewer_id
     where r.model_id = p_model_id and (public.model_readable(p_model_id) or public.is_admin())
     order by r.created_at desc, v.version desc
$$;

revoke execute on function public.is_admin(), public.model_shared(text, text), public.code_version_pending(), public.runs_code_reviewed(),
    public.review_code_version(uuid, text, text, text), public.code_versions_for_review(uuid), public.model_reviews_of(uuid)
    from public, anon, authenticated;
grant execute on function public.is_admin(), public.model_shared(text, text) to anon, authenticated, service_role;
grant execute on function public.review_code_version(uuid, text, text, text), public.code_versions_for_review(uuid) to authenticated, service_role;
grant execute on function public.model_reviews_of(uuid) to anon, authenticated, service_role;
