"""Issue 15's journey in a real browser (Debian's Chromium via Playwright) against `streamlit run serve.py`:
an author writes a Python model from the template in the code editor, test-runs it and submits it; an admin
reads it on the review page and approves it; the author publishes the model; another user runs it (queued,
then done), publishes the result, and a visitor without an account opens the artifact. Screenshots go to
test-output/e2e/code-*.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import OffsiteRequests, app_env, start_app, stop_app
from tests.e2e.test_journey import VISIBLE_CHARTS

pytestmark = pytest.mark.browser

TIMEOUT_MS = 90_000
PASSWORD = "a long passphrase"
SLUG = "browser-spread"


def arrange_people(db_path: Path) -> None:
    """Before the server starts: an author, an admin and a colleague (an operator makes admins)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(app_env(db_path))
    try:
        import services

        svc = services.build()
        for email, name in (("ana@example.com", "Ana Author"), ("root@example.com", "Root Admin"), ("bob@example.com", "Bob Colleague")):
            svc.auth.sign_up(email, PASSWORD, display_name=name)
        svc.store.users.set_profile("root@example.com", role="admin")
        svc.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture  # a fresh server and database for each attempt (the journey is retried once)
def app_url(tmp_path_factory: pytest.TempPathFactory, shots: Path, python_sandbox_ready: None) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("code-e2e")
    db_path = folder / "auster.db"
    arrange_people(db_path)
    base, process = start_app(db_path, shots / "code-streamlit.log")
    yield base, db_path
    stop_app(process)


@pytest.fixture(scope="module")
def python_sandbox_ready() -> None:
    from sandbox import unavailable_reason
    from tests.conftest import missing_service

    reason = unavailable_reason("python")
    if reason:
        missing_service(f"the Python sandbox cannot run here: {reason}")


class Person:
    def __init__(self, browser: Any, base: str, shots: Path, prefix: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.base, self.shots, self.prefix = base, shots, prefix

    def shot(self, name: str) -> None:
        self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(self.shots / f"code-{self.prefix}-{name}.png"), full_page=True)

    def settle(self) -> None:
        self.page.wait_for_timeout(200)
        self.page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=TIMEOUT_MS)

    def sign_in(self, email: str, name: str) -> None:
        self.page.goto(f"{self.base}/account")
        self.page.get_by_role("tab", name="Sign in").click()
        form = self.page.locator("[data-testid='stForm']").filter(has_text="Sign in")
        form.get_by_label("Email", exact=True).fill(email)
        form.get_by_label("Password", exact=True).fill(PASSWORD)
        form.get_by_role("button", name="Sign in").click()
        self.page.locator("[data-testid='stSidebar']").get_by_text(name).wait_for()
        self.settle()

    def nav(self, label: str, heading: str | None = None) -> None:
        """Open a page from the sidebar; again if the click was lost to the navigation redrawing (the admin's
        pages join it when the sign-in's rerun ends)."""
        target = self.page.get_by_role("heading", name=heading or label).first
        for _ in range(3):
            self.settle()
            self.page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=label).click()
            try:
                target.wait_for(timeout=15_000)
                break
            except Exception:
                continue
        target.wait_for()
        self.settle()


# Every address the page sets through the History API (Streamlit writes query parameters that way).
RECORD_ADDRESSES = """(() => {
  window.__addresses = [];
  for (const name of ["pushState", "replaceState"]) {
    const original = history[name].bind(history);
    history[name] = (state, title, url) => { if (url) window.__addresses.push(String(url)); return original(state, title, url); };
  }
})()"""


# A browser journey on a busy machine can lose a click to a redraw; one retry, on a fresh server and database.
# Known flaky step (builder: an edge drawn while the canvas redraws; code: a worker quicker than the address
# check, fixed; versions: none known): a second failure fails the suite.
@pytest.mark.flaky(reruns=1)
def test_write_review_run_publish_a_code_model(browser, app_url, shots):
    base, db_path = app_url
    ana, root, bob = (Person(browser, base, shots, p) for p in ("1-author", "2-admin", "3-colleague"))
    try:
        # The author writes a Python model from the template, test-runs it and submits it.
        ana.sign_in("ana@example.com", "Ana Author")
        offsite = OffsiteRequests(ana.context)
        ana.nav("Code editor")
        editor = ana.page.frame_locator("iframe[title*='code_editor']")
        editor.locator(".ace_content").first.click()
        ana.page.keyboard.press("Control+End")
        ana.page.keyboard.press("Enter")
        ana.page.keyboard.type("# written in the browser")
        ana.page.keyboard.press("Escape")
        ana.page.get_by_role("tab", name="Input schema").click()  # the editor loses focus: its text reaches the app
        ana.settle()
        ana.page.get_by_role("button", name="Test run on sample data").click()
        ana.page.get_by_text("Limits: 30 s, 512 MB memory").wait_for()
        ana.page.wait_for_function(f"({VISIBLE_CHARTS}) > 0")
        ana.shot("test-run")
        # The editor's theme imports a web font from a font host: serve.py's policy refuses it unsent.
        assert offsite.sent() == [], offsite.sent()
        ana.page.get_by_label("Model name", exact=True).fill("Spread written in the browser")
        ana.page.get_by_label("Address (slug)", exact=True).fill(SLUG)
        ana.page.get_by_role("button", name="Save and submit for review").click()
        ana.page.get_by_text("it waits for an admin's review").wait_for()
        ana.shot("submitted")

        # The admin reads the code and approves it.
        root.sign_in("root@example.com", "Root Admin")
        root.nav("Code review")
        root.page.get_by_text("1 code version(s) waiting").wait_for()
        root.page.get_by_text("# written in the browser").first.wait_for()
        root.page.get_by_label("Note to the author (required to reject)").fill("Reads only its inputs; fine.")
        root.page.get_by_role("button", name="Approve").click()
        root.page.get_by_text("Nothing is waiting for review.").wait_for()
        root.shot("approved")

        # The author publishes the model (now allowed), and the decision shows on its page.
        ana.page.goto(f"{base}/model?slug={SLUG}")
        publish = ana.page.get_by_role("button", name="Publish the model")
        publish.click()
        publish.wait_for(state="detached")  # public now: the rerun drew the page without it
        ana.settle()
        note = ana.page.get_by_text("Reads only its inputs; fine.")
        for _ in range(5):  # a click that lands during a redraw is lost: click again
            ana.page.get_by_role("tab", name="Code review").click()
            try:
                note.wait_for(timeout=5_000)
                break
            except Exception:
                ana.settle()
        note.wait_for()
        ana.shot("model-approved")

        # Another user runs it: queued or running, then done with a chart; publishes the result.
        bob.sign_in("bob@example.com", "Bob Colleague")
        bob.page.add_init_script(RECORD_ADDRESSES)
        bob.page.goto(f"{base}/model?slug={SLUG}")
        bob.page.get_by_role("heading", name="Spread written in the browser").wait_for()
        bob.page.get_by_role("button", name="Run model").click()
        bob.page.get_by_text("Queued, waiting for a worker").or_(bob.page.get_by_text("Running on a worker")).first.wait_for()
        bob.shot("queued")
        bob.page.wait_for_function(f"({VISIBLE_CHARTS}) > 0")
        # while it waited, the address named the queued run (so a reload reads it back); a quick worker may already
        # have finished when the test looks, so every address the page took is checked, not only the last
        assert bob.page.evaluate("() => window.__addresses.some(a => a.includes('run='))")
        bob.settle()
        bob.shot("done")
        bob.page.get_by_role("button", name="Publish this run").click()
        dialog = bob.page.get_by_role("dialog")
        dialog.get_by_label("Title", exact=True).fill("The spread, by code")
        dialog.get_by_label("Summary", exact=True).fill("Run by a colleague.")
        dialog.get_by_role("button", name="Publish").click()
        url_block = dialog.locator("[data-testid='stCode']")
        url_block.wait_for()
        artifact_url = url_block.inner_text().strip()
        assert "/artifact?slug=" in artifact_url

        # A visitor opens the artifact without an account.
        visitor = Person(browser, base, shots, "4-visitor")
        visitor.page.goto(artifact_url)
        visitor.page.get_by_role("heading", name="The spread, by code").wait_for()
        visitor.page.wait_for_function(f"({VISIBLE_CHARTS}) > 0")
        visitor.page.locator("[data-testid='stSidebar']").get_by_text("Not signed in").wait_for()
        visitor.shot("artifact")
        visitor.context.close()
    except Exception:
        for person in (ana, root, bob):
            person.shot("failure")
        raise
    finally:
        for person in (ana, root, bob):
            person.context.close()

    import services

    saved = dict(os.environ)
    os.environ.update(app_env(db_path))
    try:
        svc = services.build(load_seeds=False)
        model = svc.registry.get_model(SLUG, None)
        assert "# written in the browser" in model.latest.code_bundle and model.latest.review_status == "approved"
        svc.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
