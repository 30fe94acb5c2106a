-- One rule for both backends (issue 16): what is readable by link is readable by link for everything
-- the app does with it. An unlisted model is readable by whoever has its link (get_model_by_slug),
-- so whoever can read it may also save it, rate it and read its ratings, exactly as the sqlite backend
-- does. Until now these policies asked RLS on models, which (rightly) hides unlisted models from
-- everyone but their owner, so a signed-in user saving or rating an unlisted model was refused with
-- 42501 and saw none of its ratings. Unlisted models and their ratings stay unlistable: the ratings
-- of a model that is not public are read through model_ratings_of(model id), never by a table scan.

-- The model exists and the caller may read it by link: public, unlisted, or their own.
create or replace function public.model_readable(p_model_id uuid) returns boolean
language sql stable security definer set search_path = public, pg_temp as $$
    select exists (select 1 from public.models m where m.id = p_model_id
                   and (m.visibility in ('public', 'unlisted') or m.owner_id = auth.uid()))
$$;

drop policy if exists saves_insert_own on public.model_saves;
create policy saves_insert_own on public.model_saves for insert to authenticated with check (
    user_id = auth.uid() and public.model_readable(model_id));

drop policy if exists ratings_insert_own on public.model_ratings;
create policy ratings_insert_own on public.model_ratings for insert to authenticated with check (
    user_id = auth.uid() and public.model_readable(model_id));
drop policy if exists ratings_update_own on public.model_ratings;
create policy ratings_update_own on public.model_ratings for update to authenticated
    using (user_id = auth.uid())
    with check (user_id = auth.uid() and public.model_readable(model_id));
-- Listable: ratings of listable models (public ones, and the caller's own), and the caller's own
-- ratings (an upsert returns the row it wrote).
drop policy if exists ratings_select on public.model_ratings;
create policy ratings_select on public.model_ratings for select to anon, authenticated using (
    user_id = auth.uid() or exists (select 1 from public.models m where m.id = model_id));

-- Every rating of a model the caller may read by link, newest first.
create function public.model_ratings_of(p_model_id uuid)
returns setof public.model_ratings language sql stable security definer set search_path = public, pg_temp as $$
    select r.* from public.model_ratings r
    where r.model_id = p_model_id and public.model_readable(p_model_id)
    order by r.updated_at desc
$$;

revoke execute on function public.model_readable(uuid), public.model_ratings_of(uuid) from public, anon, authenticated;
grant execute on function public.model_readable(uuid), public.model_ratings_of(uuid) to anon, authenticated, service_role;
