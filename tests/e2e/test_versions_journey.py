"""Issue 13's journey in a real browser: its author edits a model twice in the builder (a step's parameter in
the step editor, saved with a changelog); a reader opens its versions, diffs version 1 and version 3,
compares their results, forks it, finds the fork saying where it came from, comments and replies on it,
runs it and sees the run on the fork's usage page. Version 1 is arranged through the services before the
server starts; screenshots go to test-output/e2e/versions-*.png."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import app_env, start_app, stop_app
from tests.e2e.test_builder_journey import Builder
from tests.e2e.test_journey import Journey

pytestmark = pytest.mark.browser

SLUG = "spread-watch"


def arrange_model(db_path: Path) -> None:
    """Ana's public spread model, smoothed over a week (a 5-day rolling mean): version 1."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(app_env(db_path))
    try:
        import services
        from tests.store.conftest import SPREAD_SEED

        svc = services.build()
        ana = svc.auth.sign_up("ana@example.com", "a long passphrase", display_name="Ana")
        dsl = copy.deepcopy(SPREAD_SEED["dsl"])
        dsl["steps"].append({"id": "smooth", "operation": "rolling_mean", "inputs": ["spread"], "params": {"window": 5}})
        dsl["steps"][3]["inputs"] = ["smooth"]
        dsl["outputs"]["series"][0]["source"] = "smooth"
        svc.models.create(ana, {**SPREAD_SEED, "dsl": dsl, "slug": SLUG, "name": "Spread watch"}, visibility="public", changelog="Smoothed over a week")
        svc.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def sign_in_as_ana(me: Builder, base_url: str) -> None:
    me.page.goto(f"{base_url}/account")
    me.page.get_by_role("heading", name="Account").wait_for()
    me.settle()
    form = me.page.locator("[data-testid='stForm']").filter(has_text="Sign in")
    form.get_by_label("Email", exact=True).fill("ana@example.com")
    form.get_by_label("Password", exact=True).fill("a long passphrase")
    form.get_by_role("button", name="Sign in").click()
    me.page.get_by_text("Runs left today").wait_for()
    me.settle()


def edit_smoothing(me: Builder, base_url: str, window: int, changelog: str, version: int) -> None:
    """In the builder: choose the smoothing step from the Steps list (no canvas clicks), change its window in the
    step editor, save with a changelog."""
    page = me.page
    page.goto(f"{base_url}/builder?slug={SLUG}")
    page.get_by_text(f"Editing your model {SLUG}").wait_for()
    me.settle()
    page.get_by_role("tab", name="Steps (keyboard)").click()
    me.settle()
    page.locator("[data-testid='stSelectbox']").filter(has_text="Select a step to edit").click()
    page.get_by_role("option", name="smooth", exact=True).click()
    page.get_by_role("heading", name="Step smooth").wait_for()
    me.settle()
    # the number field itself (the selectbox beside it, "Window from", binds the parameter to a run input instead)
    window_field = page.locator("[data-testid='stElementContainer'][data-stale='false'] [data-testid='stNumberInput']").get_by_label("Window *", exact=True)
    me.type_into("Window *", str(window), check=lambda: window_field.input_value() == str(window))
    page.get_by_text("No errors: ready to save.").wait_for()
    me.settle()
    page.get_by_role("button", name="Save…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Saves a new version of").wait_for()
    dialog.get_by_label("What changed (one line)", exact=True).fill(changelog)
    me.shot(f"edit-{version}")
    dialog.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text(f"Saved version {version} of").wait_for()
    me.settle()


@pytest.fixture  # a fresh server and database for each attempt (the journey is retried once)
def base_url(tmp_path_factory: pytest.TempPathFactory, shots: Path) -> Iterator[str]:
    db_path = tmp_path_factory.mktemp("e2e-versions") / "auster.db"
    arrange_model(db_path)
    base, process = start_app(db_path, shots / "streamlit-versions.log")
    yield base
    stop_app(process)


# A browser journey on a busy machine can lose a click to a redraw; one retry, on a fresh server and database.
# Known flaky step (builder: an edge drawn while the canvas redraws; code: a worker quicker than the address
# check, fixed; versions: none known): a second failure fails the suite.
@pytest.mark.flaky(reruns=1)
def test_diff_compare_and_fork_a_model_edited_twice(browser, base_url, shots) -> None:
    author = browser.new_context(viewport={"width": 1800, "height": 1100})
    ana = Builder(author.new_page(), shots, "versions")
    try:
        sign_in_as_ana(ana, base_url)
        edit_smoothing(ana, base_url, 10, "Smoothed over two weeks", 2)
        edit_smoothing(ana, base_url, 20, "Smoothed over a month", 3)
        assert not ana.alerts
    except Exception:
        ana.shot("failure-editing")
        raise
    finally:
        author.close()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    me = Journey(context.new_page(), shots, "versions")
    page = me.page
    try:
        page.goto(f"{base_url}/model?slug={SLUG}")
        page.get_by_role("heading", name="Spread watch").wait_for()
        me.settle()
        page.get_by_role("tab", name="Versions").click()
        page.get_by_text("Smoothed over a month").first.wait_for()  # the history table lists the edits made in the builder
        assert page.get_by_text("Smoothed over two weeks").first.is_visible()
        page.get_by_text("1 difference from version 2 to version 3").wait_for()

        page.locator("[data-testid='stSelectbox']").filter(has_text="From version").click()
        page.get_by_role("option", name="1", exact=True).click()
        page.get_by_text("1 difference from version 1 to version 3: 1 changed").wait_for()
        me.settle()
        assert page.get_by_text("rolling_mean of spread").is_visible()
        assert page.locator("li").filter(has_text="params.window").filter(has_text="5 → 20").count() == 1  # both edits, one parameter
        me.shot("diff-v1-v3")

        page.get_by_role("button", name="Compare results of v1 and v3").click()
        page.get_by_text("give different results").wait_for()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0")
        me.settle()
        assert page.get_by_text("v1: 10y - 2y (pp)").first.is_visible()  # the overlay's legend names both versions
        me.shot("compare-v1-v3")

        page.get_by_role("button", name="Fork", exact=True).click()
        link = page.get_by_role("link", name="Open your fork")
        link.wait_for()
        me.settle()
        fork_url = link.get_attribute("href")
        page.goto(fork_url if fork_url.startswith("http") else f"{base_url}/{fork_url.lstrip('/')}")  # the session cookie keeps the guest
        page.get_by_role("heading", name="Spread watch (fork)").wait_for()
        me.settle()
        lineage = page.get_by_text("Forked from Spread watch")
        lineage.wait_for()
        assert "version 3, by Ana" in lineage.inner_text()
        page.get_by_role("link", name=f"Open {SLUG}").wait_for()
        me.shot("fork-lineage")

        # A comment and a reply on the fork's discussion.
        page.get_by_role("tab", name="Discussion").click()
        page.get_by_label("Add a comment").fill("Why a 20-day mean? See https://fred.stlouisfed.org/series/T10Y2Y")
        page.get_by_role("button", name="Post comment").click()
        page.get_by_text("Your comment is posted.").wait_for()
        me.settle()
        assert page.get_by_role("link", name="https://fred.stlouisfed.org/series/T10Y2Y").is_visible()  # an http(s) address is a link
        page.get_by_role("button", name="Reply").first.click()
        page.get_by_label("Your reply").fill("It reads the trend, not the noise.")
        page.get_by_role("button", name="Post reply").click()
        page.get_by_text("Your reply is posted.").wait_for()
        page.get_by_text("It reads the trend, not the noise.").wait_for()
        me.settle()
        me.shot("discussion")

        # The fork's owner runs it and sees the run on the usage page.
        page.get_by_role("tab", name="Run").click()
        page.get_by_role("button", name="Run model").click()
        page.locator("[data-testid='stExpander']").filter(has_text="Done in").first.wait_for()
        me.settle()
        page.get_by_role("link", name="Usage of this model").click()
        page.get_by_role("heading", name="Model usage").wait_for()
        me.settle()
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3")
        runs = page.locator("[data-testid='stMetric']").filter(has_text="Runs").locator("[data-testid='stMetricValue']")
        assert runs.inner_text().strip() == "1"
        me.shot("usage")
        assert not me.alerts
    except Exception:
        me.shot("failure")
        raise
    finally:
        context.close()
