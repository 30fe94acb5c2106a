"""Benchmark of the usage dashboard's queries on PostgreSQL (issue 13): a fresh database with every Supabase
migration, filled with a million runs over 500 models and 20,000 users (90 days, popularity skewed as a
registry's is: a few models take most runs), then each dashboard query timed as PostgREST would run it.

    python bench/analytics.py [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--runs 1000000] [--repeat 30]

Prints, per query, the median and p95 of ``--repeat`` calls (target: p95 under 200 ms), and the plan's
top lines for any query over the target (``--explain`` prints every query's plan). Never a test. The database is
dropped at the end, unless ``--keep NAME`` names it: then a database of that name is filled once and kept, and a
later run with the same name reuses it, applying only the migrations added since (so a fix is measured on the
same rows as the figures before it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# bench/ off the path (bench/queue.py would shadow the standard library's queue, which psycopg imports), the repository on it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402  (after the path is set)

from tests.store.supabase_pg import apply_files, as_role, bootstrap, fresh_database, migration_files  # noqa: E402

TARGET_MS = 200.0

FILL = [
    ("users", """
        insert into auth.users (email) select 'u' || i || '@bench.example' from generate_series(1, %(users)s) i
    """),
    ("models", """
        with owners as (select id, row_number() over (order by created_at, id) as n from public.profiles)
        insert into public.models (slug, name, description, owner_id, lab_scope, tags, difficulty, visibility)
        select 'bench-model-' || i, 'Bench model ' || i, 'For the benchmark', o.id, 'econ', array['bench'], 'basic',
               case when i %% 10 = 0 then 'private' else 'public' end
          from generate_series(1, %(models)s) i join owners o on o.n = i
    """),
    ("versions", """
        insert into public.model_versions (model_id, version, dsl_json, input_schema, created_by)
        select id, 1, '{"version": "1.0", "steps": [], "outputs": {}}', '{"fields": []}', owner_id from public.models where slug like 'bench-model-%%'
    """),
    ("current versions", "update public.models m set current_version_id = v.id from public.model_versions v where v.model_id = m.id"),
    ("runs", """
        with m as (select row_number() over (order by slug) - 1 as n, id, current_version_id from public.models where slug like 'bench-model-%%'),
             u as (select row_number() over (order by id) - 1 as n, id from public.profiles),
             r as (select i, floor(%(models)s * power(random(), 3))::int as mn, floor(%(users)s * random())::int as un,
                          now() - random() * interval '90 days' as at, random() as p from generate_series(1, %(runs)s) i)
        insert into public.model_runs (model_id, model_version_id, user_id, inputs_json, inputs_hash, outputs_json, runtime_ms, status,
                                       error_message, cached, created_at, finished_at)
        select m.id, m.current_version_id, u.id,
               jsonb_build_object('start', (date '2020-01-01' + (r.i %% 7) * 180)::text, 'symbol', (array['SPY','QQQ','AAPL','MSFT','IWM'])[1 + r.i %% 5]),
               md5(r.i::text), null, 20 + 400 * power(random(), 2), case when r.p < 0.03 then 'error' else 'success' end,
               case when r.p < 0.03 then 'no data' end, r.p > 0.7, r.at, r.at + interval '1 second'
          from r join m on m.n = r.mn join u on u.n = r.un
    """),
    ("usage users", """
        insert into public.model_usage_users (model_id, date, user_id)
        select distinct model_id, (finished_at at time zone 'utc')::date, user_id from public.model_runs on conflict do nothing
    """),
    ("usage days", """
        insert into public.model_usage_daily (model_id, date, runs, unique_users, errors, cache_hits)
        select model_id, d, count(*) filter (where not cached), count(distinct user_id), count(*) filter (where status = 'error' and not cached),
               count(*) filter (where cached)
          from (select *, (finished_at at time zone 'utc')::date as d from public.model_runs) x group by model_id, d
        on conflict (model_id, date) do nothing
    """),
    ("input values", """
        insert into public.model_input_daily (model_id, date, name, value, runs)
        select r.model_id, (r.finished_at at time zone 'utc')::date, kv.key, left(kv.value, 200), count(*)
          from public.model_runs r, jsonb_each_text(r.inputs_json) kv where kv.value is not null group by 1, 2, 3, 4 on conflict do nothing
    """),
    # The lateral subqueries name the user (u.id) so that each user gets models of their own; without it they ran
    # once, and every save and rating went to the same two or three models.
    ("saves", """
        insert into public.model_saves (user_id, model_id, created_at)
        select u.id, m.id, now() - random() * interval '90 days'
          from (select id from public.profiles order by random() limit 5000) u
          cross join lateral (select id from public.models where slug like 'bench-model-%%' and u.id is not null order by random() limit 3) m
        on conflict do nothing
    """),
    ("ratings", """
        insert into public.model_ratings (user_id, model_id, rating, review, created_at, updated_at)
        select u.id, m.id, 1 + floor(random() * 5)::int, '', now() - random() * interval '90 days', now()
          from (select id from public.profiles order by random() limit 3000) u
          cross join lateral (select id from public.models where slug like 'bench-model-%%' and u.id is not null order by random() limit 2) m
        on conflict do nothing
    """),
]


LISTING = "select * from public.model_listing {order} limit 60"
POPULAR = "order by runs_30d desc nulls last, rating_count desc nulls last, created_at desc nulls last"
TOP_RATED = "order by rating_avg desc nulls last, rating_count desc nulls last, created_at desc nulls last"


def timed(conn: psycopg.Connection, user: str | None, sql: str, args: tuple, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        with as_role(conn, str(user) if user else None):
            conn.execute(sql, args).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def kept_database(admin_dsn: str, name: str) -> Iterator[str]:
    """The DSN of the database ``name``, created if missing and never dropped."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        if admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None:
            admin.execute(f'create database "{name}"')
    yield psycopg.conninfo.make_conninfo(admin_dsn, dbname=name)


def migrate(conn: psycopg.Connection) -> bool:
    """Apply the migrations this database lacks; True when it was empty (and so needs filling)."""
    conn.execute("create table if not exists public.bench_migrations (name text primary key)")
    done = {r[0] for r in conn.execute("select name from public.bench_migrations")}
    empty = not done
    if empty:
        bootstrap(conn)
    todo = [p for p in migration_files() if p.name not in done]
    if todo:
        print(f"Applying {len(todo)} migration(s): {', '.join(p.stem for p in todo[:3])}{' ...' if len(todo) > 3 else ''}")
        apply_files(conn, todo)
        conn.cursor().executemany("insert into public.bench_migrations (name) values (%s)", [(p.name,) for p in todo])
        if not empty:
            conn.execute("vacuum analyze")
    return empty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", metavar="NAME", help="fill the database NAME once, keep it, and reuse it on later runs")
    parser.add_argument("--explain", action="store_true", help="print every query's plan (EXPLAIN ANALYZE), not only the slow ones")
    args = parser.parse_args()
    sizes = {"runs": args.runs, "models": args.models, "users": args.users}
    database = kept_database(args.dsn, args.keep) if args.keep else fresh_database(args.dsn)
    with database as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        if migrate(conn):
            print(f"Filling: {args.runs:,} runs over {args.models} models and {args.users:,} users (90 days)")
            for name, sql in FILL:
                started = time.perf_counter()
                conn.execute(sql, sizes)
                print(f"  {name:<17} {time.perf_counter() - started:7.1f} s")
            conn.execute("vacuum analyze")  # as autovacuum would have by now
        else:
            print(f"Reusing the database {args.keep} ({conn.execute('select count(*) from public.model_runs').fetchone()[0]:,} runs)")
        busiest, owner = conn.execute(
            "select m.id, m.owner_id from public.models m join public.model_runs r on r.model_id = m.id group by m.id order by count(*) desc limit 1"
        ).fetchone()
        median_model, median_owner = conn.execute(
            "select id, owner_id from (select m.id, m.owner_id, count(*) as n from public.models m join public.model_runs r on r.model_id = m.id"
            " group by m.id order by n) x offset %s limit 1", (args.models // 2,)
        ).fetchone()
        counts = {m: conn.execute("select count(*) from public.model_runs where model_id = %s", (m,)).fetchone()[0] for m in (busiest, median_model)}
        queries = [
            (f"owner dashboard, busiest model ({counts[busiest]:,} runs), 30 days", owner, "select public.model_analytics(%s, 30)", (busiest,)),
            ("owner dashboard, busiest model, 90 days", owner, "select public.model_analytics(%s, 90)", (busiest,)),
            (f"owner dashboard, median model ({counts[median_model]:,} runs), 30 days", median_owner, "select public.model_analytics(%s, 30)", (median_model,)),
            # The registry's listing as store/supabase/models.py asks PostgREST for it (SORT_ORDER; nulls last).
            ("registry listing by popularity, anonymous", None, LISTING.format(order=POPULAR), ()),
            ("registry listing by popularity, signed in", median_owner, LISTING.format(order=POPULAR), ()),
            ("registry listing by rating, signed in", median_owner, LISTING.format(order=TOP_RATED), ()),
            ("registry listing, text search 'model 4', signed in", median_owner,
             LISTING.format(order="where (name ilike '%%model 4%%' or description ilike '%%model 4%%' or slug ilike '%%model 4%%') " + POPULAR), ()),
        ]
        print(f"\n{'query':<66} {'median ms':>10} {'p95 ms':>8}  (target p95 < {TARGET_MS:.0f} ms, {args.repeat} calls each)")
        for label, user, sql, qargs in queries:
            timed(conn, user, sql, qargs, 2)  # warm the cache
            samples = timed(conn, user, sql, qargs, args.repeat)
            worst = p95(samples)
            print(f"{label:<66} {statistics.median(samples):10.1f} {worst:8.1f}{'' if worst < TARGET_MS else '  OVER TARGET'}")
            if worst >= TARGET_MS or args.explain:
                with as_role(conn, str(user) if user else None):
                    plan = conn.execute("explain analyze " + sql, qargs).fetchall()
                print("    " + "\n    ".join(str(r[0]) for r in plan[: None if args.explain else 8]))


if __name__ == "__main__":
    main()
