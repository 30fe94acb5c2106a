"""The embedded store when another process holds the database: a sentence, then business as usual."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from contracts.errors import StoreUnavailable
from contracts.records import ModelQuery
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, seed_meta


def test_a_locked_database_is_a_sentence_and_the_store_recovers(tmp_path: Path) -> None:
    path = tmp_path / "auster.db"
    store = SqliteStore(path, password_hasher=FAST_HASHER, busy_timeout_s=0.2)
    store.models.load_seeds([seed_meta()])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing (or stuck) past the busy timeout
    with pytest.raises(StoreUnavailable, match="busy or unavailable; try again in a moment"):
        store.users.guest()
    other.execute("ROLLBACK")
    other.close()
    user = store.users.guest()  # no transaction was left open behind
    assert [m.slug for m in store.models.list_models(user, ModelQuery())] == ["spread-10y-2y"]
    store.close()
