"""model_usage_daily kept exact (issue 13): distinct users per model and day, counted once whether they ran the
model or were served from the cache, with errors and cache hits beside the executed runs; on every backend."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store.base import Store
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, seed_meta
from tests.store.test_conformance import RESULT, email
from tests.store.test_supabase_sql import conn, pg, world  # noqa: F401  (fixtures)


def today_usage(store: Store, model_id: str) -> dict[str, object]:
    (row,) = [r for r in store.runs.usage(model_id, datetime.now(UTC) - timedelta(days=1)) if r["date"] == datetime.now(UTC).date().isoformat()]
    return row


def test_unique_users_are_distinct_users_of_the_day_cache_hits_included(store: Store) -> None:
    ana, bob, cleo = (store.users.sign_up(email(), "password1") for _ in range(3))
    model = store.models.create_model(ana, seed_meta(slug=f"use-{uuid.uuid4().hex[:6]}"), "public")
    key = f"h-{uuid.uuid4().hex[:6]}"
    first = store.runs.reserve_run(ana, model.id, model.latest.id, {"start": "2024-01-01"}, key)
    store.runs.finish_run(ana, first, "success", RESULT, 3.0, None)
    again = store.runs.reserve_run(ana, model.id, model.latest.id, {"start": "2024-01-02"}, f"{key}-2")
    store.runs.finish_run(ana, again, "error", None, 1.0, "no data")
    bobs = store.runs.reserve_run(bob, model.id, model.latest.id, {"start": "2024-01-03"}, f"{key}-3")
    store.runs.finish_run(bob, bobs, "success", RESULT, 2.0, None)
    store.runs.log_cached_run(bob, first, key)  # bob again, from the cache: not a new user
    store.runs.log_cached_run(cleo, first, key)  # cleo only ever hits the cache: a user all the same
    assert {k: today_usage(store, model.id)[k] for k in ("runs", "unique_users", "errors", "cache_hits")} == {
        "runs": 3, "unique_users": 3, "errors": 1, "cache_hits": 2,
    }


def test_concurrent_first_runs_of_many_users_each_count_once(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    store.models.load_seeds([seed_meta()])
    model = store.models.get_model("spread-10y-2y", None)
    users = [store.users.guest() for _ in range(8)]
    runs = [store.runs.reserve_run(u, model.id, model.latest.id, {}, f"h{i}") for i, u in enumerate(users) for _ in range(2)][:16]
    owners = [u for u in users for _ in range(2)]

    def finish(index: int) -> None:
        store.runs.finish_run(owners[index], runs[index], "success", RESULT, 1.0, None)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(len(runs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    usage = today_usage(store, model.id)
    assert (usage["runs"], usage["unique_users"]) == (16, 8)
    store.close()


def test_the_owner_sees_the_models_usage_and_nobody_else_does(store: Store) -> None:
    import pytest

    from contracts.errors import AuthRequired, PermissionDenied

    ana, bob, root = (store.users.sign_up(email(), "password1") for _ in range(3))
    store.users.set_profile(root.email, role="admin")
    model = store.models.create_model(ana, seed_meta(slug=f"dash-{uuid.uuid4().hex[:6]}"), "public")
    for i, (user, start, runtime) in enumerate([(ana, "2024-01-01", 10.0), (bob, "2024-01-01", 20.0), (bob, "2023-06-01", 40.0)]):
        run = store.runs.reserve_run(user, model.id, model.latest.id, {"start": start, "end": "2024-12-31"}, f"k{i}-{uuid.uuid4().hex[:4]}")
        store.runs.finish_run(user, run, "success", RESULT, runtime, None)
    store.social.save(bob, model.id)
    store.social.rate(bob, model.id, 4, "")
    store.models.fork_model(bob, model.slug, f"dash-fork-{uuid.uuid4().hex[:6]}", None)
    for viewer in (ana, root):
        board = store.runs.model_analytics(viewer, model.id, 30)
        (day,) = board["daily"]
        assert (day["runs"], day["unique_users"], day["errors"], day["cache_hits"]) == (3, 2, 0, 0)
        assert (board["runtime"]["p50"], board["runtime"]["p95"], board["runtime"]["n"]) == (20.0, 38.0, 3)
        assert [(r["name"], r["value"], r["runs"]) for r in board["top_inputs"]][:2] == [("end", "2024-12-31", 3), ("start", "2024-01-01", 2)]
        assert [s["count"] for s in board["saves"]] == [1] and [f["count"] for f in board["forks"]] == [1]
        assert [(r["count"], r["average"]) for r in board["ratings"]] == [(1, 4.0)]
    with pytest.raises(PermissionDenied, match="Only the model's owner"):
        store.runs.model_analytics(bob, model.id, 30)
    with pytest.raises((PermissionDenied, AuthRequired, AttributeError)):
        store.runs.model_analytics(None, model.id, 30)  # type: ignore[arg-type]


def test_usage_tables_and_the_dashboard_are_walled_from_another_user_and_anon(conn, world) -> None:  # noqa: F811
    """Attack the SQL as PostgREST would run the requests: the per-user usage rows are the server's alone, and
    model_analytics() answers only the owner."""
    import psycopg
    import pytest

    from tests.store.supabase_pg import as_role

    for who in (world["bob"], None):
        for table in ("model_usage_users", "model_input_daily"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, who):
                conn.execute(f"select * from {table}")
        with pytest.raises(psycopg.Error) as refused, as_role(conn, who):
            conn.execute("select model_analytics(%s, 30)", (world["private_id"],))
        assert isinstance(refused.value, psycopg.errors.InsufficientPrivilege) or "AUSTER:permission" in str(refused.value)
    with as_role(conn, world["ana"]):
        (board,) = conn.execute("select model_analytics(%s, 30)", (world["private_id"],)).fetchone()
    assert board["daily"][0]["runs"] == 1 and board["daily"][0]["unique_users"] == 1 and board["runtime"]["n"] == 1


def test_an_admin_sees_the_sites_usage_and_nobody_else_does(store: Store) -> None:
    import pytest

    from contracts.errors import PermissionDenied

    ana, bob, root = (store.users.sign_up(email(), "password1", n) for n in ("Ana", "Bob", "Root"))
    store.users.set_profile(root.email, role="admin")
    model = store.models.create_model(ana, seed_meta(slug=f"site-{uuid.uuid4().hex[:6]}"), "public")
    for i, user in enumerate((ana, bob, bob)):
        run = store.runs.reserve_run(user, model.id, model.latest.id, {"start": f"2024-01-0{i + 1}"}, f"s{i}-{uuid.uuid4().hex[:4]}")
        store.runs.finish_run(user, run, "error" if i == 2 else "success", RESULT if i < 2 else None, 5.0, None if i < 2 else "no data")
    site = store.runs.admin_usage(root, 30)
    assert site["totals"]["runs"] >= 3 and site["totals"]["errors"] >= 1 and site["totals"]["active_users"] >= 2
    top = next(m for m in site["top_models"] if m["slug"] == model.slug)
    assert (top["runs"], top["errors"], top["user_days"]) == (3, 1, 2)
    assert {"Ana", "Bob"} <= {u["name"] for u in site["top_users"]}
    with pytest.raises(PermissionDenied):
        store.runs.admin_usage(ana, 30)


def test_the_sites_usage_is_walled_from_users_and_anon(conn, world) -> None:  # noqa: F811
    import psycopg
    import pytest

    from tests.store.supabase_pg import as_role

    for who in (world["bob"], world["ana"], None):
        with pytest.raises(psycopg.Error) as refused, as_role(conn, who):
            conn.execute("select admin_usage(30)")
        assert isinstance(refused.value, psycopg.errors.InsufficientPrivilege) or "AUSTER:permission" in str(refused.value)



def test_a_run_with_an_input_left_empty_is_recorded_with_its_usage(store: Store) -> None:
    """Regression (found by the 800 px journey): an input left empty (JSON null, e.g. a spot price) is no input
    value, and must not stop the run, or a cache hit of it, being recorded."""
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    model = store.models.create_model(ana, seed_meta(slug=f"null-{uuid.uuid4().hex[:6]}"), "public")
    key = f"n-{uuid.uuid4().hex[:6]}"
    run = store.runs.reserve_run(ana, model.id, model.latest.id, {"start": "2024-01-01", "end": None}, key)
    store.runs.finish_run(ana, run, "success", RESULT, 4.0, None)
    store.runs.log_cached_run(bob, run, key)
    board = store.runs.model_analytics(ana, model.id, 30)
    assert [(r["name"], r["value"], r["runs"]) for r in board["top_inputs"]] == [("start", "2024-01-01", 2)]
