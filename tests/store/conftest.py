"""Store fixtures: a backend per available kind, test users, and a small valid seed model.

The ``store`` fixture runs every conformance test against sqlite; against Supabase through the real
supabase-py client talking to the loopback PostgREST/GoTrue of tests/store/postgrest_gotrue.py over
the real migrations on the machine's PostgreSQL ("supabase-loopback", one fresh database per test
module); and against a live Supabase project when its URL and keys are given ("supabase").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from contracts.dsl import ModelMeta
from store.sqlite import SqliteStore

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # light parameters for tests only

SPREAD_SEED = {
    "slug": "spread-10y-2y",
    "name": "10y minus 2y spread",
    "description": "The yield-curve slope (percent, commas, and 100% of it).",
    "lab_scope": "econ",
    "tags": ["rates", "yield-curve"],
    "difficulty": "basic",
    "dsl": {
        "version": "1.0",
        "steps": [
            {"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "$start", "end": "$end"}},
            {"id": "dgs2", "operation": "fetch_series", "params": {"series_id": "DGS2", "start": "$start", "end": "$end"}},
            {"id": "spread", "operation": "sub", "inputs": ["dgs10", "dgs2"]},
            {"id": "latest", "operation": "summary", "inputs": ["spread"]},
        ],
        "outputs": {
            "series": [{"id": "spread", "source": "spread", "label": "10y - 2y (pp)"}],
            "tables": [{"id": "stats", "source": "latest", "columns": ["metric", "value"]}],
        },
    },
    "input_schema": {
        "fields": [
            {"name": "start", "type": "date", "default": "2023-01-01", "label": "Start"},
            {"name": "end", "type": "date", "default": "2024-12-31", "label": "End"},
        ]
    },
}


def seed_meta(**changes: object) -> ModelMeta:
    return ModelMeta.model_validate(SPREAD_SEED | changes)


def _backends() -> list[object]:
    live = os.environ.get("SUPABASE_TEST_URL") and os.environ.get("SUPABASE_TEST_ANON_KEY") and os.environ.get("SUPABASE_TEST_SERVICE_ROLE_KEY")
    reason = "live Supabase: set SUPABASE_TEST_URL, SUPABASE_TEST_ANON_KEY and SUPABASE_TEST_SERVICE_ROLE_KEY to run against a project"
    return [
        "sqlite",
        pytest.param("supabase-loopback", marks=pytest.mark.services),
        pytest.param("supabase", marks=pytest.mark.skipif(not live, reason=reason)),
    ]


@pytest.fixture(scope="module")
def supabase_loopback(postgres_dsn: str) -> Iterator[object]:
    """A fresh database with every migration, served by the loopback PostgREST and GoTrue."""
    import psycopg

    from tests.store.postgrest_gotrue import LoopbackSupabase
    from tests.store.supabase_pg import apply_all, fresh_database

    with fresh_database(postgres_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            apply_all(conn)
        server = LoopbackSupabase(dsn)
        try:
            yield server
        finally:
            server.close()


@pytest.fixture(params=_backends())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """Each available backend, with the spread seed loaded."""
    if request.param == "sqlite":
        backend = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    else:
        from store.supabase import SupabaseStore

        if request.param == "supabase-loopback":
            server = request.getfixturevalue("supabase_loopback")
            url, anon, service = server.url, server.anon_key, server.service_role_key
        else:
            url, anon, service = os.environ["SUPABASE_TEST_URL"], os.environ["SUPABASE_TEST_ANON_KEY"], os.environ["SUPABASE_TEST_SERVICE_ROLE_KEY"]
        # no refresh timers: each would keep a thread alive for the token's lifetime after the test ends
        backend = SupabaseStore(url, anon, service_role_key=service, auto_refresh_token=False)
    backend.models.load_seeds([seed_meta()])
    yield backend
    backend.close()
