"""Services over a fresh sqlite store holding the spread seed, with fast password hashing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import services
from engine.data import DataAccess
from services.config import Settings
from services.data import sample_access
from services.facade import Services
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, seed_meta


@pytest.fixture(scope="session")
def sample() -> DataAccess:
    return sample_access()


@pytest.fixture
def svc(tmp_path: Path, sample: DataAccess) -> Iterator[Services]:
    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    store.models.load_seeds([seed_meta()])
    built = services.build(Settings(db_path=str(tmp_path / "auster.db")), store=store, data=sample, load_seeds=False)
    yield built
    built.close()


from tests.store.conftest import supabase_loopback  # noqa: E402, F401  (the loopback PostgREST/GoTrue, shared with tests/store)
