-- Row-level security on every table. Supabase grants anon/authenticated broad table privileges by
-- default, so these policies are the real barrier; writes that must be atomic or trusted (runs,
-- usage, artifacts, forks) have no write policy at all and go through the SECURITY DEFINER functions
-- of the next migration.

alter table public.profiles enable row level security;
alter table public.models enable row level security;
alter table public.model_versions enable row level security;
alter table public.model_runs enable row level security;
alter table public.model_usage_daily enable row level security;
alter table public.model_saves enable row level security;
alter table public.model_ratings enable row level security;
alter table public.published_artifacts enable row level security;
alter table public.model_comments enable row level security;

-- profiles: your own row only; only display_name is yours to change (tier and role are the admin's).
drop policy if exists profiles_select_own on public.profiles;
create policy profiles_select_own on public.profiles for select to authenticated using (id = auth.uid());
drop policy if exists profiles_update_own on public.profiles;
create policy profiles_update_own on public.profiles for update to authenticated using (id = auth.uid()) with check (id = auth.uid());
revoke insert, update, delete, truncate on public.profiles from anon, authenticated;
grant update (display_name) on public.profiles to authenticated;

-- models: public ones are listable by anyone; private and unlisted ones only by their author
-- (unlisted ones are readable by slug through get_model_by_slug()).
drop policy if exists models_select on public.models;
create policy models_select on public.models for select to anon, authenticated
    using (visibility = 'public' or author_id = auth.uid());
drop policy if exists models_insert_own on public.models;
create policy models_insert_own on public.models for insert to authenticated
    with check (author_id = auth.uid() and kind = 'dsl' and review_status is null);
drop policy if exists models_update_own on public.models;
create policy models_update_own on public.models for update to authenticated
    using (author_id = auth.uid()) with check (author_id = auth.uid());
-- authors change what a model says, never who wrote it, what it forked or its review status.
revoke update on public.models from anon, authenticated;
grant update (name, description, lab_scope, tags, difficulty, visibility, current_version_id, updated_at) on public.models to authenticated;
drop policy if exists models_delete_own on public.models;
create policy models_delete_own on public.models for delete to authenticated using (author_id = auth.uid());

-- model_versions: published versions of public models; drafts and private models' versions only for the author.
drop policy if exists versions_select on public.model_versions;
create policy versions_select on public.model_versions for select to anon, authenticated using (
    exists (select 1 from public.models m where m.id = model_id
            and ((m.visibility = 'public' and status = 'published') or m.author_id = auth.uid())));
drop policy if exists versions_insert_own on public.model_versions;
create policy versions_insert_own on public.model_versions for insert to authenticated with check (
    created_by = auth.uid() and exists (select 1 from public.models m where m.id = model_id and m.author_id = auth.uid()));
drop policy if exists versions_update_own_draft on public.model_versions;
create policy versions_update_own_draft on public.model_versions for update to authenticated
    using (status = 'draft' and exists (select 1 from public.models m where m.id = model_id and m.author_id = auth.uid()))
    with check (exists (select 1 from public.models m where m.id = model_id and m.author_id = auth.uid()));
drop policy if exists versions_delete_own_draft on public.model_versions;
create policy versions_delete_own_draft on public.model_versions for delete to authenticated
    using (status = 'draft' and exists (select 1 from public.models m where m.id = model_id and m.author_id = auth.uid()));

-- model_runs: your own runs; written only by reserve_run / finish_run / log_cached_run.
drop policy if exists runs_select_own on public.model_runs;
create policy runs_select_own on public.model_runs for select to authenticated using (user_id = auth.uid());
revoke insert, update, delete, truncate on public.model_runs from anon, authenticated;

-- model_usage_daily: aggregate counts of models you can see; written only by finish_run.
drop policy if exists usage_select on public.model_usage_daily;
create policy usage_select on public.model_usage_daily for select to anon, authenticated using (
    exists (select 1 from public.models m where m.id = model_id));
revoke insert, update, delete, truncate on public.model_usage_daily from anon, authenticated;

-- model_saves: yours only.
drop policy if exists saves_select_own on public.model_saves;
create policy saves_select_own on public.model_saves for select to authenticated using (user_id = auth.uid());
drop policy if exists saves_insert_own on public.model_saves;
create policy saves_insert_own on public.model_saves for insert to authenticated with check (
    user_id = auth.uid() and exists (select 1 from public.models m where m.id = model_id));
drop policy if exists saves_delete_own on public.model_saves;
create policy saves_delete_own on public.model_saves for delete to authenticated using (user_id = auth.uid());

-- model_ratings: reviews of visible models are public; you write only your own (one per model: primary key).
drop policy if exists ratings_select on public.model_ratings;
create policy ratings_select on public.model_ratings for select to anon, authenticated using (
    exists (select 1 from public.models m where m.id = model_id));
drop policy if exists ratings_insert_own on public.model_ratings;
create policy ratings_insert_own on public.model_ratings for insert to authenticated with check (
    user_id = auth.uid() and exists (select 1 from public.models m where m.id = model_id));
drop policy if exists ratings_update_own on public.model_ratings;
create policy ratings_update_own on public.model_ratings for update to authenticated
    using (user_id = auth.uid()) with check (user_id = auth.uid());
drop policy if exists ratings_delete_own on public.model_ratings;
create policy ratings_delete_own on public.model_ratings for delete to authenticated using (user_id = auth.uid());

-- published_artifacts: public ones are listable; unlisted ones only through get_artifact_by_slug().
drop policy if exists artifacts_select on public.published_artifacts;
create policy artifacts_select on public.published_artifacts for select to anon, authenticated
    using (visibility = 'public' or created_by = auth.uid());
drop policy if exists artifacts_delete_own on public.published_artifacts;
create policy artifacts_delete_own on public.published_artifacts for delete to authenticated using (created_by = auth.uid());
revoke insert, update, truncate on public.published_artifacts from anon, authenticated;

-- model_comments (phase 2): readable on visible models; you write and delete your own.
drop policy if exists comments_select on public.model_comments;
create policy comments_select on public.model_comments for select to anon, authenticated using (
    exists (select 1 from public.models m where m.id = model_id));
drop policy if exists comments_insert_own on public.model_comments;
create policy comments_insert_own on public.model_comments for insert to authenticated with check (
    user_id = auth.uid() and exists (select 1 from public.models m where m.id = model_id));
drop policy if exists comments_delete_own on public.model_comments;
create policy comments_delete_own on public.model_comments for delete to authenticated using (user_id = auth.uid());
