-- The queue's sweep (issue 15; this branch's numbers are 45-49). A recorded run whose queue job was lost (Redis
-- restarted without its data) used to be failed only when its owner's page read its status or its owner submitted
-- again; a run nobody came back to stayed 'pending' for ever and the usage figures counted it as pending. Workers
-- (and the app's embedded queue) now sweep: they list the queued runs still pending past a threshold, across users,
-- ask the queue about each, and fail those it no longer knows through finish_run (which finishes a run only while it
-- is pending, so a run that finishes meanwhile is never overwritten).
--
--   * model_runs.queued says that a run was recorded for the queue, so the sweep leaves alone a run the app is
--     executing in place (it is pending too, and no queue knows it);
--   * reserve_queued_run() is reserve_run() marking the run queued in the same transaction;
--   * pending_queued_runs() lists them across users: the server's alone (service_role), never a user's JWT.
-- The embedded store's migration 45 does the same; tests/store/test_queue_sweep.py checks both backends.

alter table public.model_runs add column if not exists queued boolean not null default false;
create index if not exists model_runs_queued_pending_idx on public.model_runs (created_at) where status = 'pending' and queued;

create or replace function public.reserve_queued_run(p_user_id uuid, p_model_id uuid, p_model_version_id uuid, p_inputs_json jsonb,
                                                     p_inputs_hash text, p_stale_after_s double precision default 3600)
returns uuid language plpgsql security definer set search_path = public, pg_temp as $$
declare
    v_id uuid;
begin
    v_id := public.reserve_run(p_user_id, p_model_id, p_model_version_id, p_inputs_json, p_inputs_hash, p_stale_after_s);
    update public.model_runs set queued = true where id = v_id;
    return v_id;
end $$;

-- Queued runs of every user still pending and recorded more than p_older_than_s seconds ago, oldest first.
create or replace function public.pending_queued_runs(p_older_than_s double precision, p_limit integer default 100)
returns setof public.model_runs language sql stable security definer set search_path = public, pg_temp as $$
    select * from public.model_runs
     where status = 'pending' and queued
       and created_at < now() - make_interval(secs => greatest(coalesce(p_older_than_s, 0), 0))
     order by created_at
     limit least(greatest(coalesce(p_limit, 100), 1), 1000)
$$;

-- Functions get Supabase's default grants when created: both are the server's alone.
revoke execute on function public.reserve_queued_run(uuid, uuid, uuid, jsonb, text, double precision),
    public.pending_queued_runs(double precision, integer)
    from public, anon, authenticated;
grant execute on function public.reserve_queued_run(uuid, uuid, uuid, jsonb, text, double precision),
    public.pending_queued_runs(double precision, integer)
    to service_role;
