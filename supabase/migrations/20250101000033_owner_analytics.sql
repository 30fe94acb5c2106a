-- Issue 13: a model's usage for its owner (and admins), in one call: runs, unique users, errors and cache hits
-- per day (model_usage_daily), runtime p50 and p95 of executed successful runs, the most used input values,
-- and saves, forks and ratings per day. SECURITY DEFINER with its own wall: only the model's owner or an
-- admin gets an answer; anyone else is refused, anon included. The embedded store computes the same
-- (store/sqlite/runs.py: model_analytics). bench/analytics.py measures it over a million runs.

create or replace function public.model_analytics(p_model_id uuid, p_days integer)
returns jsonb language plpgsql stable security definer set search_path = public, pg_temp as $$
declare
    v_uid uuid := auth.uid();
    v_since date := (now() at time zone 'utc')::date - (greatest(1, least(coalesce(p_days, 30), 366)) - 1);
    v_from timestamptz := v_since::timestamp at time zone 'utc';
begin
    if v_uid is null then
        raise exception 'AUSTER:auth_required:see a model''s usage';
    end if;
    if not exists (select 1 from public.models where id = p_model_id and owner_id = v_uid) and not public.is_admin(v_uid) then
        raise exception 'AUSTER:permission:Only the model''s owner (or an administrator) can see its usage.';
    end if;
    return jsonb_build_object(
        'since', v_since,
        'daily', coalesce((select jsonb_agg(jsonb_build_object('date', u.date, 'runs', u.runs, 'unique_users', u.unique_users,
                                                               'errors', u.errors, 'cache_hits', u.cache_hits) order by u.date)
                             from public.model_usage_daily u where u.model_id = p_model_id and u.date >= v_since), '[]'::jsonb),
        'runtime', (select jsonb_build_object('p50', percentile_cont(0.5) within group (order by r.runtime_ms),
                                              'p95', percentile_cont(0.95) within group (order by r.runtime_ms), 'n', count(*))
                      from public.model_runs r
                     where r.model_id = p_model_id and r.created_at >= v_from and not r.cached and r.status = 'success'
                       and r.runtime_ms is not null),
        'top_inputs', coalesce((select jsonb_agg(jsonb_build_object('name', t.name, 'value', t.value, 'runs', t.n) order by t.n desc, t.name, t.value)
                                  from (select d.name, d.value, sum(d.runs)::integer as n from public.model_input_daily d
                                         where d.model_id = p_model_id and d.date >= v_since
                                         group by d.name, d.value order by sum(d.runs) desc, d.name, d.value limit 20) t), '[]'::jsonb),
        'saves', coalesce((select jsonb_agg(jsonb_build_object('date', d, 'count', n) order by d)
                             from (select (s.created_at at time zone 'utc')::date as d, count(*) as n from public.model_saves s
                                    where s.model_id = p_model_id and s.created_at >= v_from group by 1) x), '[]'::jsonb),
        'forks', coalesce((select jsonb_agg(jsonb_build_object('date', d, 'count', n) order by d)
                             from (select (f.created_at at time zone 'utc')::date as d, count(*) as n from public.models f
                                    where f.forked_from_id = p_model_id and f.created_at >= v_from group by 1) x), '[]'::jsonb),
        'ratings', coalesce((select jsonb_agg(jsonb_build_object('date', d, 'count', n, 'average', a) order by d)
                               from (select (r.created_at at time zone 'utc')::date as d, count(*) as n, round(avg(r.rating)::numeric, 2)::float as a
                                       from public.model_ratings r where r.model_id = p_model_id and r.created_at >= v_from group by 1) x), '[]'::jsonb));
end $$;

revoke execute on function public.model_analytics(uuid, integer) from public, anon, authenticated;
grant execute on function public.model_analytics(uuid, integer) to authenticated;
