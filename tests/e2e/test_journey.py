"""The analyst's journey in a real browser (Debian's Chromium via Playwright) against `streamlit run serve.py`.

Sign up, search the registry, open a model, run it, see the chart, publish, open the artifact URL in a
new anonymous browser context and see the same numbers; open both labs and run a prefilled model from
each (three models in all, every chart titled with axis titles read from the Plotly figure itself);
script payloads in a model description and an artifact title render as text; signing out leaves no
previous result on screen; at 800 px wide every button keeps its label. Screenshots of every step go
to test-output/e2e/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import OffsiteRequests, app_env, start_app, stop_app

pytestmark = pytest.mark.browser

XSS_TITLE = "Spread <img src=x onerror=alert(1)> <script>alert('t')</script>"
XSS_DESCRIPTION = "Looks harmless. <script>alert('d')</script><img src=x onerror=alert(2)> **not bold**"
TIMEOUT_MS = 60_000  # a slow, shared 2-core CI machine: waits end as soon as the condition holds
# Plotly charts drawn and visible (charts in a hidden tab do not count, nor the empty frame that stands
# where a result's chart will be: its layout's meta is "placeholder").
VISIBLE_CHARTS = ("[...document.querySelectorAll('.js-plotly-plot')].filter(e => e.querySelector('.main-svg') && e.checkVisibility()"
                  " && !(e._fullLayout && e._fullLayout.meta === 'placeholder')).length")
# Title and axis titles of every visible chart, as Plotly itself laid them out (the graph div's _fullLayout).
CHART_TITLES = """[...document.querySelectorAll('.js-plotly-plot')].filter(e => e._fullLayout && e._fullLayout.meta !== 'placeholder' && e.checkVisibility()).map(e => ({
    title: (e._fullLayout.title || {}).text || '',
    x: ((e._fullLayout.xaxis || {}).title || {}).text || '',
    y: ((e._fullLayout.yaxis || {}).title || {}).text || '',
    y2: e._fullLayout.yaxis2 ? (((e._fullLayout.yaxis2 || {}).title || {}).text || '') : null,
}))"""
# Visible buttons whose label is cut (an element inside wider than the room it has).
CUT_BUTTONS = """[...document.querySelectorAll('button')].filter(b => b.checkVisibility() && b.innerText.trim()).filter(
    b => [b, ...b.querySelectorAll('*')].some(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible')
).map(b => b.innerText.trim())"""

# Model cards whose title (a page link) is clipped instead of read whole.
CUT_CARD_TITLES = """[...document.querySelectorAll("[class*='st-key-card'] [data-testid='stPageLink'] a")].filter(a => a.checkVisibility()).filter(
    a => [...a.querySelectorAll('*')].some(el => el.scrollWidth > el.clientWidth + 1)
).map(a => a.innerText.trim())"""


def arrange_hostile_model(db_path: Path) -> None:
    """Before the server starts: a public model whose description carries a script payload."""
    import os

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(app_env(db_path))
    try:
        import services
        from contracts.dsl import ModelMeta

        svc = services.build()
        owner = svc.auth.sign_up("mallory@example.com", "correct horse battery", display_name="Mallory")
        template = svc.registry.get_model("yield-curve-10y-2y", None)
        meta = ModelMeta(
            slug="hostile-model", name="Hostile <b>model</b>", description=XSS_DESCRIPTION, lab_scope="econ", tags=["test"], difficulty="basic",
            dsl=template.latest.dsl, input_schema=template.latest.input_schema, output_schema=template.latest.output_schema,
        )
        svc.models.create(owner, meta, visibility="public")
        svc.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, shots: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e")
    db_path = folder / "auster.db"
    arrange_hostile_model(db_path)
    base, process = start_app(db_path, shots / "streamlit.log")
    yield base
    stop_app(process)


class Journey:
    """One browser page plus the screenshots it takes and the JavaScript dialogs it sees."""

    def __init__(self, page: Any, shots: Path, prefix: str):
        self.page, self.shots, self.prefix = page, shots, prefix
        self.alerts: list[str] = []
        page.on("dialog", lambda dialog: (self.alerts.append(dialog.message), dialog.dismiss()))
        page.set_default_timeout(TIMEOUT_MS)

    def shot(self, name: str) -> None:
        self.page.wait_for_timeout(300)  # let Plotly finish its transition
        self.page.screenshot(path=str(self.shots / f"{self.prefix}-{name}.png"), full_page=True)

    def settle(self) -> None:
        """Wait until Streamlit has finished the current run."""
        self.page.wait_for_timeout(200)
        self.page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=TIMEOUT_MS)

    def nav(self, label: str) -> None:
        """Open a page from the sidebar and wait for its own title (the previous page's elements do not count);
        again if the click was lost to the navigation redrawing on a busy machine."""
        target = self.page.get_by_role("heading", name=label).first
        for _ in range(3):
            self.page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=label).click()
            try:
                target.wait_for(timeout=15_000)
                break
            except Exception:
                self.settle()
        target.wait_for()
        self.settle()

    def metrics(self) -> list[str]:
        return [t.strip() for t in self.page.locator("[data-testid='stMetricValue']").all_inner_texts()]

    def assert_charts_explain_themselves(self) -> list[dict[str, Any]]:
        """Every visible chart has a title and axis titles (and a right-axis title when it has a right axis)."""
        charts = self.page.evaluate(CHART_TITLES)
        assert charts, "a chart is on screen"
        for chart in charts:
            assert chart["title"] and chart["x"] and chart["y"], chart
            assert chart["y2"] is None or chart["y2"], chart
        buttons = self.page.evaluate("[...document.querySelectorAll('.js-plotly-plot .modebar-btn')].map(b => b.getAttribute('data-title'))")
        assert "Download plot as a PNG" in buttons and not any("Share" in b for b in buttons), buttons  # no upload to Plotly's cloud
        assert "Lasso Select" not in buttons and "Box Select" not in buttons, buttons  # nothing reads a selection
        names = self.page.evaluate("[...document.querySelectorAll('.auster-chart[role=figure]')].filter(e => e.checkVisibility()).map(e => e.getAttribute('aria-label'))")
        assert len(names) >= len(charts) and all(n.startswith("Chart: ") and "<" not in n for n in names), names  # named for screen readers
        return charts

    def run_and_wait_for_chart(self, form: Any = None) -> float:
        """Press Run (in ``form`` if given) and wait for this run's status and a drawn chart; return the seconds that took."""
        done = self.page.locator("[data-testid='stExpander']").filter(has_text="Done in")
        assert done.count() == 0, "no finished run is on screen before pressing Run"
        started = time.perf_counter()
        (form or self.page).get_by_role("button", name="Run model").click()
        done.first.wait_for()
        self.page.wait_for_function(f"({VISIBLE_CHARTS}) > 0")
        elapsed = time.perf_counter() - started
        self.settle()
        return elapsed


def test_analyst_journey(browser, base_url, shots):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    offsite = OffsiteRequests(context)
    me = Journey(context.new_page(), shots, "1")
    me.base_url = base_url
    try:
        journey(me, browser, shots)
        assert offsite.sent() == [], "every page, chart and icon comes from the app itself"
    except Exception:
        me.shot("failure")
        raise
    finally:
        context.close()


def journey(me: Journey, browser: Any, shots: Path) -> None:
    page = me.page
    base_url = me.base_url

    # Registry, then sign up.
    page.goto(base_url)
    page.get_by_role("heading", name="Model registry").wait_for()
    assert page.locator("[data-testid='stSidebar']").get_by_text("Sample data (bundled snapshot)").is_visible()
    page.get_by_role("link", name="Expected move from the ATM straddle").wait_for()
    assert page.evaluate(CUT_CARD_TITLES) == [], "a card's title wraps: the whole model name is read"
    me.shot("registry")
    me.nav("Account")
    page.get_by_role("tab", name="Sign up").click()
    page.get_by_label("Display name", exact=True).fill("Ada Analyst")
    form = page.locator("[data-testid='stForm']").filter(has_text="Create account")
    form.get_by_label("Email", exact=True).fill("ada@example.com")
    form.get_by_label("Password", exact=True).fill("a long passphrase")
    form.get_by_role("button", name="Create account").click()
    page.get_by_text("Runs left today").wait_for()
    page.locator("[data-testid='stSidebar']").get_by_text("Ada Analyst").wait_for()  # the identity is drawn after the page
    me.shot("signed-up")

    # Search the registry and open a model.
    me.nav("Model registry")
    search = page.get_by_label("Search models", exact=True)
    search.fill("yield curve")
    search.press("Enter")
    me.settle()
    page.get_by_role("link", name="Volatility cone").wait_for(state="detached")  # the cards narrowed
    link = page.get_by_role("link", name="Yield curve: 10-year minus 2-year")
    link.wait_for()
    assert page.get_by_role("link", name="Expected move", exact=True).count() == 0
    me.shot("search")
    link.click()
    page.get_by_role("heading", name="Yield curve: 10-year minus 2-year").wait_for()

    # Run it and see the chart: titled with the series and the as-of date, axes titled.
    me.run_and_wait_for_chart()
    numbers = me.metrics()
    assert numbers and all(n != "n/a" for n in numbers)
    charts = me.assert_charts_explain_themselves()
    assert "DGS10, DGS2" in charts[0]["title"] and "as of 20" in charts[0]["title"] and charts[0]["x"] == "Date"
    page.get_by_text("runs left today").first.wait_for()
    assert "slug=yield-curve-10y-2y" in page.url and "start=" in page.url, "the address names the inputs of the run shown"
    me.shot("model-run")

    # Publish (the title carries a script payload) and read the URL to share.
    page.get_by_role("button", name="Publish this run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Title", exact=True).fill(XSS_TITLE)
    dialog.get_by_label("Summary", exact=True).fill("Inversions preceded recessions.")
    dialog.get_by_role("button", name="Publish").click()
    url_block = dialog.locator("[data-testid='stCode']")
    url_block.wait_for()
    artifact_url = url_block.inner_text().strip()
    assert "/artifact?slug=" in artifact_url
    me.shot("published")

    # A colleague opens the link without an account and sees the same numbers.
    anonymous = browser.new_context(viewport={"width": 1400, "height": 1000})
    colleague = Journey(anonymous.new_page(), shots, "2")
    colleague.page.goto(artifact_url)
    colleague.page.get_by_role("heading", name=XSS_TITLE).wait_for()
    colleague.page.locator(".js-plotly-plot").first.wait_for()
    assert colleague.metrics() == numbers
    # Drawn by plotly.js's cartesian bundle from serve.py's route; Streamlit's 4.7 MB plotly chunk is never fetched.
    scripts = colleague.page.evaluate("performance.getEntriesByType('resource').map(r => r.name)")
    assert any("/api/assets/plotly-cartesian-" in s for s in scripts), scripts
    assert not any("/PlotlyChart." in s for s in scripts), scripts
    assert colleague.page.evaluate("window.Plotly.version") == "4.1.1"
    colleague.page.locator("[data-testid='stSidebar']").get_by_text("Not signed in").wait_for()
    assert colleague.page.locator("img[src='x']").count() == 0
    colleague.shot("artifact-anonymous")
    anonymous.close()

    # Econ Lab: the context (date range, series) prefills the chosen model's form.
    me.page.keyboard.press("Escape")
    me.nav("Econ Lab")
    page.locator(".js-plotly-plot").first.wait_for()
    me.shot("econ-lab-chart")
    me.assert_charts_explain_themselves()
    page.get_by_role("tab", name="Models").click()
    page.get_by_text("Prefilled from the lab context").wait_for()
    me.run_and_wait_for_chart()
    me.assert_charts_explain_themselves()
    me.shot("econ-lab-model")

    # Derivatives Lab: symbol and expiration prefill the expected-move model.
    me.nav("Derivatives Lab")
    page.locator(".js-plotly-plot").first.wait_for()
    me.shot("derivatives-lab-chain")
    page.get_by_role("tab", name="Models").click()
    model_select = page.locator("[data-testid='stSelectbox']").filter(has_text="Model").last
    model_select.click()
    page.get_by_role("option", name="Expected move").first.click()
    me.settle()
    # Wait for the chosen model's own form (only expected-move takes a spot price): until the rerun
    # lands, the previous model's caption and Run button are still on screen.
    form = page.locator("[data-testid='stForm']").filter(has_text="Spot price")
    form.wait_for()
    prefilled = page.get_by_text("Prefilled from the lab context").filter(has_text="spot_price")
    prefilled.wait_for()
    assert "symbol = SPY" in prefilled.inner_text()
    me.run_and_wait_for_chart(form)
    assert any("%" in n or n.replace(",", "").replace(".", "").isdigit() for n in me.metrics())
    charts = me.assert_charts_explain_themselves()
    smile = next(c for c in charts if "Strike" in c["x"])
    assert "(%)" in smile["y"] and "SPY" in smile["title"], "implied volatility in percent, the symbol named"
    shapes = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].filter(e => e.checkVisibility()).flatMap(e => (e._fullLayout.annotations || []).map(a => a.text))")
    assert any(t.startswith("Spot ") for t in shapes) and any(t.startswith("Expected move ") for t in shapes), shapes
    me.shot("derivatives-lab-model")

    # A script payload in a model description is shown as text.
    me.nav("Model registry")
    search = page.get_by_label("Search models", exact=True)
    search.fill("hostile")
    search.press("Enter")
    me.settle()
    page.get_by_role("link", name="Hostile <b>model</b>").click()
    page.get_by_text("<script>alert('d')</script>", exact=False).first.wait_for()
    assert page.locator("img[src='x']").count() == 0
    me.shot("xss-description")

    # Sign out: no previous result stays on screen, on this page or on the pages that showed one.
    me.nav("Account")
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_role("tab", name="Sign in").wait_for()
    me.settle()
    page.locator("[data-testid='stSidebar']").get_by_text("Not signed in").wait_for()
    page.goto(f"{base_url}/model?slug=yield-curve-10y-2y")
    page.get_by_role("button", name="Run model").wait_for()
    me.settle()
    me.nav("Derivatives Lab")
    page.get_by_role("tab", name="Models").click()
    me.settle()
    for gone in ("Done in", "Publish this run", "runs left today"):
        assert page.get_by_text(gone).count() == 0, gone
    assert page.get_by_text("Expected move ($)").count() == 0 and page.get_by_text("Latest spread (pp)").count() == 0, "no model metric"
    me.shot("signed-out")

    assert me.alerts == [] and colleague.alerts == [], "no script ran"


def test_every_button_keeps_its_label_at_800_px(browser, base_url, shots):
    context = browser.new_context(viewport={"width": 800, "height": 1000})
    narrow = Journey(context.new_page(), shots, "3")
    page = narrow.page
    try:
        page.goto(f"{base_url}/model?slug=expected-move")
        page.get_by_role("button", name="Run model").wait_for()
        narrow.settle()
        narrow.run_and_wait_for_chart()
        page.get_by_role("button", name="Publish this run").wait_for()
        page.get_by_text("Downloads").click()
        page.get_by_role("button", name="Download", exact=True).wait_for()
        assert page.evaluate(CUT_BUTTONS) == [], "model page"
        narrow.shot("model-800")
        for path, heading in (("account", "Account"), ("econ-lab", "Econ Lab"), ("derivatives-lab", "Derivatives Lab"), ("", "Model registry"), ("workspace", "Workspace")):
            page.goto(f"{base_url}/{path}")
            page.get_by_role("heading", name=heading).first.wait_for()
            narrow.settle()
            assert page.evaluate(CUT_BUTTONS) == [], path
            assert page.evaluate(CUT_CARD_TITLES) == [], path
            narrow.shot(f"{path or 'registry'}-800")
    except Exception:
        narrow.shot("failure")
        raise
    finally:
        context.close()
