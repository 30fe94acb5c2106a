-- A user's runs say whether they were recorded for the queue (issue 15). The owner's status read and next submission
-- fail as lost (QUEUE_LOST) a pending run the queue no longer knows; only a run recorded for the queue can be lost
-- that way. A run the app executes in place is pending too and no queue knows it, so without model_runs.queued
-- (20250101000045) in what my_runs() returns, a slow in-place run was failed as lost when its owner submitted again.
--
-- my_runs() returns one more column, queued, last; everything else is as in 20250101000005: the same rows, the
-- same definer rights and search_path, and the same grants (authenticated and the server's service_role only).
-- A function's result type cannot be changed in place, so it is dropped and created again; nothing in the schema
-- calls it. The embedded store reads model_runs.queued already (migration 45), so it needs no migration.

drop function public.my_runs(uuid, integer);

-- The caller's runs (one when p_run_id is given, else the newest p_limit), each with its outputs
-- resolved through the run a cache hit reuses, which the caller's RLS would not let them read.
create function public.my_runs(p_run_id uuid, p_limit integer)
returns table (id uuid, model_id uuid, model_version_id uuid, user_id uuid, inputs_json jsonb, inputs_hash text,
               outputs_json jsonb, runtime_ms double precision, status text, error_message text, cached boolean,
               cached_from_run_id uuid, created_at timestamptz, finished_at timestamptz, model_slug text, queued boolean)
language sql stable security definer set search_path = public, pg_temp as $$
    select r.id, r.model_id, r.model_version_id, r.user_id, r.inputs_json, r.inputs_hash,
           coalesce(r.outputs_json, src.outputs_json), r.runtime_ms, r.status, r.error_message, r.cached,
           r.cached_from_run_id, r.created_at, r.finished_at, m.slug, r.queued
    from public.model_runs r
    join public.models m on m.id = r.model_id
    left join public.model_runs src on src.id = r.cached_from_run_id
    where r.user_id = auth.uid() and (p_run_id is null or r.id = p_run_id)
    order by r.created_at desc
    limit greatest(1, least(coalesce(p_limit, 50), 200))
$$;

-- A new function gets Supabase's default grants: back to signed-in users (and the server) only, as before.
revoke execute on function public.my_runs(uuid, integer) from public, anon, authenticated;
grant execute on function public.my_runs(uuid, integer) to authenticated, service_role;
