"""An embedded database of the previous schema (migrations 1 and 2) upgrades in place with nothing lost.

The database is filled through the previous SQL, with the previous column names (author_id,
version_id, inputs, outputs, error, day, created_by, run_id, view_count) and difficulty 'beginner',
including a cache hit stored the old way (a copy of its source's outputs); then the current store
opens it, migrates it, and every row must read back through the new API.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing import Process, Queue
from pathlib import Path

import pytest

from contracts.artifact import ArtifactPayload
from contracts.records import ModelQuery
from store.common import ts
from store.sqlite import SqliteStore
from store.sqlite.db import Database
from store.sqlite.schema import MIGRATIONS
from tests.store.conftest import FAST_HASHER, SPREAD_SEED

NOW = datetime.now(UTC).replace(microsecond=0)
RESULT = {"outputs": {"series": [{"id": "spread", "points": [[1, 2.5]]}], "tables": [], "metrics": []}, "trace": [], "provenance": [{"provider": "sample"}], "runtime_ms": 4.0}
OTHER = {"outputs": {"series": [], "tables": [], "metrics": [{"id": "m", "value": 1}]}, "trace": [], "provenance": [], "runtime_ms": 1.0}
TABLES = ("local_credentials", "profiles", "models", "model_versions", "model_runs", "model_usage_daily", "model_saves", "model_ratings",
          "published_artifacts", "local_settings")


def clock_from_now() -> Callable[[], datetime]:
    """The store's clock, started at NOW: the fixture rows' ages stay what they were written as, however long
    the suite ran before this test (a cache window of minutes would otherwise have passed)."""
    started = time.monotonic()
    return lambda: NOW + timedelta(seconds=time.monotonic() - started)


def at(minutes: int) -> str:
    return ts(NOW - timedelta(minutes=minutes))


def fill_previous_schema(path: Path) -> dict[str, str]:
    """The previous schema, filled the way the previous store wrote it."""
    Database(path, migrations=MIGRATIONS[:2]).close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    ids = {k: f"{k}-0000-4000-8000-000000000000" for k in ("ana", "bob", "template", "tv1", "tv2", "own", "ov1", "source", "hit", "orphan_hit",
                                                            "failed", "pending", "art")}
    for who, address in (("ana", "ana@example.com"), ("bob", None)):
        db.execute("INSERT INTO local_credentials VALUES (?, ?, ?, ?, ?)", (ids[who], address, FAST_HASHER.hash("password1") if address else None, int(not address), at(600)))
        db.execute("INSERT INTO profiles (id, email, display_name, tier, role, is_guest, created_at) VALUES (?, ?, ?, ?, 'user', ?, ?)",
                   (ids[who], address, who.title(), "paid" if who == "ana" else "free", int(not address), at(600)))
    insert_model = (
        "INSERT INTO models (id, slug, name, description, author_id, lab_scope, tags, difficulty, visibility, forked_from_id, current_version_id, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'econ', ?, ?, ?, ?, NULL, ?, ?)"
    )
    insert_version = (
        "INSERT INTO model_versions (id, model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)"
    )
    dsl, schema = json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"])
    db.execute(insert_model, (ids["template"], "spread-10y-2y", "Spread", "The slope", None, '["rates"]', "beginner", "public", None, at(500), at(500)))
    db.execute(insert_version, (ids["tv1"], ids["template"], 1, dsl, schema, "Template", "published", None, at(500)))
    db.execute(insert_version, (ids["tv2"], ids["template"], 2, dsl, schema, "Template updated", "published", None, at(400)))
    db.execute("UPDATE models SET current_version_id = ? WHERE id = ?", (ids["tv2"], ids["template"]))
    db.execute(insert_model, (ids["own"], "anas-fork", "Ana's fork", "", ids["ana"], "[]", "intermediate", "private", ids["template"], at(300), at(300)))
    db.execute(insert_version, (ids["ov1"], ids["own"], 1, dsl, schema, "Forked from spread-10y-2y v2", "published", ids["ana"], at(300)))
    db.execute("UPDATE models SET current_version_id = ? WHERE id = ?", (ids["ov1"], ids["own"]))

    run = (
        "INSERT INTO model_runs (id, model_id, version_id, user_id, inputs, inputs_hash, outputs, runtime_ms, status, error, cached, created_at, finished_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    inputs = json.dumps({"start": "2024-01-01"})
    db.execute(run, (ids["source"], ids["template"], ids["tv2"], ids["ana"], inputs, "h1", json.dumps(RESULT), 4.0, "success", None, 0, at(50), at(50)))
    # the previous log_cached_run: INSERT ... SELECT copying the source's outputs
    db.execute(
        "INSERT INTO model_runs (id, model_id, version_id, user_id, inputs, inputs_hash, outputs, runtime_ms, status, cached, created_at, finished_at)"
        " SELECT ?, model_id, version_id, ?, ?, inputs_hash, outputs, runtime_ms, 'success', 1, ?, ? FROM model_runs WHERE id = ? AND status = 'success'",
        (ids["hit"], ids["bob"], inputs, at(40), at(40), ids["source"]),
    )
    # a hit whose source is gone (its outputs match no run): it must keep its own copy
    db.execute(run, (ids["orphan_hit"], ids["template"], ids["tv1"], ids["bob"], inputs, "h0", json.dumps(OTHER), 1.0, "success", None, 1, at(45), at(45)))
    db.execute(run, (ids["failed"], ids["own"], ids["ov1"], ids["ana"], "{}", "h2", None, None, "error", "Step 'x' failed: no data", 0, at(30), at(30)))
    db.execute(run, (ids["pending"], ids["own"], ids["ov1"], ids["ana"], "{}", "h3", None, None, "pending", None, 0, at(20), None))
    today, yesterday = NOW.date().isoformat(), (NOW.date() - timedelta(days=1)).isoformat()
    db.execute("INSERT INTO model_usage_daily (model_id, day, runs, unique_users) VALUES (?, ?, 7, 3), (?, ?, 2, 1), (?, ?, 1, 1)",
               (ids["template"], yesterday, ids["template"], today, ids["own"], today))
    db.execute("INSERT OR IGNORE INTO model_saves VALUES (?, ?, ?)", (ids["ana"], ids["template"], at(100)))
    db.execute("INSERT OR IGNORE INTO model_saves VALUES (?, ?, ?)", (ids["bob"], ids["template"], at(90)))
    db.execute("INSERT INTO model_ratings VALUES (?, ?, ?, ?, ?, ?)", (ids["ana"], ids["template"], 4, "Clear, (really) 100%", at(80), at(70)))
    db.execute("INSERT INTO model_ratings VALUES (?, ?, ?, ?, ?, ?)", (ids["bob"], ids["template"], 2, "", at(60), at(60)))
    payload = {
        "model": {"id": ids["template"], "slug": "spread-10y-2y", "name": "Spread", "description": "The slope", "lab_scope": "econ", "tags": ["rates"], "difficulty": "beginner"},
        "version": {"id": ids["tv2"], "version": 2, "dsl": SPREAD_SEED["dsl"], "input_schema": SPREAD_SEED["input_schema"], "output_schema": {}, "changelog": "Template updated"},
        "inputs": {"start": "2024-01-01"},
        "result": RESULT,
        "run": {"id": ids["source"], "created_at": at(50), "runtime_ms": 4.0, "cached": False},
    }
    db.execute(
        "INSERT INTO published_artifacts (id, slug, run_id, model_id, version_id, created_by, title, summary, visibility, view_count, payload, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ids["art"], "curve-2024-abc123", ids["source"], ids["template"], ids["tv2"], ids["ana"], "Curve", "Flat-ish.", "unlisted", 12, json.dumps(payload), at(10)),
    )
    db.execute("INSERT INTO local_settings VALUES ('seeds_fingerprint', 'abc')")
    db.close()
    return ids


def row_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in TABLES}
    finally:
        db.close()


@pytest.fixture
def upgraded(tmp_path: Path) -> tuple[SqliteStore, dict[str, str], dict[str, int]]:
    path = tmp_path / "previous.db"
    ids = fill_previous_schema(path)
    before = row_counts(path)
    store = SqliteStore(path, password_hasher=FAST_HASHER, clock=clock_from_now())
    yield store, ids, before
    store.close()


def test_every_row_survives_and_the_schema_is_current(upgraded, tmp_path: Path) -> None:
    store, _, before = upgraded
    assert row_counts(Path(store.path)) == before
    assert [r[0] for r in store.db.all("SELECT version FROM schema_migrations ORDER BY version")] == [v for v, _ in MIGRATIONS]
    assert store.db.all("PRAGMA foreign_key_check") == [] and store.db.one("PRAGMA integrity_check")[0] == "ok"
    fresh = SqliteStore(tmp_path / "fresh.db", password_hasher=FAST_HASHER)
    try:
        def schema(s: SqliteStore) -> dict[str, list[tuple[str, str, int, object, int]]]:
            names = [r[0] for r in s.db.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            return {n: sorted((r["name"], r["type"], r["notnull"], r["dflt_value"], r["pk"]) for r in s.db.all(f"PRAGMA table_info('{n}')")) for n in names}

        def indexes(s: SqliteStore) -> set[str]:
            return {r[0] for r in s.db.all("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')")}

        assert schema(store) == schema(fresh) and indexes(store) == indexes(fresh)
    finally:
        fresh.close()


def test_accounts_and_models_read_back(upgraded) -> None:
    store, ids, _ = upgraded
    ana = store.users.sign_in("ana@example.com", "password1")
    assert ana.id == ids["ana"] and ana.tier == "paid"
    template = store.models.get_model("spread-10y-2y", None)
    assert template.is_template and template.owner_id is None and template.difficulty == "basic" and template.tags == ("rates",)
    assert template.latest.id == ids["tv2"] and template.latest.runtime == "dsl" and template.latest.dependencies == ()
    assert [v.version for v in store.models.list_versions("spread-10y-2y", None)] == [2, 1]
    fork = store.models.get_model("anas-fork", ana)
    assert fork.owner_id == ids["ana"] and not fork.is_template and fork.difficulty == "intermediate" and fork.forked_from_id == ids["template"]
    assert store.models.get_model("anas-fork", None) is None  # still private
    assert [m.slug for m in store.models.list_models(ana, ModelQuery(only_mine=True))] == ["anas-fork"]
    assert store.models.list_models(None, ModelQuery(difficulty="basic"))[0].runs_30d == 9


def test_runs_read_back_and_old_cache_copies_become_references(upgraded) -> None:
    store, ids, _ = upgraded
    ana, bob = store.users.refresh_user(store.users.user_by_email("ana@example.com")), store.users.owner_of_run(ids["hit"])
    source = store.runs.get_run(ana, ids["source"])
    assert source.outputs == RESULT and source.model_version_id == ids["tv2"] and source.inputs == {"start": "2024-01-01"} and not source.cached
    hit = store.runs.get_run(bob, ids["hit"])
    assert hit.cached and hit.cached_from_run_id == ids["source"] and hit.outputs == RESULT and hit.runtime_ms == 4.0
    assert store.db.one("SELECT outputs_json FROM model_runs WHERE id = ?", (ids["hit"],))[0] is None  # the copy is gone
    orphan = store.runs.get_run(bob, ids["orphan_hit"])
    assert orphan.cached and orphan.cached_from_run_id is None and orphan.outputs == OTHER
    assert store.runs.get_run(ana, ids["failed"]).error_message == "Step 'x' failed: no data"
    assert store.runs.get_run(ana, ids["pending"]).status == "pending"
    assert [r.id for r in store.runs.list_runs(ana)] == [ids["pending"], ids["failed"], ids["source"]]
    assert store.runs.find_cached_run(ana, ids["tv2"], "h1")[0] == ids["source"]
    usage = store.runs.usage(ids["template"], NOW - timedelta(days=2))
    assert [(u["date"], u["runs"], u["unique_users"]) for u in usage] == [
        ((NOW.date() - timedelta(days=1)).isoformat(), 7, 3), (NOW.date().isoformat(), 2, 1)]


def test_social_and_artifacts_read_back(upgraded) -> None:
    store, ids, _ = upgraded
    ana = store.users.user_by_email("ana@example.com")
    assert store.social.saved_ids(ana) == {ids["template"]}
    summary = store.social.ratings(ids["template"], ana)
    assert summary.count == 2 and summary.average == 3.0 and summary.mine.review == "Clear, (really) 100%"
    art = store.artifacts.get_artifact("curve-2024-abc123", None)
    assert (art.owner_id, art.model_run_id, art.views, art.type, art.visibility) == (ids["ana"], ids["source"], 12, "model_run", "unlisted")
    content = ArtifactPayload.from_json(art.payload)
    assert content.model.difficulty == "basic" and content.result == RESULT and content.version.version == 2
    assert store.artifacts.count_view(art.id, f"user:{ana.id}") == 13
    assert store.artifacts.count_view(art.id, f"user:{ana.id}") == 13  # once per viewer per day


def test_the_upgraded_database_takes_new_writes(upgraded) -> None:
    store, ids, _ = upgraded
    ana = store.users.user_by_email("ana@example.com")
    store.social.rate(ana, ids["template"], 5, "Better now")
    store.social.save(ana, ids["template"])
    assert store.social.ratings(ids["template"], ana).mine.rating == 5 and store.db.one("SELECT COUNT(*) FROM model_ratings")[0] == 2
    model = store.models.get_model("spread-10y-2y", ana)
    run_id = store.runs.reserve_run(ana, model.id, model.latest.id, {}, "new")
    store.runs.finish_run(ana, run_id, "success", RESULT, 2.0, None)
    today = store.runs.usage(ids["template"], NOW)[-1]
    assert today["date"] == NOW.date().isoformat() and today["runs"] == 3  # the same row, bumped
    hit = store.runs.log_cached_run(ana, ids["hit"], "h1")
    assert store.runs.get_run(ana, hit).cached_from_run_id == ids["source"]


def open_store(path: str, outcomes: Queue) -> None:
    try:
        SqliteStore(path, password_hasher=FAST_HASHER).close()
        outcomes.put("ok")
    except Exception as exc:  # reported to the parent
        outcomes.put(f"{type(exc).__name__}: {exc}")


def test_processes_starting_together_on_a_previous_database_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "previous.db"
    fill_previous_schema(path)
    before = row_counts(path)
    outcomes: Queue = Queue()
    workers = [Process(target=open_store, args=(str(path), outcomes)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(outcomes.get() for _ in workers) == ["ok"] * 4
    assert row_counts(path) == before


def test_a_squatted_template_slug_survives_the_upgrade_and_is_moved_aside_when_the_template_loads(tmp_path: Path) -> None:
    """Migration 4 reserves template slugs; a user model that took one earlier keeps its rows until the
    template is loaded, which moves it to ``<slug>-<its id>`` (issue 9)."""
    from tests.store.conftest import seed_meta

    path = tmp_path / "squatted.db"
    Database(path, migrations=[m for m in MIGRATIONS if m[0] <= 3]).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO local_credentials VALUES ('bob', 'bob@example.com', NULL, 0, ?)", (ts(NOW),))
        db.execute("INSERT INTO profiles (id, email, display_name, created_at) VALUES ('bob', 'bob@example.com', 'Bob', ?)", (ts(NOW),))
        db.execute(
            "INSERT INTO models (id, slug, name, owner_id, lab_scope, difficulty, visibility, created_at, updated_at)"
            " VALUES ('squat-0000-4000-8000-000000000000', 'drawdown', 'Mine', 'bob', 'econ', 'basic', 'public', ?, ?)",
            (ts(NOW), ts(NOW)),
        )
    store = SqliteStore(path, password_hasher=FAST_HASHER)
    try:
        assert store.db.one("SELECT slug, owner_id FROM models WHERE id = 'squat-0000-4000-8000-000000000000'")[:] == ("drawdown", "bob")
        assert store.models.load_seeds([seed_meta(slug="drawdown")]) == 1
        assert store.models.get_model("drawdown", None).is_template
        assert store.db.one("SELECT slug, owner_id FROM models WHERE id = 'squat-0000-4000-8000-000000000000'")[:] == ("drawdown-squat000", "bob")
    finally:
        store.close()
