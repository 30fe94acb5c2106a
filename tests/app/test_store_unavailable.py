"""A store the app cannot open is one sentence on the page, not a traceback (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, LIVE_KEYS


def test_a_database_the_app_cannot_write_is_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LIVE_KEYS:
        monkeypatch.delenv(name, raising=False)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    monkeypatch.setenv("AUSTER_DB_PATH", str(blocker / "auster.db"))
    monkeypatch.setenv("AUSTER_DATA_MODE", "sample")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    (error,) = at.error
    assert "The app cannot write to its database" in error.value and str(tmp_path) not in error.value
