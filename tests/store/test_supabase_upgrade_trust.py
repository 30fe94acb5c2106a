"""A Supabase project on the migrations up to 20250101000005 upgrades in place to the server-written
runs of issue 9 (20250101000006 and later) with nothing lost.

The previous schema is filled the way the previous app filled it: templates by the service role,
runs reserved and finished by users with their own JWTs through the previous functions, a cache hit,
a published artifact with views, saves and ratings, and a user model that took a template's slug.
Then the new files are applied.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.store.conftest import SPREAD_SEED
from tests.store.supabase_pg import apply_files, as_role, as_service, bootstrap, create_auth_user, fresh_database, migration_files

pytestmark = pytest.mark.services

LAST_PREVIOUS = "20250101000005_seed_schema.sql"
RESULT = {"outputs": {"series": [{"id": "spread", "points": [[1, 2.5]]}], "tables": [], "metrics": []}, "trace": [], "provenance": [{"provider": "sample"}]}
TABLES = ("profiles", "models", "model_versions", "model_runs", "model_usage_daily", "model_saves", "model_ratings", "published_artifacts", "model_comments")


def split_migrations() -> tuple[list[Path], list[Path]]:
    files = migration_files()
    cut = [p.name for p in files].index(LAST_PREVIOUS) + 1
    return files[:cut], files[cut:]


def fill_previous(conn: psycopg.Connection) -> dict[str, str]:
    ids: dict[str, str] = {}
    ids["ana"] = create_auth_user(conn, f"ana-{uuid.uuid4().hex[:6]}@example.com")
    ids["bob"] = create_auth_user(conn, None, anonymous=True)
    ids["template"] = str(conn.execute(
        "insert into models (slug, name, description, lab_scope, tags, difficulty, visibility, is_template)"
        " values ('spread-10y-2y', 'Spread', 'The slope', 'econ', '{rates}', 'basic', 'public', true) returning id"
    ).fetchone()[0])
    ids["tv1"] = str(conn.execute(
        "insert into model_versions (model_id, version, dsl_json, input_schema, changelog) values (%s, 1, %s, %s, 'Template') returning id",
        (ids["template"], json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"])),
    ).fetchone()[0])
    conn.execute("update models set current_version_id = %s where id = %s", (ids["tv1"], ids["template"]))
    with as_role(conn, ids["ana"]):
        ids["recent"] = str(conn.execute(
            "select reserve_run(p_model_id => %s, p_model_version_id => %s, p_inputs_json => %s, p_inputs_hash => 'h-recent')",
            (ids["template"], ids["tv1"], json.dumps({"start": "2024-01-01"})),
        ).fetchone()[0])
        conn.execute("select finish_run(p_run_id => %s, p_status => 'success', p_outputs_json => %s, p_runtime_ms => 4, p_error_message => null)",
                     (ids["recent"], json.dumps(RESULT)))
        ids["old"] = str(conn.execute("select reserve_run(%s, %s, '{}', 'h-old')", (ids["template"], ids["tv1"])).fetchone()[0])
        conn.execute("select finish_run(%s, 'success', %s, 3, null)", (ids["old"], json.dumps(RESULT)))
        ids["failed"] = str(conn.execute("select reserve_run(%s, %s, '{}', 'h-failed')", (ids["template"], ids["tv1"])).fetchone()[0])
        conn.execute("select finish_run(%s, 'error', null, null, 'upstream outage')", (ids["failed"],))
        # a squatter: before template slugs were reserved, a user model could take one
        ids["squatter"] = str(conn.execute(
            "insert into models (slug, name, owner_id, lab_scope, difficulty, visibility) values ('drawdown', 'Mine', %s, 'econ', 'basic', 'public') returning id",
            (ids["ana"],),
        ).fetchone()[0])
        conn.execute("insert into model_saves (user_id, model_id) values (%s, %s)", (ids["ana"], ids["template"]))
        conn.execute("insert into model_ratings (user_id, model_id, rating, review) values (%s, %s, 4, 'Clear')", (ids["ana"], ids["template"]))
        ids["art"] = conn.execute("select slug from publish_artifact(%s, 'curve-abc123', 'Curve', '', 'public')", (ids["recent"],)).fetchone()[0]
    conn.execute("update model_runs set created_at = now() - interval '2 hours', finished_at = now() - interval '2 hours' where id = %s", (ids["old"],))
    with as_role(conn, ids["bob"]):
        ids["hit"] = str(conn.execute("select log_cached_run(p_source_run_id => %s, p_inputs_json => %s)",
                                      (ids["recent"], json.dumps({"start": "2024-01-01"}))).fetchone()[0])
        ids["pending"] = str(conn.execute("select reserve_run(%s, %s, '{}', 'h-pending')", (ids["template"], ids["tv1"])).fetchone()[0])
    with as_role(conn, None):
        conn.execute("select increment_artifact_views(%s)", (ids["art"],))
        conn.execute("select increment_artifact_views(%s)", (ids["art"],))
    return ids


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from public.{t}").fetchone()[0] for t in TABLES}


def runs(conn: psycopg.Connection) -> dict[str, tuple]:
    return {str(r[0]): r[1:] for r in conn.execute(
        "select id, model_id::text, model_version_id::text, user_id::text, inputs_json, inputs_hash, outputs_json, runtime_ms, status,"
        " error_message, cached, cached_from_run_id::text, created_at, finished_at from model_runs")}


@pytest.fixture(scope="module")
def upgraded(postgres_dsn: str) -> Iterator[tuple[str, dict[str, str], dict[str, int], dict[str, tuple]]]:
    previous, new = split_migrations()
    assert [p.name[:17] for p in new][:3] == ["20250101000006_se", "20250101000007_re", "20250101000008_un"]
    with fresh_database(postgres_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            bootstrap(conn)
            apply_files(conn, previous)
            ids = fill_previous(conn)
            before = (counts(conn), runs(conn))
            apply_files(conn, new)
        yield dsn, ids, *before


@pytest.fixture
def conn(upgraded) -> Iterator[psycopg.Connection]:
    with psycopg.connect(upgraded[0], autocommit=True) as connection:
        yield connection


def test_nothing_is_lost(upgraded, conn: psycopg.Connection) -> None:
    _, ids, before_counts, before_runs = upgraded
    assert counts(conn) == before_counts
    after = runs(conn)
    assert set(after) == set(before_runs)
    for run_id, row in before_runs.items():
        expected = list(row)
        if run_id == ids["recent"]:  # the last hour's runs the users finished themselves leave the execution cache
            expected[4] = "before-server-writes:h-recent"
        assert after[run_id] == tuple(expected), run_id
    assert conn.execute("select views, payload -> 'result' from published_artifacts where slug = %s", (ids["art"],)).fetchone() == (2, RESULT)
    assert conn.execute("select slug, owner_id::text from models where id = %s", (ids["squatter"],)).fetchone() == ("drawdown", ids["ana"])
    assert conn.execute("select count(*) from reserved_slugs").fetchone()[0] >= 25


def test_the_upgraded_project_runs_through_the_server(upgraded, conn: psycopg.Connection) -> None:
    _, ids, _, _ = upgraded
    with as_service(conn):
        assert conn.execute("select count(*) from find_cached_run(%s, %s, 'h-recent')", (ids["bob"], ids["tv1"])).fetchone()[0] == 0
        # the pending run of before, once past the run budget, is failed and stops counting
        conn.execute("update model_runs set created_at = now() - interval '2 hours' where id = %s", (ids["pending"],))
        run = conn.execute("select reserve_run(%s, %s, %s, '{}', 'h-new', 3600)", (ids["bob"], ids["template"], ids["tv1"])).fetchone()[0]
        conn.execute("select finish_run(%s, %s, 'success', %s, 2, null)", (ids["bob"], run, json.dumps(RESULT)))
        assert conn.execute("select run_id::text from find_cached_run(%s, %s, 'h-new')", (ids["ana"], ids["tv1"])).fetchone()[0] == str(run)
        hit = conn.execute("select log_cached_run(%s, %s, 'h-new')", (ids["ana"], run)).fetchone()[0]
        art = conn.execute("select id from published_artifacts where slug = %s", (ids["art"],)).fetchone()[0]
        assert conn.execute("select record_artifact_view(%s, 'visitor:abc')", (art,)).fetchone()[0] == 3
    assert conn.execute("select status from model_runs where id = %s", (ids["pending"],)).fetchone()[0] == "error"
    with as_role(conn, ids["ana"]):
        mine = {r[0]: r[1] for r in conn.execute("select id::text, outputs_json from my_runs(null, 50)")}
        assert mine[str(hit)] == RESULT and mine[ids["recent"]] == RESULT
        with pytest.raises(psycopg.errors.UndefinedFunction):
            conn.execute("select increment_artifact_views(%s)", (ids["art"],))
