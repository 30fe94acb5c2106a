"""Every page of the app, driven by Streamlit's AppTest over a fresh sqlite file and the sample data."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from contracts.dsl import ModelMeta
from tests.app.conftest import APP

YIELD_CURVE = "yield-curve-10y-2y"
EXPECTED_MOVE = "expected-move"
XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)> [click](javascript:alert(1)) **bold**'

PAGES = [
    ("views/registry.py", {}, "Model registry"),
    ("views/model.py", {"slug": YIELD_CURVE}, "Yield curve"),
    ("views/model.py", {}, "Model"),
    ("views/model.py", {"slug": "no-such-model"}, "Model not found"),
    ("views/artifact.py", {"slug": "no-such-artifact"}, "Artifact not found"),
    ("views/artifacts.py", {}, "Published artifacts"),
    ("views/econ_lab.py", {}, "Econ Lab"),
    ("views/derivatives_lab.py", {}, "Derivatives Lab"),
    ("views/workspace.py", {}, "Workspace"),
    ("views/account.py", {}, "Account"),
]


def no_failure(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at: AppTest) -> str:
    """Everything written on the page as markdown, captions, titles and text, as a reader sees it (unescaped)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [t.value for t in at.title] + [t.value for t in at.text]
    parts += [s.value for s in at.success] + [s.value for s in at.info] + [s.value for s in at.warning] + [s.value for s in at.error]
    return unescape("\n".join(parts))


def unescape(text: str) -> str:
    """What a reader sees of a markdown-escaped text (backslashes and the invisible word joiners gone)."""
    return text.replace("\\", "").replace("\u2060", "")


def charts(at: AppTest) -> list[Any]:
    """The charts on the page, without the empty frame that stands where a result's chart will be."""
    return [c for c in at.get("plotly_chart") if '"meta":"placeholder"' not in c.proto.spec.replace(" ", "")]


def run_model(at: AppTest, slug: str) -> AppTest:
    at.button(key=f"{slug}.run").click().run()
    return at


def open_expander(at: AppTest, key: str) -> AppTest:
    """Open a result's expander (``{panel key}.downloads.open``, ``.trace.open``): its content is drawn only then."""
    at.session_state[key] = True
    return at.run()


def metric_values(at: AppTest) -> dict[str, str]:
    return {unescape(m.label): m.value for m in at.metric}


@pytest.mark.parametrize(("page", "query", "title"), PAGES, ids=[f"{p}{q}" for p, q, _ in PAGES])
def test_every_page_renders_on_the_sample_data(open_page, page, query, title):
    at = open_page(page, **query)
    no_failure(at)
    assert title in unescape(at.title[0].value)


def test_sidebar_says_who_is_signed_in_and_that_data_is_the_sample(open_page, svc):
    # AppTest keeps what the entry script writes before page.run() only on a session's first run (the
    # browser always shows it, see tests/e2e), so each check starts a session.
    at = open_page()
    sidebar = lambda: "\n".join([m.value for m in at.sidebar.markdown] + [i.value for i in at.sidebar.info])  # noqa: E731
    assert "Not signed in" in sidebar()
    assert "Sample data" in sidebar() and "as of 20" in sidebar()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auster.user"] = svc.auth.sign_up("grace@example.com", "a long passphrase", display_name="Grace")
    at.run()
    assert "Signed in as **Grace**" in sidebar()


def test_registry_search_narrows_the_cards(open_page):
    at = open_page("views/registry.py")
    at.text_input(key="q").input("yield curve").run()
    no_failure(at)
    links = [unescape(link.proto.label) for link in at.get("page_link")]
    assert any("Yield curve" in label for label in links)
    assert not any("Expected move" in label for label in links)


def test_the_form_runs_a_model_and_shows_chart_metrics_and_provenance(open_page, svc):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    run_model(at, YIELD_CURVE)
    no_failure(at)
    assert charts(at), "a chart is shown"
    assert "Latest spread (pp)" in metric_values(at)
    assert "Sample data (bundled snapshot of FRED data), as of" in texts(at)
    assert not at.get("download_button") and not any("Operation" in t.value.columns for t in at.table), "the downloads and the step trace wait until opened"
    open_expander(at, f"{YIELD_CURVE}.result.trace.open")
    assert any("Operation" in t.value.columns for t in at.table), "the step trace, once opened"
    open_expander(at, f"{YIELD_CURVE}.result.downloads.open")
    picker = at.selectbox(key=f"{YIELD_CURVE}.result.download.pick")
    assert len(picker.options) >= 4  # two tables, the series, the whole JSON
    assert len(at.get("download_button")) == 1
    assert at.session_state["auster.user"].is_guest  # an anonymous visitor runs as a guest
    runs = svc.runs.list_runs(at.session_state["auster.user"])
    assert [r.status for r in runs] == ["success"]


def test_invalid_input_shows_a_sentence_under_the_field(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(1900, 1, 2)).run()
    at.date_input(key=f"{YIELD_CURVE}.end").set_value(date(1900, 6, 1))
    run_model(at, YIELD_CURVE)
    assert not at.exception
    assert at.error, "the failure is explained"
    assert "Traceback" not in texts(at)


def test_a_bad_field_gets_its_own_sentence_and_costs_no_run(open_page, svc):
    at = open_page("views/model.py", slug=EXPECTED_MOVE)
    at.text_input(key=f"{EXPECTED_MOVE}.expiration").input("next friday")
    run_model(at, EXPECTED_MOVE)
    assert not at.exception
    form_errors = [unescape(e.value) for e in at.get("form")[0].error] if at.get("form") else []
    assert any(m.startswith("Expiration: 'next friday' is not a date; use YYYY-MM-DD") for m in form_errors), form_errors
    assert "Traceback" not in texts(at)
    assert "auster.user" not in at.session_state, "a refused input starts no guest session and costs no run"


def test_prefill_from_query_parameters(open_page):
    at = open_page("views/model.py", slug=EXPECTED_MOVE, symbol="aapl", expiration="2026-08-28")
    no_failure(at)
    assert at.text_input(key=f"{EXPECTED_MOVE}.symbol").value == "AAPL"
    assert at.text_input(key=f"{EXPECTED_MOVE}.expiration").value == "2026-08-28"
    run_model(at, EXPECTED_MOVE)
    no_failure(at)
    assert charts(at)


def test_a_bad_query_parameter_falls_back_to_the_default_with_a_message(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE, start="not-a-date")
    assert not at.exception
    assert any("is not a date" in e.value for e in at.error)


def test_prefill_from_econ_lab_context(open_page):
    at = open_page("views/econ_lab.py")
    start = date.today() - timedelta(days=365 * 3)
    at.sidebar.date_input(key="econ.start").set_value(start).run()
    at.selectbox(key="econ.models.model").set_value(YIELD_CURVE).run()
    no_failure(at)
    assert at.date_input(key=f"{YIELD_CURVE}.start").value == start
    run_model(at, YIELD_CURVE)
    no_failure(at)
    assert len(charts(at)) >= 2  # the lab's chart and the model's


def test_prefill_from_derivatives_lab_context(open_page):
    at = open_page("views/derivatives_lab.py")
    at.sidebar.selectbox(key="deriv.symbol").set_value("MSFT").run()
    expiration = at.sidebar.selectbox(key="deriv.expiration.MSFT").value
    at.selectbox(key="deriv.models.model").set_value(EXPECTED_MOVE).run()
    no_failure(at)
    assert at.text_input(key=f"{EXPECTED_MOVE}.symbol").value == "MSFT"
    assert at.text_input(key=f"{EXPECTED_MOVE}.expiration").value == expiration.isoformat()
    run_model(at, EXPECTED_MOVE)
    no_failure(at)
    assert any("Expected move" in label or "move" in label.lower() for label in metric_values(at))


def test_a_lab_link_opens_the_lab_on_its_context_and_follows_changes(open_page):
    at = open_page("views/derivatives_lab.py", symbol="AAPL", expiration="2026-08-28")
    no_failure(at)
    assert at.sidebar.selectbox(key="deriv.symbol").value == "AAPL"
    assert at.sidebar.selectbox(key="deriv.expiration.AAPL").value == date(2026, 8, 28)
    at.sidebar.selectbox(key="deriv.symbol").set_value("MSFT").run()
    assert at.query_params["symbol"] == "MSFT" and at.query_params["expiration"] == "2026-08-28"  # MSFT lists it too, so it is kept

    econ = open_page("views/econ_lab.py", series_ids="UNRATE,CPIAUCSL,NOPE", start="2000-01-01", end="2010-12-31")
    no_failure(econ)
    assert econ.sidebar.multiselect(key="econ.series").value == ["UNRATE", "CPIAUCSL"]  # an unknown id is left out
    assert econ.sidebar.date_input(key="econ.start").value == date(2000, 1, 1)
    assert econ.query_params["series_ids"] == "UNRATE,CPIAUCSL"


def test_a_lab_link_with_nonsense_keeps_the_defaults(open_page):
    at = open_page("views/derivatives_lab.py", symbol="ZZZ", expiration="soon")
    no_failure(at)
    assert at.sidebar.selectbox(key="deriv.symbol").value == "SPY"


def publish(at: AppTest, slug: str, title: str, summary: str = "", visibility: str = "public") -> str:
    """Press Publish, fill the dialog and return the new artifact's slug."""
    at.button(key=f"{slug}.publish").click().run()
    at.text_input(key=f"{slug}.publish.title").input(title)
    at.text_area(key=f"{slug}.publish.summary").input(summary)
    at.radio(key=f"{slug}.publish.visibility").set_value(visibility)
    next(b for b in at.button if b.label == "Publish").click().run()
    no_failure(at)
    return at.session_state[f"{slug}.published"]["slug"]


def test_publish_then_open_the_artifact_as_an_anonymous_visitor(open_page, svc):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    run_model(at, YIELD_CURVE)
    numbers = metric_values(at)
    artifact_slug = publish(at, YIELD_CURVE, "2s10s since the 90s", "Inversions before recessions.")
    assert any(artifact_slug in c.value for c in at.code), "the URL is shown to copy"

    visitor = open_page("views/artifact.py", slug=artifact_slug)  # a new session: nobody signed in
    no_failure(visitor)
    assert "auster.user" not in visitor.session_state
    assert "2s10s since the 90s" in unescape(visitor.title[0].value)
    assert metric_values(visitor) == numbers
    assert charts(visitor)
    inputs = next(unescape(m.value) for m in visitor.markdown if m.value.startswith("**Inputs**"))
    assert "Start date: " in inputs and "End date: " in inputs and "start:" not in inputs  # the form's labels, not the names
    assert svc.publishing.get_artifact(artifact_slug, None, count_view=False).views == 1
    gallery = open_page("views/artifacts.py")
    assert any("2s10s since the 90s" in unescape(link.proto.label) for link in gallery.get("page_link"))


def test_unlisted_artifacts_open_by_link_but_stay_out_of_the_gallery(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    run_model(at, YIELD_CURVE)
    artifact_slug = publish(at, YIELD_CURVE, "Private note", visibility="unlisted")
    assert "Private note" in unescape(open_page("views/artifact.py", slug=artifact_slug).title[0].value)
    gallery = open_page("views/artifacts.py")
    assert not any("Private note" in unescape(link.proto.label) for link in gallery.get("page_link"))


def test_fork_copies_the_model_into_the_workspace(open_page, svc):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.button(key=f"{YIELD_CURVE}.fork").click().run()
    no_failure(at)
    assert "Forked into your workspace" in texts(at)
    fork_slug = at.session_state[f"{YIELD_CURVE}.forked"]
    mine = svc.models.list_mine(at.session_state["auster.user"])
    assert [m.slug for m in mine] == [fork_slug]
    at.switch_page("views/workspace.py").run()
    no_failure(at)
    assert any(fork_slug in link.proto.query_string for link in at.get("page_link"))


def test_save_puts_the_model_in_saved(open_page, svc):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.button(key=f"{YIELD_CURVE}.save").click().run()
    no_failure(at)
    assert at.button(key=f"{YIELD_CURVE}.save").label == "Saved ✓"
    assert [m.slug for m in svc.social.list_saved(at.session_state["auster.user"])] == [YIELD_CURVE]


def test_rate_and_review(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.radio(key=f"{YIELD_CURVE}.rating").set_value(4)
    at.text_area(key=f"{YIELD_CURVE}.review").input("Clear and useful.")
    next(b for b in at.button if b.label == "Rate this model").click().run()
    no_failure(at)
    assert "★ 4.0 (1)" in [unescape(s.value) for s in at.subheader]
    assert "Clear and useful" in unescape(texts(at))


def test_the_rate_limit_is_one_sentence(open_page, svc):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["auster.user"] = svc.auth.sign_up("rita@example.com", "a long passphrase")  # a free account (guests have 3 runs a day)
    at = open_page("views/model.py", at=at.run(), slug=YIELD_CURVE)
    for years in range(1, 5):  # different inputs each time: cache hits do not count
        at.date_input(key=f"{YIELD_CURVE}.start").set_value(date.today() - timedelta(days=365 * years))
        run_model(at, YIELD_CURVE)
    assert not at.exception
    messages = [e.value for e in at.error]
    assert messages and "at most 3 times a minute" in messages[0]


def create_hostile_model(svc: Any) -> str:
    """A public model whose name and description carry markup and script payloads."""
    owner = svc.auth.sign_up("mallory@example.com", "correct horse battery", display_name="<b>Mallory</b>")
    template = svc.registry.get_model(YIELD_CURVE, None)
    meta = ModelMeta(
        slug="hostile-model", name=f"Spread {XSS}"[:120], description=f"Looks normal. {XSS}", lab_scope="econ", tags=["<i>tag</i>"],
        difficulty="basic", dsl=template.latest.dsl, input_schema=template.latest.input_schema, output_schema=template.latest.output_schema,
    )
    svc.models.create(owner, meta, visibility="public")
    return "hostile-model"


def assert_shown_as_text(at: AppTest) -> None:
    stylesheet = f"<style>{(Path(APP).parent / 'components' / 'static' / 'app.css').read_text(encoding='utf-8')}</style>"
    assert [h.proto.body for h in at.get("html")] == [stylesheet], "no st.html but the app's own stylesheet"
    assert not any(m.allow_html for m in at.markdown), "no markdown with HTML allowed"
    assert not any("<script>" in m.value for m in at.markdown), "the script tag is escaped"


def test_script_payload_in_a_description_renders_as_text(open_page, svc):
    slug = create_hostile_model(svc)
    at = open_page("views/model.py", slug=slug)
    no_failure(at)
    assert_shown_as_text(at)
    assert XSS in unescape(texts(at)), "the payload is shown exactly as written"
    registry = open_page("views/registry.py")
    assert_shown_as_text(registry)


def test_script_payload_in_an_artifact_title_renders_as_text(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    run_model(at, YIELD_CURVE)
    artifact_slug = publish(at, YIELD_CURVE, f"Title {XSS}"[:120], summary=XSS)
    visitor = open_page("views/artifact.py", slug=artifact_slug)
    no_failure(visitor)
    assert_shown_as_text(visitor)
    assert unescape(visitor.title[0].value) == f"Title {XSS}"[:120]
    assert_shown_as_text(open_page("views/artifacts.py"))


def test_workspace_lists_runs_and_reopens_one(open_page, svc):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    run_model(at, YIELD_CURVE)
    numbers = metric_values(at)
    at.switch_page("views/workspace.py").run()
    no_failure(at)
    run_id = svc.runs.list_runs(at.session_state["auster.user"])[0].id
    at.selectbox(key="workspace.run").set_value(run_id).run()
    no_failure(at)
    assert metric_values(at) == numbers


def test_account_sign_up_shows_tier_and_remaining_runs(open_page):
    at = open_page("views/account.py")
    at.text_input(key="account.sign_up.name").input("Ada")
    at.text_input(key="account.sign_up.email").input("ada@example.com")
    at.text_input(key="account.sign_up.password").input("a long passphrase")
    next(b for b in at.button if b.label == "Create account").click().run()
    no_failure(at)
    assert "Ada" in unescape(texts(at))
    assert {m.label: m.value for m in at.metric}["Runs left today"] == "10 of 10"


def test_a_database_that_is_briefly_unavailable_is_a_sentence_on_every_page(open_page, svc, monkeypatch):
    import sqlite3

    from store.sqlite import db as sqlite_db

    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.session_state["auster.user"] = svc.auth.guest()

    def locked(*args, **kwargs):
        with sqlite_db.unavailable_as_sentence():
            raise sqlite3.OperationalError("database is locked")

    for method in ("all", "one", "tx"):
        monkeypatch.setattr(sqlite_db.Database, method, locked)
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(2021, 3, 1))
    run_model(at, YIELD_CURVE)
    assert not at.exception, [e.value for e in at.exception]
    assert any("try again in a moment" in e.value for e in at.error)
    for page, query in [("views/registry.py", {}), ("views/model.py", {"slug": YIELD_CURVE}), ("views/artifact.py", {"slug": "any-thing"}),
                        ("views/artifacts.py", {}), ("views/workspace.py", {}), ("views/account.py", {})]:
        at.query_params.clear()
        at.query_params.update(query)
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert any("try again in a moment" in e.value for e in at.error), page
