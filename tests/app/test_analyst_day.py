"""Issue 11, the app as an analyst uses it all day: forms that check before spending a run, errors that
replace results and go away when fixed, the quota in sight, the admin page, sign-out that clears the
screen, labs that feed models, shareable filtered views. AppTest over a fresh sqlite file and the sample."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from contracts.dsl import ModelMeta
from tests.app.conftest import APP
from tests.app.test_pages import EXPECTED_MOVE, YIELD_CURVE, charts, no_failure, open_expander, publish, run_model, texts, unescape


def form_errors(at: AppTest) -> list[str]:
    return [unescape(e.value) for form in at.get("form") for e in form.error]


def runs_of(svc: Any, at: AppTest) -> int:
    user = at.session_state["auster.user"] if "auster.user" in at.session_state else None  # noqa: SIM401 - AppTest's session state has no get()
    return len(svc.runs.list_runs(user)) if user else 0


def signed_in(svc: Any, email: str = "ada@example.com", admin: bool = False) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    svc.auth.sign_up(email, "a long passphrase", display_name="Ada")
    if admin:
        svc.store.users.set_profile(email, role="admin")
    at.session_state["auster.user"] = svc.auth.sign_in(email, "a long passphrase")
    at.run()
    return at


def create_model(svc: Any, slug: str, fields: list[dict[str, Any]], template: str = YIELD_CURVE, lab_scope: str = "econ") -> str:
    owner = svc.auth.sign_up(f"{slug}@example.com", "correct horse battery", display_name="Author")
    base = svc.registry.get_model(template, None).latest
    meta = ModelMeta(slug=slug, name=f"Model {slug}", description="For tests.", lab_scope=lab_scope, tags=["test"], difficulty="basic",
                     dsl=base.dsl, input_schema={"fields": fields}, output_schema=base.output_schema)
    svc.models.create(owner, meta, visibility="public")
    return slug


# ---------------------------------------------------------------------------------------------
# Forms and errors
# ---------------------------------------------------------------------------------------------


def test_a_blank_required_symbol_is_an_error_in_the_form_never_silently_spy(open_page, svc):
    at = open_page("views/model.py", slug=EXPECTED_MOVE)
    at.text_input(key=f"{EXPECTED_MOVE}.symbol").input("   ")
    run_model(at, EXPECTED_MOVE)
    assert "Symbol is required." in form_errors(at)
    assert not charts(at) and "auster.user" not in at.session_state, "nothing ran and nothing was spent"


def test_end_before_start_and_a_window_longer_than_the_range_are_refused_in_the_form(open_page, svc):
    slug = create_model(svc, "checked-dates", [
        {"name": "start", "type": "date", "default": "today-5y", "label": "Start date", "required": True},
        {"name": "end", "type": "date", "default": "today", "label": "End date", "required": True, "after": "start",
         "min_span": {"field": "window", "unit": "trading_days"}},
        {"name": "window", "type": "integer", "default": 252, "label": "Window (trading days)"},
    ])
    at = open_page("views/model.py", slug=slug)
    at.date_input(key=f"{slug}.start").set_value(date(2024, 6, 1))
    at.date_input(key=f"{slug}.end").set_value(date(2024, 1, 1))
    run_model(at, slug)
    assert form_errors(at) == ["End date (2024-01-01) must be after the start date (2024-06-01)."]
    at.date_input(key=f"{slug}.end").set_value(date(2024, 9, 1))
    run_model(at, slug)
    assert form_errors(at)[0].startswith("From the start date to the end date is 92 days, shorter than the window of 252 trading days")
    assert "auster.user" not in at.session_state, "a refused input costs no run"
    at.number_input(key=f"{slug}.window").set_value(21)
    run_model(at, slug)
    assert form_errors(at) == [], "the error goes away once its cause is fixed"
    no_failure(at)
    assert charts(at) and runs_of(svc, at) == 1


def test_an_expiration_the_chain_does_not_list_is_refused_before_a_run(open_page, svc):
    at = open_page("views/model.py", slug=EXPECTED_MOVE)
    at.text_input(key=f"{EXPECTED_MOVE}.expiration").input("2026-05-09")
    run_model(at, EXPECTED_MOVE)
    assert form_errors(at) == ["SPY has no options expiring 2026-05-09; the nearest listed are 2026-05-08 and 2026-05-15."]
    assert "auster.user" not in at.session_state
    at.text_input(key=f"{EXPECTED_MOVE}.expiration").input("2026-05-08")
    run_model(at, EXPECTED_MOVE)
    assert form_errors(at) == [] and charts(at)


def test_a_failed_runs_error_replaces_the_previous_result(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    run_model(at, YIELD_CURVE)
    assert charts(at)
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(1900, 1, 2))
    at.date_input(key=f"{YIELD_CURVE}.end").set_value(date(1900, 6, 1))
    run_model(at, YIELD_CURVE)
    assert [e.value for e in at.error if "no observations" in e.value], "the failure is explained"
    assert not charts(at) and not at.metric, "the previous result is gone, not left under the error"
    assert f"{YIELD_CURVE}.last_run" not in at.session_state
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(2020, 1, 2))
    at.date_input(key=f"{YIELD_CURVE}.end").set_value(date(2021, 6, 1))
    run_model(at, YIELD_CURVE)
    assert not at.error and charts(at), "a fixed run clears the error"


def test_an_empty_chart_frame_stands_where_the_result_will_be(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    frames = [c for c in at.get("plotly_chart") if c not in charts(at)]
    assert len(frames) == 1 and not charts(at), "before a run: the frame that loads the charting library early"
    run_model(at, YIELD_CURVE)
    assert len(at.get("plotly_chart")) == len(charts(at)) == 1, "after a run: only the result's chart"


def test_the_model_pages_address_names_the_inputs_of_the_run_shown(open_page):
    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(2001, 2, 3))
    run_model(at, YIELD_CURVE)
    assert at.query_params["slug"] == [YIELD_CURVE] or at.query_params["slug"] == YIELD_CURVE
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert query["start"] == "2001-02-03" and query["end"] == "2026-08-21", "'today' in a default is the sample data's as-of date"
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(2005, 1, 3))
    run_model(at, YIELD_CURVE)
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert query["start"] == "2005-01-03", "the form's new value is run, not the previous run's address"


# ---------------------------------------------------------------------------------------------
# Quota, the admin page, signing out
# ---------------------------------------------------------------------------------------------


def test_the_quota_is_visible_before_it_runs_out(svc):
    at = signed_in(svc)
    at.switch_page("views/model.py")
    at.query_params["slug"] = YIELD_CURVE
    at.run()
    assert any(c.value.startswith("10 of 10 runs left today") for c in at.caption)
    run_model(at, YIELD_CURVE)
    assert any(c.value.startswith("9 of 10 runs left today") for c in at.caption)


def test_the_daily_refusal_names_the_admin_page_and_promises_no_upgrade(open_page, svc, monkeypatch):
    from datetime import UTC, datetime

    from contracts.errors import RateLimitExceeded

    at = open_page("views/model.py", slug=YIELD_CURVE)
    run_model(at, YIELD_CURVE)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RateLimitExceeded("daily", 10, datetime(2026, 8, 22, tzinfo=UTC), "free")

    monkeypatch.setattr(type(svc.runs), "run_model", refuse)
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(2010, 1, 4))
    run_model(at, YIELD_CURVE)
    message = at.error[0].value
    assert "Admin page" in message and "upgrade" not in message.lower()
    assert not any("upgrade" in b.label.lower() for b in at.button)
    assert not charts(at)


def test_admins_change_a_users_tier_on_the_admin_page(svc):
    svc.auth.sign_up("bob@example.com", "a long passphrase", display_name="Bob")
    at = signed_in(svc, admin=True)
    at.switch_page("views/admin.py").run()
    no_failure(at)
    at.text_input(key="admin.email").input("bob@example.com")
    at.selectbox(key="admin.tier").set_value("paid")
    next(b for b in at.button if b.label == "Save").click().run()
    no_failure(at)
    assert "is now on the paid tier (100 runs a day)" in unescape(texts(at))
    assert svc.store.users.user_by_email("bob@example.com").tier == "paid"


def test_the_admin_page_is_not_there_for_other_users(svc):
    at = signed_in(svc, email="eve@example.com")
    with pytest.raises(Exception):  # noqa: B017 - AppTest refuses to switch to a page the navigation does not have
        at.switch_page("views/admin.py").run()
        assert not at.get("form") or "Admin" not in [t.value for t in at.title]
        raise RuntimeError("the page rendered")


def test_signing_out_clears_every_result_on_screen(svc):
    at = signed_in(svc)
    at.switch_page("views/model.py")
    at.query_params["slug"] = YIELD_CURVE
    at.run()
    run_model(at, YIELD_CURVE)
    assert charts(at)
    at.query_params.clear()
    at.switch_page("views/account.py").run()
    at.button(key="account.sign_out").click().run()
    assert f"{YIELD_CURVE}.last_run" not in at.session_state and "auster.user" not in at.session_state
    at.query_params["slug"] = YIELD_CURVE
    at.switch_page("views/model.py").run()
    no_failure(at)
    assert not charts(at) and not at.metric and not [b for b in at.button if b.label == "Publish this run"]


# ---------------------------------------------------------------------------------------------
# Labs
# ---------------------------------------------------------------------------------------------


def test_econ_lab_dates_reach_back_to_the_first_observation(open_page):
    at = open_page("views/econ_lab.py", series_ids="DGS10", start="1990-01-02", end="2000-12-29")
    no_failure(at)
    start = at.sidebar.date_input(key="econ.start")
    assert start.value == date(1990, 1, 2)
    assert start.min == date(1962, 1, 2), "the earliest observation of DGS10"
    at.sidebar.date_input(key="econ.start").set_value(date(1970, 1, 2)).run()
    no_failure(at)
    assert charts(at)[0].proto.spec.count("1970-01-02") >= 1


def test_econ_lab_dates_end_at_the_data_as_of_date_not_the_calendar(open_page):
    """The sample's DGS10 and DGS2 end on 2026-08-20: the default end (and the latest date the picker
    offers) is that observation, whatever today's date is; the start is ten years earlier."""
    at = open_page("views/econ_lab.py")
    no_failure(at)
    end = at.sidebar.date_input(key="econ.end")
    assert end.value == date(2026, 8, 20) and end.max == date(2026, 8, 20), (end.value, end.max)
    assert at.sidebar.date_input(key="econ.start").value == date(2016, 8, 20)
    assert at.sidebar.date_input(key="econ.start").max == date(2026, 8, 20)
    at.sidebar.multiselect(key="econ.series").set_value(["GDPC1"]).run()  # quarterly, last observed 2026-04-01
    assert at.sidebar.date_input(key="econ.end").max == date(2026, 4, 1)


def test_econ_lab_start_ten_years_back_is_clamped_to_the_first_observation(open_page):
    at = open_page("views/econ_lab.py", series_ids="SP500")  # the sample's SP500: 2021-04-14 to 2026-04-14
    no_failure(at)
    assert at.sidebar.date_input(key="econ.end").value == date(2026, 4, 14)
    assert at.sidebar.date_input(key="econ.start").value == date(2021, 4, 14)


def test_econ_lab_links_still_choose_the_dates(open_page):
    at = open_page("views/econ_lab.py", series_ids="UNRATE", start="2001-03-01", end="2009-06-01")
    no_failure(at)
    assert at.sidebar.date_input(key="econ.start").value == date(2001, 3, 1)
    assert at.sidebar.date_input(key="econ.end").value == date(2009, 6, 1)
    late = open_page("views/econ_lab.py", series_ids="UNRATE", end="2030-01-01")
    assert late.sidebar.date_input(key="econ.end").value == date(2026, 7, 1), "a link past the data ends at its last observation"


def test_econ_lab_units_transforms_per_series_as_fred_offers_them(open_page):
    at = open_page("views/econ_lab.py", series_ids="CPIAUCSL,UNRATE", start="2019-01-01", end="2023-12-31")
    at.sidebar.selectbox(key="econ.units.CPIAUCSL").set_value("pc1").run()
    no_failure(at)
    import json

    spec = json.loads(charts(at)[0].proto.spec)
    cpi = next(t for t in spec["data"] if t["name"].startswith("CPIAUCSL"))
    assert "Percent change from a year ago" in cpi["name"]
    assert 8.5 < max(v for v in cpi["y"] if v is not None) < 9.5, "CPI peaked near 9% y/y in 2022"
    assert at.query_params["units"] in ("CPIAUCSL:pc1", ["CPIAUCSL:pc1"]), "the transform is in the link"
    assert set(at.sidebar.selectbox(key="econ.units.UNRATE").options) == {"Level", "Change", "Percent change", "Percent change from a year ago (YoY)", "Natural log"}


def test_econ_lab_reports_one_unknown_series_on_its_own_and_keeps_the_chart(open_page):
    at = open_page("views/econ_lab.py", series_ids="UNRATE,NOPE")
    assert any("NOPE" in w.value and "not available" in w.value for w in at.warning), "the link says what it left out"
    at.sidebar.multiselect(key="econ.series").set_value(["UNRATE", "ZZZZ"]).run()
    assert any("ZZZZ" in e.value for e in at.error)
    assert charts(at), "the known series is still drawn"


def test_econ_lab_copy_link_holds_the_context(open_page):
    at = open_page("views/econ_lab.py", series_ids="UNRATE", start="2000-01-03", end="2010-12-31")
    codes = [c.value for c in at.sidebar.code]
    assert any("/econ-lab?" in c and "series_ids=UNRATE" in c and "start=2000-01-03" in c for c in codes), codes


def test_series_picked_in_the_econ_lab_reach_models_that_take_series(open_page, svc):
    slug = create_model(svc, "any-series", [
        {"name": "series_id", "type": "series_id", "default": "DGS10", "label": "Series"},
        {"name": "series_ids", "type": "string", "default": "DGS10", "label": "Series list"},
        {"name": "start", "type": "date", "default": "today-5y"}, {"name": "end", "type": "date", "default": "today"},
    ])
    at = open_page("views/econ_lab.py", series_ids="UNRATE,CPIAUCSL")
    at.selectbox(key="econ.models.model").set_value(slug).run()
    no_failure(at)
    assert at.text_input(key=f"{slug}.series_id").value == "UNRATE"
    assert at.text_input(key=f"{slug}.series_ids").value == "UNRATE,CPIAUCSL"


def test_the_labs_models_tabs_publish_a_run(open_page):
    at = open_page("views/derivatives_lab.py")
    at.selectbox(key="deriv.models.model").set_value(EXPECTED_MOVE).run()
    run_model(at, EXPECTED_MOVE)
    artifact = publish(at, EXPECTED_MOVE, "SPY move from the lab")
    assert any(artifact in c.value for c in at.code)


@pytest.mark.parametrize("symbol", ["SPY", "AAPL", "MSFT"])
def test_derivatives_lab_shows_greeks_for_every_chain(open_page, symbol):
    at = open_page("views/derivatives_lab.py", symbol=symbol)
    no_failure(at)
    table = at.table[0].value
    priced = table[table["Implied volatility"].notna()]
    assert len(priced) > 20
    assert priced["Delta"].notna().all() and priced["Gamma"].notna().all(), "no contract with a volatility lacks greeks"
    assert set(priced["Greeks source"]) <= {"vendor", "engine"}
    if symbol in ("SPY", "AAPL"):
        assert any("computed by the engine" in c.value for c in at.caption)


def test_a_bad_lab_link_says_so_instead_of_silently_showing_spy(open_page):
    at = open_page("views/derivatives_lab.py", symbol="ZZZ")
    assert any("ZZZ" in unescape(w.value) and "not available" in unescape(w.value) for w in at.warning)
    at = open_page("views/derivatives_lab.py", symbol="SPY", expiration="2026-05-09")
    assert any("SPY has no options expiring 2026-05-09" in unescape(w.value) for w in at.warning)
    assert at.sidebar.selectbox(key="deriv.expiration.SPY").value != date(2026, 5, 9)


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------


def test_registry_filters_live_in_the_address(fresh_store):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({"lab": "derivatives", "q": "vol"})  # a shared link to a filtered view
    at.run()
    no_failure(at)
    assert at.text_input(key="q").value == "vol" and at.selectbox(key="lab").value == "derivatives"
    labels = [unescape(link.proto.label) for link in at.get("page_link")]
    assert any("Volatility cone" in label for label in labels) and not any("Yield curve" in label for label in labels)
    at.selectbox(key="difficulty").set_value("advanced").run()
    query = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert query.get("difficulty") == "advanced" and query.get("lab") == "derivatives" and query.get("q") == "vol"


def test_switching_symbol_in_the_lab_is_no_bad_link(open_page):
    at = open_page("views/derivatives_lab.py", symbol="SPY", expiration="2026-05-08")
    at.sidebar.selectbox(key="deriv.symbol").set_value("AAPL").run()
    no_failure(at)
    assert not at.warning, "an expiration SPY lists and AAPL does not is no fault of a link"


def test_no_chart_frame_for_a_model_without_charts(open_page):
    at = open_page("views/model.py", slug="put-call-ratio")
    assert not at.get("plotly_chart"), "the put/call ratio shows tables only"


def test_a_results_figures_are_built_once_per_run_not_on_every_rerun(open_page, monkeypatch):
    import components.results_panel as panel

    built: list[int] = []
    original = panel.figures_for
    monkeypatch.setattr(panel, "figures_for", lambda *args, **kwargs: built.append(1) or original(*args, **kwargs))
    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.date_input(key=f"{YIELD_CURVE}.start").set_value(date(2011, 3, 1))  # inputs no other test runs: a fresh run id
    run_model(at, YIELD_CURVE)
    open_expander(at, f"{YIELD_CURVE}.result.downloads.open")
    for i in range(3):
        at.selectbox(key=f"{YIELD_CURVE}.result.download.pick").set_value(i).run()
    assert charts(at) and len(built) == 1
