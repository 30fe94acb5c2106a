-- Issue 13: discussions. Threaded comments on models and on artifacts, visible exactly to those who can
-- see the model or artifact (an unlisted one by its link), written, edited and deleted by their authors,
-- hidden by admins, reported to admins, at most 10 per user in 10 minutes (contracts/rules.py, checked
-- by tests/contracts/test_rules_parity.py). The embedded store's migration 31 makes the same tables.
--
-- model_comments keeps its model_id (a comment on an artifact carries the artifact's model too) and gains
-- artifact_id (a comment on an artifact), parent_id (a reply), edited_at, hidden_at/hidden_by (an admin's
-- decision) and deleted_at (its author's: the text is erased, the place in the thread kept for replies).
-- Every read and write goes through the SECURITY DEFINER functions below: they check visibility by slug
-- (as get_model_by_slug does), mask hidden and deleted text, and apply the limits. The tables have RLS
-- and no policy and no grant for anon or authenticated, so nothing reaches them directly.

alter table public.model_comments add column if not exists artifact_id uuid references public.published_artifacts (id) on delete cascade;
alter table public.model_comments add column if not exists parent_id uuid references public.model_comments (id) on delete cascade;
alter table public.model_comments add column if not exists edited_at timestamptz;
alter table public.model_comments add column if not exists hidden_at timestamptz;
alter table public.model_comments add column if not exists hidden_by uuid references public.profiles (id) on delete set null;
alter table public.model_comments add column if not exists deleted_at timestamptz;
create index if not exists model_comments_artifact_idx on public.model_comments (artifact_id, created_at) where artifact_id is not null;
create index if not exists model_comments_user_created_idx on public.model_comments (user_id, created_at desc);

create table if not exists public.comment_reports (
    id          uuid primary key default gen_random_uuid(),
    comment_id  uuid not null references public.model_comments (id) on delete cascade,
    reporter_id uuid not null references public.profiles (id) on delete cascade,
    reason      text not null check (char_length(reason) between 1 and 500),
    created_at  timestamptz not null default now(),
    unique (comment_id, reporter_id)
);
create index if not exists comment_reports_created_idx on public.comment_reports (created_at desc);

alter table public.comment_reports enable row level security;
drop policy if exists comments_select on public.model_comments;
drop policy if exists comments_insert_own on public.model_comments;
drop policy if exists comments_delete_own on public.model_comments;
revoke all on public.model_comments, public.comment_reports from anon, authenticated;

-- The thread a comment belongs to: ('model', model id) or ('artifact', artifact id), when the caller may see it.
create or replace function public.comment_target(p_target text, p_slug text, p_uid uuid)
returns table (model_id uuid, artifact_id uuid) language sql stable security definer set search_path = public, pg_temp as $$
    select m.id, null::uuid from public.models m
     where p_target = 'model' and m.slug = p_slug and (m.visibility in ('public', 'unlisted') or m.owner_id = p_uid)
    union all
    select a.model_id, a.id from public.published_artifacts a
     where p_target = 'artifact' and a.slug = p_slug
$$;

create or replace function public.comment_json(c public.model_comments, p_uid uuid, p_admin boolean)
returns jsonb language sql stable security definer set search_path = public, pg_temp as $$
    select jsonb_build_object(
        'id', c.id, 'model_id', c.model_id, 'artifact_id', c.artifact_id, 'parent_id', c.parent_id, 'user_id', c.user_id,
        'author_name', (select p.display_name from public.profiles p where p.id = c.user_id),
        'body', case when c.deleted_at is not null then '' when c.hidden_at is not null and not p_admin then '' else c.body end,
        'created_at', c.created_at, 'edited_at', c.edited_at,
        'hidden', c.hidden_at is not null, 'deleted', c.deleted_at is not null,
        'reports', case when p_admin then (select count(*) from public.comment_reports r where r.comment_id = c.id) else 0 end)
$$;

create or replace function public.is_admin(p_uid uuid)
returns boolean language sql stable security definer set search_path = public, pg_temp as $$
    select coalesce((select role = 'admin' from public.profiles where id = p_uid), false)
$$;

create or replace function public.list_comments(p_target text, p_slug text)
returns jsonb language plpgsql stable security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_model uuid;
    v_artifact uuid;
    v_admin boolean := public.is_admin(auth.uid());
begin
    select t.model_id, t.artifact_id into v_model, v_artifact from public.comment_target(p_target, p_slug, v_uid) t;
    if v_model is null then
        raise exception 'AUSTER:not_found:%', p_target;
    end if;
    return coalesce((select jsonb_agg(public.comment_json(c, v_uid, v_admin) order by c.created_at, c.id)
                       from public.model_comments c
                      where c.model_id = v_model and c.artifact_id is not distinct from v_artifact), '[]'::jsonb);
end $$;

create or replace function public.post_comment(p_target text, p_slug text, p_parent_id uuid, p_body text)
returns jsonb language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_model uuid;
    v_artifact uuid;
    v_body text := btrim(coalesce(p_body, ''));
    v_oldest timestamptz;
    v_new public.model_comments;
    p_limit constant integer := 10;     -- contracts.rules.COMMENTS_PER_WINDOW
    p_window_s constant integer := 600;  -- contracts.rules.COMMENT_WINDOW_S
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:comment';
    end if;
    select t.model_id, t.artifact_id into v_model, v_artifact from public.comment_target(p_target, p_slug, v_uid) t;
    if v_model is null then
        raise exception 'AUSTER:not_found:%', p_target;
    end if;
    if char_length(v_body) < 1 or char_length(v_body) > 4000 then
        raise exception 'AUSTER:invalid:a comment has 1 to 4000 characters';
    end if;
    if p_parent_id is not null and not exists (
        select 1 from public.model_comments c where c.id = p_parent_id and c.model_id = v_model and c.artifact_id is not distinct from v_artifact) then
        raise exception 'AUSTER:not_found:comment to reply to';
    end if;
    perform 1 from public.profiles where id = v_uid for update;  -- one post at a time per user, so the count holds
    select min(created_at) into v_oldest from (
        select created_at from public.model_comments where user_id = v_uid and created_at > now() - make_interval(secs => p_window_s)
         order by created_at desc limit p_limit) recent
     having count(*) >= p_limit;
    if v_oldest is not null then
        raise exception 'AUSTER:rate_limit_comments:%:%', p_limit, to_char((v_oldest + make_interval(secs => p_window_s)) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS');
    end if;
    insert into public.model_comments (model_id, artifact_id, parent_id, user_id, body)
        values (v_model, v_artifact, p_parent_id, v_uid, v_body) returning * into v_new;
    return public.comment_json(v_new, v_uid, public.is_admin(v_uid));
end $$;

create or replace function public.edit_comment(p_id uuid, p_body text)
returns jsonb language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_body text := btrim(coalesce(p_body, ''));
    v_row public.model_comments;
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:edit a comment';
    end if;
    if char_length(v_body) < 1 or char_length(v_body) > 4000 then
        raise exception 'AUSTER:invalid:a comment has 1 to 4000 characters';
    end if;
    update public.model_comments set body = v_body, edited_at = now()
     where id = p_id and user_id = v_uid and deleted_at is null and hidden_at is null returning * into v_row;
    if not found then
        raise exception 'AUSTER:permission:You can edit only your own comments, and not once they are deleted or hidden.';
    end if;
    return public.comment_json(v_row, v_uid, public.is_admin(v_uid));
end $$;

create or replace function public.delete_comment(p_id uuid)
returns void language plpgsql security definer set search_path = public, pg_temp as $$
begin
    if auth.uid() is null then
        raise exception 'AUSTER:auth_required:delete a comment';
    end if;
    update public.model_comments set body = '[deleted]', deleted_at = now()
     where id = p_id and user_id = auth.uid() and deleted_at is null;
    if not found then
        raise exception 'AUSTER:permission:You can delete only your own comments.';
    end if;
end $$;

create or replace function public.hide_comment(p_id uuid, p_hidden boolean)
returns void language plpgsql security definer set search_path = public, pg_temp as $$
begin
    if not public.is_admin(auth.uid()) then
        raise exception 'AUSTER:permission:Only an administrator can hide a comment.';
    end if;
    update public.model_comments
       set hidden_at = case when p_hidden then coalesce(hidden_at, now()) end, hidden_by = case when p_hidden then auth.uid() end
     where id = p_id;
    if not found then
        raise exception 'AUSTER:not_found:comment';
    end if;
end $$;

create or replace function public.report_comment(p_id uuid, p_reason text)
returns void language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_reason text := btrim(coalesce(p_reason, ''));
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:report a comment';
    end if;
    if char_length(v_reason) < 1 or char_length(v_reason) > 500 then
        raise exception 'AUSTER:invalid:say in 1 to 500 characters what is wrong with the comment';
    end if;
    if not exists (
        select 1 from public.model_comments c
         where c.id = p_id and c.deleted_at is null
           and (c.artifact_id is not null
                or exists (select 1 from public.models m where m.id = c.model_id and (m.visibility in ('public', 'unlisted') or m.owner_id = v_uid)))) then
        raise exception 'AUSTER:not_found:comment';
    end if;
    insert into public.comment_reports (comment_id, reporter_id, reason) values (p_id, v_uid, v_reason)
        on conflict (comment_id, reporter_id) do update set reason = excluded.reason, created_at = now();
end $$;

create or replace function public.comment_reports_for_admin(p_limit integer)
returns jsonb language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
    if not public.is_admin(auth.uid()) then
        raise exception 'AUSTER:permission:Only an administrator can read reports.';
    end if;
    return coalesce((select jsonb_agg(x order by x->>'created_at' desc) from (
        select jsonb_build_object('id', r.id, 'comment_id', r.comment_id, 'reason', r.reason, 'created_at', r.created_at,
                                  'reporter_name', (select p.display_name from public.profiles p where p.id = r.reporter_id),
                                  'comment', public.comment_json(c, auth.uid(), true),
                                  'target', case when c.artifact_id is null then 'model' else 'artifact' end,
                                  'slug', coalesce((select a.slug from public.published_artifacts a where a.id = c.artifact_id),
                                                   (select m.slug from public.models m where m.id = c.model_id))) as x
          from public.comment_reports r join public.model_comments c on c.id = r.comment_id
         order by r.created_at desc limit greatest(1, least(coalesce(p_limit, 100), 500))) rows), '[]'::jsonb);
end $$;

revoke execute on function public.comment_target(text, text, uuid), public.comment_json(public.model_comments, uuid, boolean),
    public.is_admin(uuid), public.list_comments(text, text), public.post_comment(text, text, uuid, text),
    public.edit_comment(uuid, text), public.delete_comment(uuid), public.hide_comment(uuid, boolean),
    public.report_comment(uuid, text), public.comment_reports_for_admin(integer) from public, anon, authenticated;
grant execute on function public.list_comments(text, text) to anon, authenticated;
grant execute on function public.post_comment(text, text, uuid, text), public.edit_comment(uuid, text),
    public.delete_comment(uuid), public.hide_comment(uuid, boolean), public.report_comment(uuid, text),
    public.comment_reports_for_admin(integer) to authenticated;
