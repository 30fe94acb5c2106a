"""An execution-cache hit records a reference to the run it reuses, not a copy of its result (issue 8).

On both backends: the hit's row holds no outputs, every read resolves them through the reference, and
deleting the reused run (with its owner's account, say) first hands its outputs to the hits that
pointed at it, so no one's history loses a result.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from contracts.records import User
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, SPREAD_SEED, seed_meta
from tests.store.supabase_pg import apply_all, as_role, as_service, create_auth_user, fresh_database

RESULT = {"outputs": {"series": [{"id": "spread", "points": [[1, 2.5]] * 50}], "tables": [], "metrics": []}, "trace": [], "provenance": []}


# ----------------------------------------------------------------------------- sqlite
@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "refs.db", password_hasher=FAST_HASHER)
    store.models.load_seeds([seed_meta()])
    yield store
    store.close()


def source_run(store: SqliteStore, user: User) -> str:
    model = store.models.get_model("spread-10y-2y", user)
    run_id = store.runs.reserve_run(user, model.id, model.latest.id, {}, "h")
    store.runs.finish_run(user, run_id, "success", RESULT, 5.0, None)
    return run_id


def test_sqlite_a_hit_stores_no_outputs(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    ana, bob = store.users.sign_up("ana@example.com", "password1"), store.users.guest()
    source = source_run(store, ana)
    hit = store.runs.log_cached_run(bob, source, "h")
    stored = store.db.one("SELECT outputs_json, cached_from_run_id, cached FROM model_runs WHERE id = ?", (hit,))
    assert (stored["outputs_json"], stored["cached_from_run_id"], stored["cached"]) == (None, source, 1)
    assert store.runs.get_run(bob, hit).outputs == RESULT and store.runs.list_runs(bob)[0].outputs == RESULT


def test_sqlite_deleting_the_reused_run_hands_its_outputs_to_the_hits(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    ana, bob = store.users.sign_up("ana@example.com", "password1"), store.users.guest()
    source = source_run(store, ana)
    own_hit = store.runs.log_cached_run(ana, source, "h")  # deleted with Ana, in the same statement as the source
    bobs_hit = store.runs.log_cached_run(bob, source, "h")
    with store.db.tx() as sql:
        sql.execute("DELETE FROM local_credentials WHERE user_id = ?", (ana.id,))  # Ana's account, and with it her runs
    kept = store.runs.get_run(bob, bobs_hit)
    assert kept.outputs == RESULT and kept.cached_from_run_id is None and kept.cached
    assert store.db.one("SELECT COUNT(*) FROM model_runs WHERE id IN (?, ?)", (source, own_hit))[0] == 0
    assert store.db.all("PRAGMA foreign_key_check") == []


def test_sqlite_a_reference_to_a_missing_run_is_refused(sqlite_store: SqliteStore) -> None:
    store = sqlite_store
    ana = store.users.sign_up("ana@example.com", "password1")
    source_run(store, ana)
    with pytest.raises(sqlite3.IntegrityError), store.db.tx() as sql:
        sql.execute("UPDATE model_runs SET cached_from_run_id = 'no-such-run'")


# ----------------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="module")
def pg(postgres_dsn: str) -> Iterator[str]:
    with fresh_database(postgres_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            apply_all(conn)
        yield dsn


@pytest.fixture
def conn(pg: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg, autocommit=True) as connection:
        yield connection


def pg_world(conn: psycopg.Connection) -> dict[str, str]:
    """A public model; Ana's successful run of it; a hit of it by Ana and one by Bob."""
    tag = uuid.uuid4().hex[:6]
    ana, bob = create_auth_user(conn, f"ana-{tag}@example.com"), create_auth_user(conn, f"bob-{tag}@example.com")
    model = conn.execute("insert into models (slug, name, lab_scope, difficulty, visibility, is_template) values (%s, 'm', 'econ', 'basic', 'public', true)"
                         " returning id", (f"refs-{tag}",)).fetchone()[0]
    version = conn.execute("insert into model_versions (model_id, version, dsl_json, input_schema) values (%s, 1, %s, %s) returning id",
                           (model, json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"]))).fetchone()[0]
    conn.execute("update models set current_version_id = %s where id = %s", (version, model))
    with as_service(conn):  # runs are recorded by the server, on the user's behalf
        source = conn.execute("select reserve_run(%s, %s, %s, '{}', 'h')", (ana, model, version)).fetchone()[0]
        conn.execute("select finish_run(%s, %s, 'success', %s, 5, null)", (ana, source, json.dumps(RESULT)))
        own_hit = conn.execute("select log_cached_run(%s, %s, 'h')", (ana, source)).fetchone()[0]
        bobs_hit = conn.execute("select log_cached_run(%s, %s, 'h')", (bob, source)).fetchone()[0]
    return {k: str(v) for k, v in {"ana": ana, "bob": bob, "model": model, "source": source, "own_hit": own_hit, "bobs_hit": bobs_hit}.items()}


@pytest.mark.services
def test_postgres_a_hit_stores_no_outputs_and_reads_resolve_them(conn: psycopg.Connection) -> None:
    w = pg_world(conn)
    stored = conn.execute("select outputs_json, cached_from_run_id::text, cached from model_runs where id = %s", (w["bobs_hit"],)).fetchone()
    assert stored == (None, w["source"], True)
    with as_role(conn, w["bob"]):
        assert conn.execute("select count(*) from model_runs where id = %s", (w["source"],)).fetchone()[0] == 0  # RLS hides Ana's run
        assert conn.execute("select outputs_json from my_runs(%s, 1)", (w["bobs_hit"],)).fetchone()[0] == RESULT
        assert conn.execute("select count(*) from my_runs(%s, 1)", (w["source"],)).fetchone()[0] == 0  # only one's own runs
        slug = conn.execute("select slug from publish_artifact(%s, %s, 'From the cache', '', 'public')", (w["bobs_hit"], f"hit-{w['bob'][:8]}")).fetchone()[0]
        assert conn.execute("select payload -> 'result' from get_artifact_by_slug(%s)", (slug,)).fetchone()[0] == RESULT


@pytest.mark.services
def test_postgres_deleting_the_reused_run_hands_its_outputs_to_the_hits(conn: psycopg.Connection) -> None:
    w = pg_world(conn)
    conn.execute("delete from auth.users where id = %s", (w["ana"],))  # cascades to her profile and runs, source and own hit together
    assert conn.execute("select outputs_json, cached_from_run_id from model_runs where id = %s", (w["bobs_hit"],)).fetchone() == (RESULT, None)
    assert conn.execute("select count(*) from model_runs where id in (%s, %s)", (w["source"], w["own_hit"])).fetchone()[0] == 0


@pytest.mark.services
def test_postgres_deleting_a_model_removes_its_runs_and_their_references_together(conn: psycopg.Connection) -> None:
    w = pg_world(conn)
    conn.execute("delete from models where id = %s", (w["model"],))
    assert conn.execute("select count(*) from model_runs where model_id = %s", (w["model"],)).fetchone()[0] == 0


@pytest.mark.services
def test_postgres_a_reference_to_a_missing_run_is_refused(conn: psycopg.Connection) -> None:
    w = pg_world(conn)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute("update model_runs set cached_from_run_id = gen_random_uuid() where id = %s", (w["bobs_hit"],))
