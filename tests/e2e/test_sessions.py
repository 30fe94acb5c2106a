"""Sessions that last (issue 11), in a real browser against `streamlit run serve.py`.

Sign in, reload: still signed in; open a shared link in a new tab: still signed in; run a model, sign
out: the result is gone and a reload stays signed out. A guest keeps its identity (and its runs)
across a reload. The cookie is HttpOnly and SameSite=Lax, and no script on the page can read it.
Screenshots go to test-output/e2e/.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SHOTS, start_app, stop_app

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
MODEL = "yield-curve-10y-2y"
# Result charts on screen (the empty frame that waits for a result is not one).
CHARTS = ("[...document.querySelectorAll('.js-plotly-plot')].filter(e => e.querySelector('.main-svg') && e.checkVisibility()"
          " && !(e._fullLayout && e._fullLayout.meta === 'placeholder')).length")


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-sessions") / "auster.db"


@pytest.fixture(scope="module")
def base_url(db_path: Path, shots: Path) -> Iterator[str]:
    base, process = start_app(db_path, shots / "streamlit-sessions.log")
    yield base
    stop_app(process)


def guests(db_path: Path) -> list[str]:
    """The guest identities the server has made, read from its database."""
    with sqlite3.connect(db_path) as db:
        return [row[0] for row in db.execute("SELECT id FROM profiles WHERE is_guest = 1")]


def settle(page: Any) -> None:
    page.wait_for_timeout(200)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=TIMEOUT_MS)


def sidebar_text(page: Any) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def wait_for_cookie(context: Any, present: bool = True) -> dict[str, Any] | None:
    """The session cookie as the browser holds it, once it is (or is no longer) there."""
    for _ in range(150):
        found = next((c for c in context.cookies() if c["name"] == "auster_session" and c["value"]), None)
        if (found is not None) == present:
            return found
        context.pages[0].wait_for_timeout(200)
    context.pages[0].screenshot(path=str(SHOTS / "sessions-cookie-failure.png"), full_page=True)
    raise AssertionError(f"the session cookie is {'missing' if present else 'still there'}")


def open_and_wait(page: Any, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for()
    settle(page)


def run_model(page: Any) -> None:
    page.get_by_role("button", name="Run model").click()
    page.locator("[data-testid='stExpander']").filter(has_text="Done in").first.wait_for()
    page.wait_for_function(f"({CHARTS}) > 0")
    settle(page)


def test_a_sign_in_survives_reloads_new_tabs_and_shared_links_until_sign_out(browser, base_url, shots):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        open_and_wait(page, f"{base_url}/account", "Account")
        page.get_by_role("tab", name="Sign up").click()
        page.get_by_label("Display name", exact=True).fill("Ada Analyst")
        form = page.locator("[data-testid='stForm']").filter(has_text="Create account")
        form.get_by_label("Email", exact=True).fill("ada@example.com")
        form.get_by_label("Password", exact=True).fill("a long passphrase")
        form.get_by_role("button", name="Create account").click()
        page.get_by_text("Runs left today").wait_for()
        cookie = wait_for_cookie(context)
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
        assert not cookie["secure"]  # served over plain http here; Secure is added over https
        assert "auster_session" not in page.evaluate("document.cookie")  # no script on the page can read it
        page.screenshot(path=str(shots / "sessions-1-signed-up.png"), full_page=True)

        page.reload()  # a reload is a new browser session: the cookie brings Ada back
        page.get_by_text("Runs left today").wait_for()
        assert "Signed in as Ada Analyst" in sidebar_text(page)
        page.screenshot(path=str(shots / "sessions-2-reloaded.png"), full_page=True)

        shared = context.new_page()  # a shared link opened in a new tab
        shared.set_default_timeout(TIMEOUT_MS)
        open_and_wait(shared, f"{base_url}/model?slug={MODEL}", "Yield curve: 10-year minus 2-year")
        assert "Signed in as Ada Analyst" in sidebar_text(shared)
        run_model(shared)
        shared.screenshot(path=str(shots / "sessions-3-shared-link-run.png"), full_page=True)

        # Sign out in that tab: the result on screen is gone, and nothing brings the session back.
        shared.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Account").click()
        shared.get_by_role("button", name="Sign out", exact=True).click()
        shared.get_by_role("tab", name="Sign in").wait_for()
        wait_for_cookie(context, present=False)
        shared.go_back()  # back to the model page, in the same browser session
        shared.get_by_role("heading", name="Yield curve: 10-year minus 2-year").first.wait_for()
        settle(shared)
        assert shared.evaluate(CHARTS) == 0 and shared.get_by_role("button", name="Publish this run").count() == 0
        assert "Not signed in" in sidebar_text(shared)
        shared.screenshot(path=str(shots / "sessions-4-signed-out.png"), full_page=True)
        shared.reload()
        shared.get_by_role("heading", name="Yield curve: 10-year minus 2-year").first.wait_for()
        settle(shared)
        assert "Not signed in" in sidebar_text(shared)
        page.reload()  # the first tab, reloaded, is signed out too
        page.get_by_role("tab", name="Sign in").wait_for()
        assert "Not signed in" in sidebar_text(page)
    finally:
        context.close()


def test_a_guest_keeps_its_identity_across_a_reload(browser, base_url, db_path, shots):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        open_and_wait(page, f"{base_url}/model?slug={MODEL}", "Yield curve: 10-year minus 2-year")
        assert "Not signed in" in sidebar_text(page)
        assert wait_for_cookie(context, present=False) is None and guests(db_path) == []  # browsing makes no guest
        run_model(page)  # the first need of an identity: a guest is made
        wait_for_cookie(context)
        (guest,) = guests(db_path)
        page.reload()
        page.get_by_role("heading", name="Yield curve: 10-year minus 2-year").first.wait_for()
        settle(page)
        assert "Signed in as Guest" in sidebar_text(page)
        run_model(page)  # runs again as the same guest: no second identity
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Workspace").click()
        page.get_by_role("heading", name="Workspace").first.wait_for()
        settle(page)
        assert guests(db_path) == [guest]
        with sqlite3.connect(db_path) as db:
            assert db.execute("SELECT COUNT(*) FROM model_runs WHERE user_id = ?", (guest,)).fetchone()[0] == 2
        page.screenshot(path=str(shots / "sessions-5-guest-reloaded.png"), full_page=True)
    finally:
        context.close()
