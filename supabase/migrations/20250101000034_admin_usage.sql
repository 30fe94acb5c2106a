-- Issue 13: the admin page's usage over the last N days (admins only): totals (runs, cache hits, errors, active
-- users: distinct users of any model, from model_usage_users), the top models by runs with their unique users
-- and errors, and the most active users. The embedded store computes the same (store/sqlite/runs.py).

create or replace function public.admin_usage(p_days integer)
returns jsonb language plpgsql stable security definer set search_path = public, pg_temp as $$
declare
    v_since date := (now() at time zone 'utc')::date - (greatest(1, least(coalesce(p_days, 30), 366)) - 1);
begin
    if not public.is_admin(auth.uid()) then
        raise exception 'AUSTER:permission:Only an administrator can see the site''s usage.';
    end if;
    return jsonb_build_object(
        'since', v_since,
        'totals', (select jsonb_build_object('runs', coalesce(sum(runs), 0), 'cache_hits', coalesce(sum(cache_hits), 0), 'errors', coalesce(sum(errors), 0),
                                             'active_users', (select count(distinct user_id) from public.model_usage_users where date >= v_since))
                     from public.model_usage_daily where date >= v_since),
        'top_models', coalesce((select jsonb_agg(t order by (t->>'runs')::int desc, t->>'slug') from (
            select jsonb_build_object('slug', m.slug, 'name', m.name, 'runs', sum(u.runs), 'cache_hits', sum(u.cache_hits), 'errors', sum(u.errors),
                                      'user_days', sum(u.unique_users)) as t
              from public.model_usage_daily u join public.models m on m.id = u.model_id
             where u.date >= v_since group by m.id order by sum(u.runs) desc, m.slug limit 10) x), '[]'::jsonb),
        'top_users', coalesce((select jsonb_agg(t order by (t->>'days')::int desc, t->>'name') from (
            select jsonb_build_object('name', p.display_name, 'days', count(distinct uu.date), 'models', count(distinct uu.model_id)) as t
              from public.model_usage_users uu join public.profiles p on p.id = uu.user_id
             where uu.date >= v_since group by p.id order by count(distinct uu.date) desc, p.display_name limit 10) y), '[]'::jsonb));
end $$;

revoke execute on function public.admin_usage(integer) from public, anon, authenticated;
grant execute on function public.admin_usage(integer) to authenticated;
