"""The seed's table and column names, written directly in SQL on both backends and read back through
the store; and the seed's indexes, present on both."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from contracts.records import ModelQuery
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, SPREAD_SEED, seed_meta
from tests.store.supabase_pg import apply_all, as_role, create_auth_user, fresh_database

RESULT = {"outputs": {"series": [], "tables": [], "metrics": [{"id": "spread", "value": 0.4}]}, "trace": [], "provenance": []}
PAYLOAD = {"model": {"id": "m", "slug": "seeded", "name": "Seeded", "description": "", "lab_scope": "econ", "tags": [], "difficulty": "basic"},
           "version": {"id": "v", "version": 1, "dsl": {}, "input_schema": {}, "output_schema": {}, "changelog": ""},
           "inputs": {}, "result": RESULT, "run": {"id": "r", "created_at": "2025-01-01T00:00:00+00:00", "runtime_ms": 1.0, "cached": False}}

# The seed's indexes: each column list must lead some index (or unique key) of its table.
SEED_INDEXES = [
    ("models", ("owner_id",)),
    ("models", ("lab_scope",)),
    ("models", ("is_template",)),
    ("model_versions", ("model_id",)),
    ("model_runs", ("model_id", "created_at")),
    ("model_runs", ("user_id", "created_at")),
    ("model_usage_daily", ("model_id", "date")),
    ("published_artifacts", ("owner_id",)),
    ("published_artifacts", ("model_run_id",)),
]


def ids() -> dict[str, str]:
    return {k: str(uuid.uuid4()) for k in ("model", "version", "run", "failed", "usage", "save", "rating", "artifact")}


# ----------------------------------------------------------------------------- sqlite
@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "seed.db", password_hasher=FAST_HASHER)
    yield store
    store.close()


def test_sqlite_rows_written_with_the_seeds_names_read_back_through_the_store(sqlite_store: SqliteStore) -> None:
    store, k = sqlite_store, ids()
    ana = store.users.sign_up("ana@example.com", "password1")
    now = "2030-01-01T12:00:00.000000+00:00"
    with store.db.tx() as sql:
        sql.execute("INSERT INTO models (id, slug, name, description, owner_id, lab_scope, tags, difficulty, visibility, is_template, created_at, updated_at)"
                    " VALUES (?, 'seeded', 'Seeded', '', ?, 'econ', '[]', 'basic', 'public', 1, ?, ?)", (k["model"], ana.id, now, now))
        sql.execute("INSERT INTO model_versions (id, model_id, version, dsl_json, input_schema, output_schema, runtime, code_bundle, dependencies, created_at)"
                    " VALUES (?, ?, 1, ?, ?, '{}', 'dsl', NULL, '[\"pandas\"]', ?)",
                    (k["version"], k["model"], json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"]), now))
        sql.execute("UPDATE models SET current_version_id = ? WHERE id = ?", (k["version"], k["model"]))
        sql.execute("INSERT INTO model_runs (id, model_id, model_version_id, user_id, inputs_json, inputs_hash, outputs_json, error_message, runtime_ms, status, created_at)"
                    " VALUES (?, ?, ?, ?, '{\"start\": \"2024-01-01\"}', 'h', ?, NULL, 2.5, 'success', ?)", (k["run"], k["model"], k["version"], ana.id, json.dumps(RESULT), now))
        sql.execute("INSERT INTO model_runs (id, model_id, model_version_id, user_id, inputs_json, inputs_hash, outputs_json, error_message, status, created_at)"
                    " VALUES (?, ?, ?, ?, '{}', 'h2', NULL, 'No data for DGS10.', 'error', ?)", (k["failed"], k["model"], k["version"], ana.id, now))
        sql.execute("INSERT INTO model_usage_daily (id, model_id, date, runs, unique_users) VALUES (?, ?, '2030-01-01', 2, 1)", (k["usage"], k["model"]))
        sql.execute("INSERT INTO model_saves (id, user_id, model_id, created_at) VALUES (?, ?, ?, ?)", (k["save"], ana.id, k["model"], now))
        sql.execute("INSERT INTO model_ratings (id, user_id, model_id, rating, review, created_at, updated_at) VALUES (?, ?, ?, 4, 'Good', ?, ?)",
                    (k["rating"], ana.id, k["model"], now, now))
        sql.execute("INSERT INTO published_artifacts (id, slug, type, model_run_id, model_id, version_id, owner_id, title, visibility, views, payload, created_at)"
                    " VALUES (?, 'seeded-art', 'model_run', ?, ?, ?, ?, 'Seeded', 'public', 7, ?, ?)",
                    (k["artifact"], k["run"], k["model"], k["version"], ana.id, json.dumps(PAYLOAD), now))
    model = store.models.get_model("seeded", None)
    assert model.owner_id == ana.id and model.is_template and model.difficulty == "basic"
    assert model.latest.runtime == "dsl" and model.latest.code_bundle is None and model.latest.dependencies == ("pandas",)
    assert store.models.list_models(None, ModelQuery(difficulty="basic"))[0].slug == "seeded"
    run = store.runs.get_run(ana, k["run"])
    assert run.model_version_id == k["version"] and run.inputs == {"start": "2024-01-01"} and run.outputs == RESULT
    assert store.runs.get_run(ana, k["failed"]).error_message == "No data for DGS10."
    assert store.runs.usage(k["model"], datetime(2030, 1, 1)) == [{"date": "2030-01-01", "runs": 2, "unique_users": 1, "errors": 0, "cache_hits": 0}]
    assert store.social.saved_ids(ana) == {k["model"]} and store.social.ratings(k["model"], ana).mine.rating == 4
    art = store.artifacts.get_artifact("seeded-art", None)
    assert (art.owner_id, art.model_run_id, art.views, art.type) == (ana.id, k["run"], 7, "model_run") and art.result().outputs == RESULT["outputs"]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE models SET difficulty = 'beginner'",
        "UPDATE model_versions SET runtime = 'ruby'",
        "INSERT INTO model_saves (id, user_id, model_id, created_at) SELECT 'twice', user_id, model_id, created_at FROM model_saves",
    ],
)
def test_sqlite_refuses_what_the_seeds_schema_refuses(sqlite_store: SqliteStore, statement: str) -> None:
    store = sqlite_store
    ana = store.users.sign_up("ana@example.com", "password1")
    model = store.models.create_model(ana, seed_meta(), "public")
    store.social.save(ana, model.id)
    with pytest.raises(sqlite3.IntegrityError), store.db.tx() as sql:
        sql.execute(statement)


def sqlite_leading_columns(store: SqliteStore, table: str) -> list[tuple[str, ...]]:
    indexes = [r["name"] for r in store.db.all(f"PRAGMA index_list('{table}')")]
    return [tuple(r["name"] for r in store.db.all(f"PRAGMA index_info('{name}')")) for name in indexes]


@pytest.mark.parametrize(("table", "columns"), SEED_INDEXES)
def test_sqlite_has_the_seeds_indexes(sqlite_store: SqliteStore, table: str, columns: tuple[str, ...]) -> None:
    assert any(found[: len(columns)] == columns for found in sqlite_leading_columns(sqlite_store, table)), sqlite_leading_columns(sqlite_store, table)


# ----------------------------------------------------------------------------- PostgreSQL (Supabase migrations)
@pytest.fixture(scope="module")
def pg(postgres_dsn: str) -> Iterator[str]:
    with fresh_database(postgres_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            apply_all(conn)
        yield dsn


@pytest.mark.services
def test_postgres_rows_written_with_the_seeds_names_read_back_through_the_functions(pg: str) -> None:
    k = ids()
    with psycopg.connect(pg, autocommit=True) as conn:
        ana = create_auth_user(conn, f"ana-{uuid.uuid4().hex[:6]}@example.com")
        conn.execute("insert into models (id, slug, name, owner_id, lab_scope, tags, difficulty, visibility, is_template)"
                     " values (%s, 'seeded', 'Seeded', %s, 'econ', '{}', 'basic', 'public', true)", (k["model"], ana))
        conn.execute("insert into model_versions (id, model_id, version, dsl_json, input_schema, runtime, code_bundle, dependencies)"
                     " values (%s, %s, 1, %s, %s, 'dsl', null, '[\"pandas\"]')",
                     (k["version"], k["model"], json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"])))
        conn.execute("update models set current_version_id = %s where id = %s", (k["version"], k["model"]))
        conn.execute("insert into model_runs (id, model_id, model_version_id, user_id, inputs_json, inputs_hash, outputs_json, error_message, runtime_ms, status)"
                     " values (%s, %s, %s, %s, '{\"start\": \"2024-01-01\"}', 'h', %s, null, 2.5, 'success')", (k["run"], k["model"], k["version"], ana, json.dumps(RESULT)))
        conn.execute("insert into model_runs (id, model_id, model_version_id, user_id, inputs_json, inputs_hash, outputs_json, error_message, status)"
                     " values (%s, %s, %s, %s, '{}', 'h2', null, 'No data for DGS10.', 'error')", (k["failed"], k["model"], k["version"], ana))
        conn.execute("insert into model_usage_daily (id, model_id, date, runs, unique_users) values (%s, %s, '2030-01-01', 2, 1)", (k["usage"], k["model"]))
        conn.execute("insert into model_saves (id, user_id, model_id) values (%s, %s, %s)", (k["save"], ana, k["model"]))
        conn.execute("insert into model_ratings (id, user_id, model_id, rating, review) values (%s, %s, %s, 4, 'Good')", (k["rating"], ana, k["model"]))
        conn.execute("insert into published_artifacts (id, slug, type, model_run_id, model_id, version_id, owner_id, title, visibility, views, payload)"
                     " values (%s, 'seeded-art', 'model_run', %s, %s, %s, %s, 'Seeded', 'public', 7, %s)",
                     (k["artifact"], k["run"], k["model"], k["version"], ana, json.dumps(PAYLOAD)))
        with as_role(conn, ana):
            found = conn.execute("select get_model_by_slug('seeded')").fetchone()[0]
            assert found["model"]["owner_id"] == ana and found["model"]["is_template"] and found["model"]["difficulty"] == "basic"
            assert found["versions"][0]["runtime"] == "dsl" and found["versions"][0]["dependencies"] == ["pandas"]
            runs = {r[0]: r[1:] for r in conn.execute("select id::text, model_version_id::text, inputs_json, outputs_json, error_message from my_runs(null, 10)")}
            assert runs[k["run"]] == (k["version"], {"start": "2024-01-01"}, RESULT, None)
            assert runs[k["failed"]][3] == "No data for DGS10."
            assert conn.execute("select date::text, runs from model_usage_daily where model_id = %s", (k["model"],)).fetchone() == ("2030-01-01", 2)
            assert conn.execute("select id::text from model_saves").fetchone()[0] == k["save"]
            assert conn.execute("select id::text, rating from model_ratings").fetchone() == (k["rating"], 4)
            art = conn.execute("select owner_id::text, model_run_id::text, views, type from get_artifact_by_slug('seeded-art')").fetchone()
            assert art == (ana, k["run"], 7, "model_run")
        for bad in ["update models set difficulty = 'beginner' where id = %s", "update model_versions set runtime = 'ruby' where model_id = %s",
                    "update published_artifacts set type = 'essay' where model_id = %s"]:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(bad, (k["model"],))


@pytest.mark.services
@pytest.mark.parametrize(("table", "columns"), SEED_INDEXES)
def test_postgres_has_the_seeds_indexes(pg: str, table: str, columns: tuple[str, ...]) -> None:
    with psycopg.connect(pg) as conn:
        rows = conn.execute(
            "select array(select a.attname from unnest(i.indkey) with ordinality as k(attnum, n)"
            "             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.n)"
            " from pg_index i where i.indrelid = %s::regclass",
            (f"public.{table}",),
        ).fetchall()
    leading = [tuple(r[0]) for r in rows]
    assert any(found[: len(columns)] == columns for found in leading), leading
