-- The registry's listing over a million runs took about 3 s (bench/analytics.py). The plan showed why: model_listing
-- computed each model's runs_30d and ratings in correlated subqueries over model_usage_daily and model_ratings, each
-- under those tables' RLS (a check against models per row), and the planner's estimate for 450 such rows passed
-- jit_above_cost, so every listing paid about 1.8 s of JIT compilation (inlining and optimising 71 functions) for
-- about 0.2 s of work.
--
-- Now one security-definer function gives a model's figures (runs in the last 30 days from the daily rollup, the
-- average and count of its ratings) with plain index lookups and no per-row RLS, and only for a model the caller may
-- read (model_readable(): the same wall as before, since the usage and ratings of a model one can see were always
-- visible in full); its plan is cached per connection and its cost estimate is small, so nothing is JIT-compiled.
-- The view keeps its columns and its security_invoker (models' RLS still decides which rows are listed); it is made
-- again, so it now also carries the columns models gained since 20250101000005 (forked_from_version_id).

create or replace function public.model_listing_stats(p_model_id uuid, out runs_30d integer, out rating_avg double precision, out rating_count integer)
language plpgsql stable security definer set search_path = public, pg_temp as $$
begin
    runs_30d := 0;
    rating_count := 0;
    if not public.model_readable(p_model_id) then
        return;  -- nothing to tell about a model the caller cannot read
    end if;
    select coalesce(sum(u.runs), 0)::integer into runs_30d
      from public.model_usage_daily u where u.model_id = p_model_id and u.date >= current_date - 30;
    select round(avg(r.rating)::numeric, 2)::double precision, count(*)::integer into rating_avg, rating_count
      from public.model_ratings r where r.model_id = p_model_id;
end $$;

revoke execute on function public.model_listing_stats(uuid) from public, anon, authenticated;
grant execute on function public.model_listing_stats(uuid) to anon, authenticated, service_role;

drop view public.model_listing;
create view public.model_listing with (security_invoker = true) as
select m.*, s.runs_30d, s.rating_avg, s.rating_count
  from public.models m cross join lateral public.model_listing_stats(m.id) s;
grant select on public.model_listing to anon, authenticated;
