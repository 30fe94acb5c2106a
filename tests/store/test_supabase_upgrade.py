"""A Supabase project on the previous migrations (the four files up to 20250101000004) upgrades in place.

A fresh PostgreSQL gets Supabase's auth pieces and the previous four files, and is filled the way the
app filled it: templates by the service role, everything else as users through the previous
functions (reserve_run, finish_run, find_cached_run, log_cached_run, publish_artifact, fork_model)
and tables (saves, ratings). Then the new file(s) are applied: nothing may be lost, old cache copies
become references, and the functions work under their new names (as they are after every later
file: runs are recorded by the server since 20250101000006; tests/store/test_supabase_upgrade_trust.py
upgrades a project filled through 20250101000005's functions).
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

LAST_PREVIOUS = "20250101000004_cache_and_fork_integrity.sql"
RESULT = {"outputs": {"series": [{"id": "spread", "points": [[1, 2.5]]}], "tables": [], "metrics": []}, "trace": [], "provenance": [{"provider": "sample"}]}
TABLES = ("profiles", "models", "model_versions", "model_runs", "model_usage_daily", "model_saves", "model_ratings", "published_artifacts", "model_comments")


def split_migrations() -> tuple[list[Path], list[Path]]:
    files = migration_files()
    cut = [p.name for p in files].index(LAST_PREVIOUS) + 1
    return files[:cut], files[cut:]


def fill_previous(conn: psycopg.Connection) -> dict[str, str]:
    """The previous schema, filled through the previous functions and column names."""
    ids: dict[str, str] = {}
    ids["ana"] = create_auth_user(conn, f"ana-{uuid.uuid4().hex[:6]}@example.com")
    ids["bob"] = create_auth_user(conn, None, anonymous=True)
    conn.execute("update profiles set tier = 'paid' where id = %s", (ids["ana"],))
    ids["template"] = str(conn.execute(
        "insert into models (slug, name, description, author_id, lab_scope, tags, difficulty, visibility)"
        " values ('spread-10y-2y', 'Spread', 'The slope', null, 'econ', '{rates}', 'beginner', 'public') returning id"
    ).fetchone()[0])
    ids["tv1"] = str(conn.execute(
        "insert into model_versions (model_id, version, dsl_json, input_schema, changelog, status) values (%s, 1, %s, %s, 'Template', 'published') returning id",
        (ids["template"], json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"])),
    ).fetchone()[0])
    conn.execute("update models set current_version_id = %s where id = %s", (ids["tv1"], ids["template"]))
    inputs = json.dumps({"start": "2024-01-01"})
    with as_role(conn, ids["ana"]):
        ids["source"] = str(conn.execute("select reserve_run(p_model_id => %s, p_version_id => %s, p_inputs => %s, p_inputs_hash => 'h1')",
                                         (ids["template"], ids["tv1"], inputs)).fetchone()[0])
        conn.execute("select finish_run(p_run_id => %s, p_status => 'success', p_outputs => %s, p_runtime_ms => 4, p_error => null)", (ids["source"], json.dumps(RESULT)))
        ids["failed"] = str(conn.execute("select reserve_run(%s, %s, '{}', 'h2')", (ids["template"], ids["tv1"])).fetchone()[0])
        conn.execute("select finish_run(%s, 'error', null, null, %s)", (ids["failed"], "Step 'x' failed: no data"))
        ids["pending"] = str(conn.execute("select reserve_run(%s, %s, '{}', 'h3')", (ids["template"], ids["tv1"])).fetchone()[0])
        ids["own"] = str(conn.execute("select id from fork_model('spread-10y-2y', 'anas-fork', null)").fetchone()[0])
        conn.execute("update models set difficulty = 'advanced' where id = %s", (ids["own"],))
        conn.execute("insert into model_saves (user_id, model_id) values (%s, %s)", (ids["ana"], ids["template"]))
        conn.execute("insert into model_ratings (user_id, model_id, rating, review) values (%s, %s, 4, 'Clear, (really) 100%%')", (ids["ana"], ids["template"]))
        conn.execute("insert into model_comments (model_id, user_id, body) values (%s, %s, 'Nice')", (ids["template"], ids["ana"]))
        ids["art"] = conn.execute("select slug from publish_artifact(%s, 'curve-2024-abc123', 'Curve', 'Flat-ish.', 'unlisted')", (ids["source"],)).fetchone()[0]
        conn.execute("select increment_artifact_views(%s)", (ids["art"],))
    with as_role(conn, ids["bob"]):
        # the app's in-process cache served Bob Ana's run: the previous log_cached_run copied its outputs
        ids["hit"] = str(conn.execute("select log_cached_run(p_source_run_id => %s, p_inputs => %s)", (ids["source"], inputs)).fetchone()[0])
        conn.execute("insert into model_saves (user_id, model_id) values (%s, %s)", (ids["bob"], ids["template"]))
        conn.execute("insert into model_ratings (user_id, model_id, rating, review) values (%s, %s, 2, '')", (ids["bob"], ids["template"]))
    return ids


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"select count(*) from public.{t}").fetchone()[0] for t in TABLES}


@pytest.fixture(scope="module")
def upgraded(postgres_dsn: str) -> Iterator[tuple[str, dict[str, str], dict[str, int]]]:
    previous, new = split_migrations()
    assert new, "the seed-schema migration comes after the previous four files"
    with fresh_database(postgres_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            bootstrap(conn)
            apply_files(conn, previous)
            ids = fill_previous(conn)
            before = counts(conn)
            apply_files(conn, new)
        yield dsn, ids, before


@pytest.fixture
def conn(upgraded) -> Iterator[psycopg.Connection]:
    with psycopg.connect(upgraded[0], autocommit=True) as connection:
        yield connection


def test_nothing_is_lost_and_names_are_the_seeds(upgraded, conn: psycopg.Connection) -> None:
    _, ids, before = upgraded
    assert counts(conn) == before
    model = conn.execute("select owner_id, is_template, difficulty from models where id = %s", (ids["template"],)).fetchone()
    assert model == (None, True, "basic")
    fork = conn.execute("select owner_id::text, is_template, difficulty from models where id = %s", (ids["own"],)).fetchone()
    assert fork == (ids["ana"], False, "advanced")
    assert conn.execute("select runtime, code_bundle, dependencies from model_versions where id = %s", (ids["tv1"],)).fetchone() == ("dsl", None, [])
    runs = {str(r[0]): r[1:] for r in conn.execute("select id, model_version_id::text, inputs_json, outputs_json, error_message, status, cached from model_runs")}
    assert runs[ids["source"]] == (ids["tv1"], {"start": "2024-01-01"}, RESULT, None, "success", False)
    assert runs[ids["failed"]][3:] == ("Step 'x' failed: no data", "error", False)
    assert runs[ids["pending"]][4] == "pending"
    assert runs[ids["hit"]][2] is None and runs[ids["hit"]][5] is True  # the copy became a reference
    assert str(conn.execute("select cached_from_run_id from model_runs where id = %s", (ids["hit"],)).fetchone()[0]) == ids["source"]
    usage = conn.execute("select id, date, runs, unique_users from model_usage_daily where model_id = %s", (ids["template"],)).fetchall()
    assert len(usage) == 1 and usage[0][0] is not None and usage[0][2:] == (2, 1)
    assert conn.execute("select count(distinct id) from model_saves").fetchone()[0] == 2
    assert conn.execute("select count(distinct id) from model_ratings").fetchone()[0] == 2
    art = conn.execute("select owner_id::text, model_run_id::text, views, type, payload from published_artifacts where slug = %s", (ids["art"],)).fetchone()
    assert art[:4] == (ids["ana"], ids["source"], 1, "model_run")
    assert art[4]["model"]["difficulty"] == "basic" and art[4]["result"] == RESULT


def test_old_names_are_gone(conn: psycopg.Connection) -> None:
    columns = {(t, c) for t, c in conn.execute("select table_name, column_name from information_schema.columns where table_schema = 'public'")}
    for old in [("models", "author_id"), ("model_runs", "version_id"), ("model_runs", "inputs"), ("model_runs", "outputs"), ("model_runs", "error"),
                ("model_usage_daily", "day"), ("published_artifacts", "created_by"), ("published_artifacts", "run_id"), ("published_artifacts", "view_count"),
                ("model_listing", "author_id")]:
        assert old not in columns, old
    assert ("model_listing", "owner_id") in columns and ("model_listing", "is_template") in columns


def test_functions_work_under_the_new_names_on_the_upgraded_data(upgraded, conn: psycopg.Connection) -> None:
    _, ids, _ = upgraded
    with as_role(conn, ids["bob"]):
        mine = conn.execute("select id::text, outputs_json, cached_from_run_id::text, model_slug from my_runs(null, 50)").fetchall()
        assert mine == [(ids["hit"], RESULT, ids["source"], "spread-10y-2y")]  # resolved through Ana's run, which Bob's RLS hides
        assert conn.execute("select count(*) from model_runs where id = %s", (ids["source"],)).fetchone()[0] == 0
        slug = conn.execute("select slug from publish_artifact(p_model_run_id => %s, p_slug => 'bobs-copy', p_title => 'Mine too', p_summary => '',"
                            " p_visibility => 'public')", (ids["hit"],)).fetchone()[0]
        assert conn.execute("select payload -> 'result' from get_artifact_by_slug(%s)", (slug,)).fetchone()[0] == RESULT
    with as_service(conn):  # recorded before the server held the writes: kept out of every execution cache
        assert conn.execute("select count(*) from find_cached_run(%s, %s, 'h1')", (ids["ana"], ids["tv1"])).fetchone()[0] == 0
    with as_role(conn, ids["ana"]):
        conn.execute("insert into model_ratings (user_id, model_id, rating) values (%s, %s, 5)"
                     " on conflict (user_id, model_id) do update set rating = excluded.rating", (ids["ana"], ids["template"]))
        found = conn.execute("select get_model_by_slug('spread-10y-2y')").fetchone()[0]
        assert found["model"]["is_template"] is True and found["model"]["owner_id"] is None and found["model"]["difficulty"] == "basic"
        assert conn.execute("select owner_id::text from model_listing where slug = 'anas-fork'").fetchone()[0] == ids["ana"]
        fork = conn.execute("select owner_id::text, is_template from fork_model('anas-fork', 'anas-fork-2', null)").fetchone()
        assert fork == (ids["ana"], False)
    art_id = conn.execute("select id from published_artifacts where slug = %s", (ids["art"],)).fetchone()[0]
    carol = create_auth_user(conn, f"carol-{uuid.uuid4().hex[:6]}@example.com")
    with as_service(conn):  # Ana has used her 3 runs a minute on the template
        assert conn.execute("select record_artifact_view(%s, 'user:carol')", (art_id,)).fetchone()[0] == 2
        run = conn.execute("select reserve_run(p_user_id => %s, p_model_id => %s, p_model_version_id => %s, p_inputs_json => '{}', p_inputs_hash => 'new')",
                           (carol, ids["template"], ids["tv1"])).fetchone()[0]
        conn.execute("select finish_run(p_user_id => %s, p_run_id => %s, p_status => 'success', p_outputs_json => '{}', p_runtime_ms => 1,"
                     " p_error_message => null)", (carol, run))
    runs, users = conn.execute("select runs, unique_users from model_usage_daily where model_id = %s", (ids["template"],)).fetchone()
    assert (runs, users) == (3, 2)  # the same (model_id, date) row, bumped
    assert conn.execute("select rating from model_ratings where user_id = %s", (ids["ana"],)).fetchone()[0] == 5
