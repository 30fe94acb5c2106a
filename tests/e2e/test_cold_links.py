"""Regression: a shared link opened on a freshly started server shows the app, not Streamlit's
file-based page list or a "Page not found" box.

Streamlit treats a directory named ``pages/`` beside the entry point as old-style pages: a first
visit to ``/artifact`` ran ``pages/artifact.py`` on its own (no sidebar, no navigation) and a first
visit to ``/econ-lab`` raised "Page not found" over the right page. The views live in ``views/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import start_app, stop_app


@pytest.fixture(scope="module")
def cold_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("cold")
    base, process = start_app(folder / "auster.db", folder / "streamlit.log")
    yield base
    stop_app(process)


@pytest.mark.parametrize("path, heading", [
    ("/artifact?slug=no-such-artifact", "Artifact not found"),
    ("/econ-lab", "Econ Lab"),
    ("/model?slug=sahm-rule", "Sahm rule recession indicator"),
])
def test_a_first_visit_by_link_shows_the_app(cold_server: str, browser, path: str, heading: str, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(cold_server + path)
        page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text("Model registry").wait_for(timeout=30_000)  # our navigation, with its sections
        assert sidebar.get_by_text("Sample data (bundled snapshot)").is_visible()
        assert page.get_by_text("Page not found").count() == 0
        assert sidebar.get_by_text("derivatives lab", exact=True).count() == 0  # no file-based page list
    except Exception:
        page.screenshot(path=str(shots / f"cold-{heading.split()[0].lower()}.png"))
        raise
    finally:
        context.close()
