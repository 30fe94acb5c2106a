"""The artifact payload has one shape: built in SQL by ``public.artifact_payload`` (Supabase) and in
Python by the sqlite backend, both parse with ``ArtifactPayload.from_json`` and have the same keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contracts.artifact import ArtifactModel, ArtifactPayload, ArtifactRun, ArtifactVersion
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, SPREAD_SEED, seed_meta
from tests.store.supabase_pg import apply_all, as_role, as_service, create_auth_user, fresh_database

pytestmark = pytest.mark.services

RESULT = {"outputs": {"series": [], "tables": [], "metrics": []}, "trace": [], "provenance": [{"provider": "sample"}], "runtime_ms": 3.0}
INPUTS = {"start": "2024-01-01", "end": "2024-12-31"}


def key_tree(value: Any, depth: int = 2) -> Any:
    """The keys of a payload down to ``depth`` levels (below that the content is the model's, not the shape's)."""
    if depth == 0 or not isinstance(value, dict):
        return None
    return {key: key_tree(inner, depth - 1) for key, inner in value.items()}


def sqlite_payloads(tmp_path: Path) -> list[dict[str, Any]]:
    """Payloads of a fresh run and of a cache hit, published by the sqlite backend."""
    store = SqliteStore(tmp_path / "payload.db", password_hasher=FAST_HASHER)
    try:
        store.models.load_seeds([seed_meta()])
        ana = store.users.sign_up("ana@example.com", "password1")
        model = store.models.get_model("spread-10y-2y", ana)
        run_id = store.runs.reserve_run(ana, model.id, model.latest.id, INPUTS, "h")
        store.runs.finish_run(ana, run_id, "success", RESULT, 3.0, None)
        hit = store.runs.log_cached_run(ana, run_id, "h")
        return [store.artifacts.publish(ana, r, f"art-{i}-sqlite", "T", "", "public").payload for i, r in enumerate((run_id, hit))]
    finally:
        store.close()


def postgres_payloads(postgres_dsn: str) -> list[dict[str, Any]]:
    """The same through the Supabase migrations' functions: the run recorded by the server, published by the user."""
    with fresh_database(postgres_dsn) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        apply_all(conn)
        ana = create_auth_user(conn, "ana@example.com")
        model = conn.execute(
            "insert into models (slug, name, description, lab_scope, tags, difficulty, visibility, is_template)"
            " values ('spread-10y-2y', 'Spread', '', 'econ', '{rates}', 'basic', 'public', true) returning id"
        ).fetchone()[0]
        version = conn.execute("insert into model_versions (model_id, version, dsl_json, input_schema, changelog) values (%s, 1, %s, %s, 'Template') returning id",
                               (model, json.dumps(SPREAD_SEED["dsl"]), json.dumps(SPREAD_SEED["input_schema"]))).fetchone()[0]
        conn.execute("update models set current_version_id = %s where id = %s", (version, model))
        with as_service(conn):
            run_id = conn.execute("select reserve_run(%s, %s, %s, %s, 'h')", (ana, model, version, json.dumps(INPUTS))).fetchone()[0]
            conn.execute("select finish_run(%s, %s, 'success', %s, 3, null)", (ana, run_id, json.dumps(RESULT)))
            hit = conn.execute("select log_cached_run(%s, %s, 'h')", (ana, run_id)).fetchone()[0]
        with as_role(conn, ana):
            return [conn.execute("select payload from publish_artifact(%s, %s, 'T', '', 'public')", (r, f"art-{i}-postgres")).fetchone()[0]
                    for i, r in enumerate((run_id, hit))]


def test_both_backends_build_the_same_payload_shape(tmp_path: Path, postgres_dsn: str) -> None:
    built = {"sqlite": sqlite_payloads(tmp_path), "postgres": postgres_payloads(postgres_dsn)}
    for backend, payloads in built.items():
        for payload in payloads:
            content = ArtifactPayload.from_json(payload)
            assert content.model.slug == "spread-10y-2y" and content.model.difficulty == "basic", backend
            assert content.inputs == INPUTS and content.result == RESULT, backend
            assert set(payload) == set(ArtifactPayload.KEYS), backend
        assert [p["run"]["cached"] for p in payloads] == [False, True], backend
    assert key_tree(built["sqlite"][0]) == key_tree(built["postgres"][0])
    assert key_tree(built["sqlite"][1]) == key_tree(built["postgres"][1])
    for part, declared in (("model", ArtifactModel), ("version", ArtifactVersion), ("run", ArtifactRun)):
        assert set(built["postgres"][0][part]) == set(declared.__dataclass_fields__), part  # every declared field, nothing else
