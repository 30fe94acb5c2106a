"""AppTest fixtures: the real app over a fresh sqlite file and the bundled sample data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
LIVE_KEYS = ("FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "SUPABASE_URL", "SUPABASE_ANON_KEY", "REDIS_URL", "KV_URL")


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh sqlite file and sample data only (no key from the developer's shell leaks in)."""
    for name in LIVE_KEYS:
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "auster.db"
    monkeypatch.setenv("AUSTER_DB_PATH", str(db))
    monkeypatch.setenv("AUSTER_DATA_MODE", "sample")
    return db


@pytest.fixture
def svc(fresh_store: Path) -> Any:
    """The services over the same sqlite file as the app under test (for arranging and checking)."""
    import services

    handle = services.build()
    yield handle
    handle.close()


@pytest.fixture
def open_page(fresh_store: Path) -> Callable[..., AppTest]:
    """``open_page("views/model.py", slug="...")``: run the app, switch to the page with the query, run it."""

    def _open(page: str | None = None, at: AppTest | None = None, **query: str) -> AppTest:
        app = at or AppTest.from_file(str(APP), default_timeout=60)
        if at is None:
            app.run()
        if page is not None:
            app.query_params.clear()
            app.query_params.update(query)
            app.switch_page(page).run()
        return app

    return _open
