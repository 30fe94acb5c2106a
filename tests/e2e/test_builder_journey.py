"""The builder journey (issue 12) in a real browser: from an empty builder, build "10y minus 3m spread
with its 5-year z-score" on the canvas (two fetches, sub, zscore, one output), see the error for a
missing parameter on its node and field, fix it, preview the z-score, find the draft again after a
reload, save with a changelog, run the model from its page, publish the run and open the artifact
anonymously. Screenshots of every step go to test-output/e2e/builder-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import OffsiteRequests, start_app, stop_app
from tests.e2e.test_journey import VISIBLE_CHARTS, Journey

pytestmark = pytest.mark.browser

NAME = "10y minus 3m spread with its 5-year z-score"
CANVAS = "iframe[title='streamlit_flow.streamlit_flow']"


@pytest.fixture  # a fresh server and database for each attempt (the journey is retried once)
def base_url(tmp_path_factory: pytest.TempPathFactory, shots: Path) -> Iterator[str]:
    db_path = tmp_path_factory.mktemp("e2e-builder") / "auster.db"
    base, process = start_app(db_path, shots / "streamlit-builder.log")
    yield base
    stop_app(process)


class Builder(Journey):
    """The journey's page, with the canvas (an iframe) and the builder's controls."""

    @property
    def canvas(self) -> Any:
        return self.page.frame_locator(CANVAS).last  # the canvas is redrawn afresh when its extent changes

    def nodes(self) -> int:
        return self.canvas.locator(".react-flow__node").count()

    def edges(self) -> int:
        return self.canvas.locator(".react-flow__edge").count()

    def wait_for(self, what: str, count: int, timeout_ms: float = 60_000) -> None:
        self.page.wait_for_function(
            f"() => {{ const f = [...document.querySelectorAll(\"{CANVAS}\")].pop(); return f && f.contentDocument && "
            f"f.contentDocument.querySelectorAll('.react-flow__{what}').length === {count}; }}",
            timeout=timeout_ms,
        )
        self.settle()
        self.page.wait_for_timeout(700)  # the canvas has taken the new state and echoed it back

    def add(self, operation: str) -> None:
        self.settle()
        before = self.nodes() if self.page.locator(CANVAS).count() else 0
        sidebar = self.page.locator("[data-testid='stSidebar']")
        search = sidebar.get_by_label("Search operations", exact=True)
        search.fill(operation)
        search.press("Enter")
        self.settle()
        sidebar.get_by_role("button", name=operation, exact=True).click()
        self.page.locator(CANVAS).last.wait_for()
        self.wait_for("node", before + 1)

    def has_edge(self, source: str, target: str) -> bool:
        return self.canvas.locator(f"[data-testid^='rf__edge-{source}->{target}#']").count() > 0

    def drag_edge(self, source: str, target: str, *, refused_with: str | None = None) -> None:
        """Draw an edge from ``source``'s output handle to ``target``'s input handle, and wait for it to be kept (or
        refused with a sentence). Again if the canvas was busy redrawing when the mouse went down."""
        self.settle()
        for _ in range(3):
            self.page.wait_for_timeout(800)
            self.canvas.locator(".react-flow__controls-fitview").dispatch_event("click")  # as a reader would, when a step sits at the edge
            self.page.wait_for_timeout(400)
            start = self.canvas.locator(f".react-flow__node[data-id='{source}'] .react-flow__handle.source").bounding_box()
            end = self.canvas.locator(f".react-flow__node[data-id='{target}'] .react-flow__handle.target").bounding_box()
            self.page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
            self.page.mouse.down()
            self.page.mouse.move(end["x"] + 2, end["y"] + 2, steps=10)
            self.page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=4)
            self.page.mouse.up()
            self.page.wait_for_timeout(1500)  # the value goes to the server, which answers with the canvas redrawn
            for _ in range(20):  # a slow server answers late: drawing the edge again would only be refused as a duplicate
                self.settle()
                if refused_with and self.page.get_by_text(refused_with).count() and not self.has_edge(source, target):
                    return
                if not refused_with and self.has_edge(source, target):
                    self.page.wait_for_timeout(700)  # the canvas has taken the new state and echoed it back
                    return
                self.page.wait_for_timeout(500)
        raise AssertionError(f"the edge {source} -> {target} was neither drawn nor refused")

    def add_output(self, option: str, listed: str) -> None:
        """Choose ``option`` in the "Show a step" form and add it; again if the choice or the click was lost to a
        rerun (on a busy machine), until the outputs list shows it (an expander whose title has ``listed``)."""
        form = self.page.locator("[data-testid='stForm']").filter(has_text="Show a step")
        added = self.page.locator("[data-testid='stExpander']").filter(has_text=listed)
        for _ in range(3):
            self.settle()
            if added.count():
                return
            step = form.locator("[data-testid='stSelectbox']").nth(1)
            step.click()
            self.page.get_by_role("option", name=option).click()
            form.get_by_role("button", name="Add output").click()
            self.settle()
            try:
                added.first.wait_for(timeout=10_000)
                return
            except Exception:
                continue
        added.first.wait_for()

    def select(self, step: str) -> None:
        """Click a node; again if the click landed while the canvas was redrawing."""
        heading = self.page.get_by_role("heading", name=f"Step {step}")
        for _ in range(3):
            self.settle()
            self.canvas.locator(f".react-flow__node[data-id='{step}']").click()
            try:
                heading.wait_for(timeout=8_000)
                break
            except Exception:
                continue
        heading.wait_for()
        self.settle()

    def live(self, label: str) -> Any:
        """The live field labelled ``label``, not one left over from the previous rerun (Streamlit marks those data-stale)."""
        return self.page.locator("[data-testid='stElementContainer'][data-stale='false']").get_by_label(label, exact=True)

    def type_into(self, label: str, value: str, *, check: Any = None) -> None:
        """Type into an editor field and press Enter; ``check()`` says when the change is in (typed again if not)."""
        for attempt in range(5):  # under load the canvas's echo can rerun the page while a value is typed
            self.settle()
            self.page.wait_for_timeout(1000 * attempt)
            field = self.live(label)
            field.fill(value)
            field.press("Enter")
            self.settle()
            self.page.wait_for_timeout(500)
            if check is None or check():
                return
        raise AssertionError(f"{label} = {value} was not taken")


def sign_in(me: Builder, base_url: str, *, new: bool) -> None:
    me.page.goto(f"{base_url}/account")
    me.page.get_by_role("heading", name="Account").wait_for()
    me.settle()
    page = me.page
    if new:
        page.get_by_role("tab", name="Sign up").click()
        page.get_by_label("Display name", exact=True).fill("Bea Builder")
        form = page.locator("[data-testid='stForm']").filter(has_text="Create account")
        form.get_by_label("Email", exact=True).fill("bea@example.com")
        form.get_by_label("Password", exact=True).fill("a long passphrase")
        form.get_by_role("button", name="Create account").click()
    else:
        form = page.locator("[data-testid='stForm']").filter(has_text="Sign in")
        form.get_by_label("Email", exact=True).fill("bea@example.com")
        form.get_by_label("Password", exact=True).fill("a long passphrase")
        form.get_by_role("button", name="Sign in").click()
    page.get_by_text("Runs left today").wait_for()
    me.settle()


# A browser journey on a busy machine can lose a click to a redraw; one retry, on a fresh server and database.
# Known flaky steps (builder: an edge drawn while the canvas redraws; an output chosen in the form while the page
# reran, now added again until it is listed; under a loaded machine, once, the first fetch's series id typed and
# taken, then gone a few edits later, not understood yet; code: a worker quicker than the address check, fixed;
# versions: none known): a second failure fails the suite.
@pytest.mark.flaky(reruns=1)
def test_builder_journey(browser, base_url, shots):
    # 1800 wide: on a busy machine the canvas can keep the fit it had before the step editor narrowed it, and a
    # step at its right edge would be out of reach of the mouse (a reader pans; the journey needs the handle).
    context = browser.new_context(viewport={"width": 1800, "height": 1100})
    offsite = OffsiteRequests(context)
    me = Builder(context.new_page(), shots, "builder")
    try:
        journey(me, browser, base_url)
        assert offsite.sent() == [], "the canvas, its fonts and styles come from the app itself"
    except Exception:
        me.shot("failure")
        raise
    finally:
        context.close()


def journey(me: Builder, browser: Any, base_url: str) -> None:
    page = me.page
    sign_in(me, base_url, new=True)

    # From the registry's "New model" to an empty builder.
    me.nav("Model registry")
    page.get_by_role("link", name="New model").click()
    page.get_by_role("heading", name="Model builder").wait_for()
    me.settle()
    page.get_by_text("The canvas is empty").wait_for()
    me.shot("01-empty")

    # Two fetches, sub and zscore from the palette; edges drawn on the canvas.
    for operation in ("fetch_series", "fetch_series", "sub", "zscore"):
        me.add(operation)
    me.shot("02-four-steps")
    me.drag_edge("series", "sub")
    me.drag_edge("series_2", "sub")
    me.drag_edge("sub", "zscore")
    me.drag_edge("zscore", "series", refused_with="that would make a loop")  # refused with a sentence; the edge goes away
    me.shot("03-connected-and-a-refused-edge")

    # Parameters in the step editor: the 10-year series and a 5-year (1,260 trading days) window.
    me.select("series")
    # Taken when the live field shows it and the status counts one error fewer, 2 of 3 (the canvas's node text can lag a redraw).
    me.type_into("Series Id *", "DGS10", check=lambda: me.live("Series Id *").input_value() == "DGS10" and page.get_by_text("2 errors:").is_visible())
    me.select("zscore")
    me.type_into("Window", "1260", check=lambda: page.get_by_label("Window", exact=True).input_value() == "1260")
    # One output: the z-score as a chart series.
    me.settle()
    page.get_by_role("tab", name="Outputs").click()
    me.add_output("zscore (series)", "← zscore")
    page.get_by_role("tab", name="Canvas").click()

    # The missing series id of the second fetch: on its node, on its field, and Save is disabled.
    page.get_by_text("1 error: fix it to save").wait_for()
    node = me.canvas.locator(".react-flow__node[data-id='series_2']")
    expect(node).to_contain_text("series_id: Field required", timeout=30_000)  # the canvas redraws a moment after the status
    assert page.get_by_role("button", name="Save…").is_disabled()
    me.select("series_2")
    assert page.locator("[data-testid='stAlert']").filter(has_text="Field required").count() >= 1
    me.shot("04-missing-parameter-on-its-node-and-field")

    me.type_into("Series Id *", "DGS3MO", check=lambda: page.get_by_text("No errors: ready to save.").is_visible())
    page.get_by_text("No errors: ready to save.").wait_for()
    expect(me.canvas.locator(".react-flow__node[data-id='series_2']")).not_to_contain_text("error", timeout=30_000)
    me.shot("05-fixed")

    # Preview the z-score: a chart and its timing, not a recorded run.
    me.select("zscore")
    page.get_by_role("button", name="Preview this step").click()
    page.get_by_text("Not recorded as a run").wait_for()
    page.wait_for_function(f"({VISIBLE_CHARTS}) > 0")
    me.shot("06-preview")

    # A reload starts a new browser session; the session cookie keeps Bea signed in and the draft is back as it was.
    page.reload()
    page.get_by_text("Signed in as").first.wait_for()
    me.settle()
    me.nav("Model builder")
    page.get_by_text("Your autosaved draft is back").wait_for()
    me.wait_for("node", 4)
    assert me.edges() == 3 and page.get_by_text("No errors: ready to save.").is_visible()
    me.shot("07-draft-after-reload")

    # Save with a changelog: a private model, its address checked.
    page.get_by_role("button", name="Save…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill(NAME)
    dialog.get_by_label("Name", exact=True).press("Tab")
    me.settle()
    slug = "10y-minus-3m-spread-with-its-5-year-z-score"
    expect(dialog.get_by_label("Address (slug)", exact=True)).to_have_value(slug, timeout=30_000)  # suggested from the name
    dialog.get_by_text("is free").wait_for()
    dialog.get_by_label("What changed (one line)", exact=True).fill("First version: the 10y-3m spread and its 5-year z-score")
    me.shot("08-save-dialog")
    dialog.get_by_role("button", name="Save").click()
    page.get_by_text("Created your model").wait_for()
    assert page.get_by_text("only you can see it").is_visible()
    me.shot("09-saved")

    # Run it from its model page, then publish the run.
    page.get_by_role("link", name="Open its page to run it").click()
    page.get_by_role("heading", name=NAME).wait_for()
    me.settle()
    page.get_by_role("button", name="Run model").click()
    page.locator("[data-testid='stExpander']").filter(has_text="Done in").first.wait_for()
    page.wait_for_function(f"({VISIBLE_CHARTS}) > 0")
    me.settle()
    me.shot("10-model-run")
    page.get_by_role("button", name="Publish this run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Title", exact=True).fill("The 10y-3m spread is far from its 5-year mean")
    dialog.get_by_role("button", name="Publish").click()
    url_block = dialog.locator("[data-testid='stCode']")
    url_block.wait_for()
    artifact_url = url_block.inner_text().strip()
    me.shot("11-published")

    # Anyone opens the artifact without an account; the model itself stays private.
    anonymous = browser.new_context(viewport={"width": 1400, "height": 1000})
    visitor = Journey(anonymous.new_page(), me.shots, "builder")
    visitor.page.goto(artifact_url)
    visitor.page.get_by_role("heading", name="The 10y-3m spread is far from its 5-year mean").wait_for()
    visitor.page.wait_for_function(f"({VISIBLE_CHARTS}) > 0")
    assert visitor.page.locator("[data-testid='stSidebar']").get_by_text("Not signed in").is_visible()
    visitor.shot("12-artifact-anonymous")
    visitor.page.goto(f"{base_url}/model?slug={slug}")
    visitor.page.get_by_role("heading", name="Model not found").wait_for()
    anonymous.close()
    assert me.alerts == [] and visitor.alerts == []
