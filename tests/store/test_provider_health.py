"""The admin page's health (issue 13): the data providers' daily event counts, added to in batches by the server, and
the failed runs per failing operation and error code; on every backend, walled to admins (tested by attack)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts.errors import PermissionDenied
from contracts.health import ProviderEventCount
from store.base import Store
from tests.store.conftest import seed_meta
from tests.store.test_conformance import RESULT, email
from tests.store.test_supabase_sql import conn, pg, world  # noqa: F401  (fixtures)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def counts(provider: str, *rows: tuple[str, str, str, int]) -> list[ProviderEventCount]:
    return [ProviderEventCount(provider, kind, today(), event, code, n) for kind, event, code, n in rows]


def test_batches_of_counts_add_up_per_provider_kind_day_event_and_code(store: Store) -> None:
    root = store.users.sign_up(email(), "password1", "Root")
    store.users.set_profile(root.email, role="admin")
    root = store.users.refresh_user(root)
    fred = f"fred-{uuid.uuid4().hex[:6]}"  # the loopback database is shared by the module's tests: a provider of our own
    store.health.record_provider_events(counts(fred, ("series", "hit", "", 40), ("series", "miss", "", 3), ("series", "error", "E_UPSTREAM_UNAVAILABLE", 1)))
    store.health.record_provider_events(counts(fred, ("series", "hit", "", 2), ("series", "stale", "E_UPSTREAM_UNAVAILABLE", 1),
                                               ("series_info", "rate_limited", "E_UPSTREAM_RATE_LIMITED", 5)))
    store.health.record_provider_events([])  # an empty flush writes nothing and does not fail

    report = store.health.admin_health(root, 30)

    mine = {(e["kind"], e["event"], e["code"]): int(e["count"]) for e in report["events"] if e["provider"] == fred}
    assert mine == {
        ("series", "hit", ""): 42, ("series", "miss", ""): 3, ("series", "error", "E_UPSTREAM_UNAVAILABLE"): 1,
        ("series", "stale", "E_UPSTREAM_UNAVAILABLE"): 1, ("series_info", "rate_limited", "E_UPSTREAM_RATE_LIMITED"): 5,
    }
    assert {str(e["date"])[:10] for e in report["events"] if e["provider"] == fred} == {today()}
    assert str(report["since"])[:10] <= today()


def test_failed_runs_keep_their_operation_and_code_and_are_counted_per_operation(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1", "Ana")
    root = store.users.sign_up(email(), "password1", "Root")
    store.users.set_profile(root.email, role="admin")
    root = store.users.refresh_user(root)
    model = store.models.create_model(ana, seed_meta(slug=f"fails-{uuid.uuid4().hex[:6]}"), "public")
    op = f"fetch_series_{uuid.uuid4().hex[:4]}"  # an operation name only this test's runs fail in
    outcomes = [
        ("error", op, "E_DATA_NOT_FOUND"), ("error", op, "E_DATA_NOT_FOUND"), ("error", op, "E_UPSTREAM_UNAVAILABLE"),
        ("success", op, "E_IGNORED"),  # a successful run keeps no failure, whatever it is given
    ]
    before = {(e["operation"], e["code"]): e["errors"] for e in store.health.admin_health(root, 30)["errors"]}
    for i, (status, operation, code) in enumerate(outcomes):
        user = store.users.sign_up(email(), "password1")  # one run each: a user may run a model 3 times a minute
        run = store.runs.reserve_run(user, model.id, model.latest.id, {"start": f"2024-01-0{i + 1}"}, f"f{i}-{uuid.uuid4().hex[:4]}")
        store.runs.finish_run(user, run, status, RESULT if status == "success" else None, 4.0, None if status == "success" else "it failed",
                              error_code=code, error_operation=operation)
    invalid = store.runs.reserve_run(ana, model.id, model.latest.id, {"start": "2024-02-01"}, f"inv-{uuid.uuid4().hex[:4]}")
    store.runs.finish_run(ana, invalid, "error", None, None, "invalid inputs", error_code="E_INPUT")  # no step failed

    errors = store.health.admin_health(root, 30)["errors"]

    by_op = {(e["operation"], e["code"]): int(e["errors"]) for e in errors if e["operation"] == op}
    assert by_op == {(op, "E_DATA_NOT_FOUND"): 2, (op, "E_UPSTREAM_UNAVAILABLE"): 1}
    no_step = next(int(e["errors"]) for e in errors if e["operation"] is None and e["code"] == "E_INPUT")
    assert no_step == before.get((None, "E_INPUT"), 0) + 1
    assert all(e["last_at"] for e in errors)
    assert [int(e["errors"]) for e in errors] == sorted((int(e["errors"]) for e in errors), reverse=True)
    assert next(r for r in store.runs.list_runs(ana, 10) if r.id == invalid).error_message == "invalid inputs"


def test_only_an_admin_reads_the_health_report(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1", "Ana")
    with pytest.raises(PermissionDenied):
        store.health.admin_health(ana, 30)


def test_the_providers_counts_are_walled_from_users_and_anon_and_written_by_the_server_alone(conn, world) -> None:  # noqa: F811
    """Attack the SQL as PostgREST would run the requests: nobody but an admin reads provider_health_daily or
    admin_health(), and nobody but the service role writes the counts, directly or through record_provider_events()."""
    import psycopg

    from tests.store.supabase_pg import as_role, as_service, create_auth_user

    provider = f"attack-{world['tag']}"
    batch = json.dumps([{"provider": provider, "kind": "series", "date": today(), "event": "hit", "code": "", "count": 7}])
    with as_service(conn):
        conn.execute("select record_provider_events(%s::jsonb)", (batch,))
    for who in (world["bob"], world["ana"], None):
        with as_role(conn, who):  # RLS: no row is theirs to read
            assert conn.execute("select count(*) from provider_health_daily").fetchone()[0] == 0
        with pytest.raises(psycopg.Error) as refused, as_role(conn, who):
            conn.execute("select admin_health(30)")
        assert isinstance(refused.value, psycopg.errors.InsufficientPrivilege) or "AUSTER:permission" in str(refused.value)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, who):
            conn.execute("select record_provider_events(%s::jsonb)", (batch,))
        for statement in (
            f"insert into provider_health_daily (provider, kind, date, event, count) values ('{provider}', 'series', current_date, 'hit', 1000)",
            f"update provider_health_daily set count = 0 where provider = '{provider}'",
            f"delete from provider_health_daily where provider = '{provider}'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, who):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, who):  # finish_run stays the server's
            conn.execute("select finish_run(%s, %s, 'error', null, 1, 'x', 'E_X', 'sub')", (world["ana"], world["run_id"]))
    root = create_auth_user(conn, f"root-{world['tag']}@example.com")
    conn.execute("update profiles set role = 'admin' where id = %s", (root,))
    with as_role(conn, root):
        assert conn.execute("select count from provider_health_daily where provider = %s", (provider,)).fetchone()[0] == 7
        (report,) = conn.execute("select admin_health(30)").fetchone()
    assert [e["count"] for e in report["events"] if e["provider"] == provider] == [7]


def test_both_schemas_accept_exactly_the_events_the_cache_reports() -> None:
    """contracts.health.PROVIDER_EVENTS is the one list; each schema's CHECK spells it."""
    import re
    from pathlib import Path

    from contracts.health import PROVIDER_EVENTS
    from store.sqlite.schema import MIGRATIONS

    sqlite_sql = dict(MIGRATIONS)[46]
    supabase_sql = (Path(__file__).parents[2] / "supabase" / "migrations" / "20250101000046_provider_health.sql").read_text()
    for sql in (sqlite_sql, supabase_sql):
        (listed,) = re.findall(r"event\s+\w+\s+NOT NULL CHECK \(event IN \(([^)]*)\)\)", sql, flags=re.IGNORECASE)
        assert tuple(v.strip().strip("'") for v in listed.split(",")) == PROVIDER_EVENTS
