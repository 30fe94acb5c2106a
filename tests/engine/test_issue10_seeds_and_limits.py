"""Issue 10: seeds against their published definitions, relative dates on sample data, recession shading,
the Econ Lab's series models, and limits enforced before the work. Each test failed before its fix."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contracts.errors import LimitExceeded, StepFailed
from contracts.limits import Limits
from engine import executor, outputs
from engine.executor import execute
from engine.primitives import analysis
from engine.validator import validate
from services.data import sample_access
from tests.engine.ops import run as run_op

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
DATA = sample_access()


def load(slug: str) -> dict:
    return json.loads((SEEDS / f"{slug}.json").read_text())


def run(slug: str, today: date | None = None, **inputs):
    seed = load(slug)
    return execute(seed["dsl"], inputs, DATA, input_schema=seed["input_schema"], today=today)


def series(result, output_id: str) -> dict:
    entry = next(s for s in result.outputs["series"] if s["id"] == output_id)
    return dict(zip(entry["x"], entry["y"], strict=True))


def entry(result, output_id: str) -> dict:
    return next(s for s in result.outputs["series"] if s["id"] == output_id)


def metric(result, metric_id: str):
    return next(m for m in result.outputs["metrics"] if m["id"] == metric_id)


# --- relative dates ---------------------------------------------------------------------------------


def test_relative_defaults_resolve_against_the_samples_as_of_date_not_the_clock():
    """Before: 'today-5y' meant five years before the machine's date, so defaults drifted off the data."""
    assert DATA.reference_date() == date(2026, 8, 21)
    result = run("high-yield-spread-zscore")  # no today given: the data's own as-of applies
    assert result.inputs["end"] == "2026-08-21" and result.inputs["start"] == "2021-08-21"


def test_every_seed_still_runs_with_its_defaults_when_the_clock_says_2031(monkeypatch: pytest.MonkeyPatch):
    class Later(date):
        @classmethod
        def today(cls) -> date:
            return date(2031, 3, 1)

    monkeypatch.setattr("contracts.inputs.date", Later)
    monkeypatch.setattr("engine.executor.date", Later)
    for path in sorted(SEEDS.glob("*.json")):
        seed = json.loads(path.read_text())
        result = execute(seed["dsl"], {}, DATA, input_schema=seed["input_schema"])
        assert result.outputs["series"] or result.outputs["tables"] or result.outputs["metrics"], path.stem


def test_live_data_has_no_reference_date():
    from engine.data import DataAccess

    class Live:
        name = "fred"

    mixed = DataAccess(Live(), DATA.market, DATA.derivatives)  # type: ignore[arg-type]
    assert mixed.reference_date() is None


# --- seeds against their definitions ------------------------------------------------------------------


def test_variance_risk_premium_is_implied_minus_the_realized_vol_that_followed():
    """Before: the premium was the VIX minus trailing realized volatility."""
    result = run("realized-vs-implied-vol", start="2022-01-01", end="2024-12-31")
    premium, vix, forward = series(result, "premium"), series(result, "vix"), series(result, "realized_forward")
    day = "2023-03-01"
    assert premium[day] == pytest.approx(vix[day] - forward[day])
    spy = DATA.daily_bars("SPY", "2022-01-01", "2024-12-31")["close"]
    after = np.log(spy).diff().loc["2023-03-02":].iloc[:21]  # the 21 returns after 1 March 2023
    assert forward[day] == pytest.approx(after.std() * math.sqrt(252) * 100)
    assert "trailing" in entry(result, "trailing_gap")["label"] and "not the premium" in entry(result, "trailing_gap")["label"]
    assert metric(result, "premium")["value"] > 0


def test_cpi_label_says_which_headline_series_is_shown_and_nsa_is_not_substituted():
    result = run("cpi-inflation", start="2020-01-01")
    assert entry(result, "headline")["label"] == "Headline CPI (CPIAUCSL), % y/y"
    with pytest.raises(StepFailed, match=r"no FRED series 'CPIAUCNS'.*FRED_API_KEY"):
        run("cpi-inflation", headline="CPIAUCNS")


def test_taylor_rule_compares_fed_funds_with_the_rule_of_the_same_month():
    """Before: July 2026's fed funds was compared with June's rule (PCE ends in June), carried forward."""
    seed = load("taylor-rule")
    values = executor.run_values(seed["dsl"], {"start": "2020-01-01"}, DATA, input_schema=seed["input_schema"])
    gap, rule, ff = values["policy_gap"], values["rule"], values["ff"]
    assert gap.index.isin(rule.index).all() and gap.index[-1] == pd.Timestamp("2026-06-01")
    assert gap.loc["2026-06-01"] == pytest.approx(ff.loc["2026-06-01"] - rule.loc["2026-06-01"])
    gdp_gap = values["gap"]  # quarterly: each month of a quarter uses that quarter's gap
    assert values["half_gap"].loc["2024-04-01"] == pytest.approx(0.5 * gdp_gap.loc["2024-04-01"])
    april, may = values["rule"].loc["2024-04-01"] - values["base2"].loc["2024-04-01"], values["rule"].loc["2024-05-01"] - values["base2"].loc["2024-05-01"]
    assert april == pytest.approx(may)


def test_jobless_claims_compare_with_52_weeks_earlier():
    seed = load("jobless-claims-trend")
    values = executor.run_values(seed["dsl"], {}, DATA, input_schema=seed["input_schema"])
    avg4, yoy = values["avg4"], values["yoy"]
    last = avg4.index[-1]
    assert yoy.loc[last] == pytest.approx((avg4.loc[last] / avg4.loc[last - pd.Timedelta(weeks=52)] - 1) * 100)


def test_beta_fetches_both_prices_in_one_basis():
    result = run("beta-vs-spy", symbol="AAPL")
    assert {p["detail"]["basis"] for p in result.provenance} == {"price"}
    assert "splits only" in load("beta-vs-spy")["description"]


# --- recession shading and the Econ Lab's series models ----------------------------------------------


def test_recession_indicator_follows_the_nber_dates_and_shades_them():
    months = pd.Series(1.0, index=pd.date_range("2007-01-01", "2021-12-01", freq="MS"))
    flag = run_op("recession_indicator", months)
    assert flag.loc["2007-12-01"] == 0 and flag.loc["2008-01-01"] == 1 and flag.loc["2009-06-01"] == 1 and flag.loc["2009-07-01"] == 0
    assert run_op("recession_indicator", months, convention="peak_to_trough").loc["2007-12-01"] == 1
    assert outputs.shade_spans(flag) == [["2008-01-01", "2009-07-01"], ["2020-03-01", "2020-05-01"]]
    periods = run_op("recession_periods", months)
    assert periods["peak"].dt.strftime("%Y-%m").tolist() == ["2007-12", "2020-02"] and periods["months"].tolist() == [18, 2]


def test_series_explorer_takes_the_labs_series_id_and_shades_recessions():
    result = run("series-explorer", series_id="DGS10", start="2000-01-01", view="yoy_change")
    shown = entry(result, "shown")
    assert shown["label"] == "DGS10 (yoy_change)"
    shade = entry(result, "recessions")
    assert shade["shade"] is True and ["2020-03-01", "2020-05-01"] in shade["spans"] and shade["chart"] == "band"
    assert metric(result, "level")["label"] == "Latest DGS10"
    assert [row["peak"] for row in next(t for t in result.outputs["tables"] if t["id"] == "recessions")["rows"]] == ["2001-03-01", "2007-12-01", "2020-02-01"]


def test_spread_model_of_two_lab_series_reproduces_fred_t10y2y():
    result = run("series-spread-or-ratio", series_ids="DGS10,DGS2", start="2024-01-01", end="2024-12-31", align="inner")
    ours = series(result, "combined")
    published = DATA.series("T10Y2Y", "2024-01-01", "2024-12-31")
    diffs = [abs(ours[d.date().isoformat()] - v) for d, v in published.items() if d.date().isoformat() in ours]
    assert len(diffs) > 240 and max(diffs) <= 0.005 + 1e-9
    assert entry(result, "combined")["label"] == "DGS10,DGS2: difference"


def test_spread_model_of_a_daily_and_a_monthly_series_averages_the_daily_one():
    result = run("series-spread-or-ratio", series_ids="DGS10,FEDFUNDS", start="2024-01-01", end="2024-12-31")
    ours = series(result, "combined")
    assert next(iter(ours)) == "2024-01-01" and len(ours) == 12
    dgs10 = DATA.series("DGS10", "2024-01-01", "2024-01-31").mean()
    assert ours["2024-01-01"] == pytest.approx(dgs10 - DATA.series("FEDFUNDS", "2024-01-01", "2024-01-01").iloc[0])


def test_spread_model_with_one_series_says_what_to_add():
    with pytest.raises(StepFailed, match=r"has 1 id, so there is no number 2; add another series"):
        run("series-spread-or-ratio", series_ids="DGS10")


def test_labels_may_only_show_declared_inputs_and_shading_needs_a_series():
    doc = {"version": "1.0", "steps": [{"id": "x", "operation": "fetch_series", "params": {"series_id": "DGS10"}},
                                       {"id": "p", "operation": "recession_periods", "inputs": ["x"]}],
           "outputs": {"series": [{"id": "a", "source": "x", "label": "{nope}"}, {"id": "b", "source": "p", "label": "b", "shade": True}]}}
    codes = {(p.code, p.where[-1]) for p in validate(doc)}
    assert ("E_UNDECLARED_INPUT", "label") in codes and ("E_OUTPUT_SOURCE", "shade") in codes


# --- limits before the work ------------------------------------------------------------------------


SPREAD = {"version": "1.0", "steps": [
    {"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "1990-01-01"}},
    {"id": "dgs2", "operation": "fetch_series", "params": {"series_id": "DGS2", "start": "1990-01-01"}},
    {"id": "spread", "operation": "sub", "inputs": ["dgs10", "dgs2"]}],
    "outputs": {"series": [{"id": "spread", "source": "spread", "label": "spread"}], "tables": [{"id": "t", "source": "spread"}]}}


def test_an_oversized_result_is_refused_from_its_shape_before_anything_is_built(monkeypatch: pytest.MonkeyPatch):
    """Before: the whole result was serialised, then measured, then refused."""
    def never(*args, **kwargs):
        raise AssertionError("outputs were built")

    monkeypatch.setattr(executor, "build_outputs", never)
    with pytest.raises(LimitExceeded, match=r"would be about .* KB, over the limit of 100 KB \(the largest is table 't'\); narrow the date range"):
        execute(SPREAD, {}, DATA, limits=Limits(max_output_kb=100))


def test_the_size_estimate_is_an_upper_bound_of_the_real_size():
    result = execute(SPREAD, {}, DATA)
    from contracts.dsl import ModelDSL

    model = ModelDSL.model_validate(SPREAD)
    values = executor.run_values(SPREAD, {}, DATA)
    estimate = sum(outputs.estimate_bytes(model.outputs, values).values())
    actual = len(json.dumps(result.outputs))
    assert actual <= estimate < 3 * actual


def test_an_option_chain_too_big_to_show_says_to_narrow_the_chain():
    doc = {"version": "1.0", "steps": [
        {"id": "chain", "operation": "fetch_options_chain", "params": {"symbol": "SPY", "all_expirations": True}},
        {"id": "iv", "operation": "implied_vol", "params": {"carry": "zero"}, "inputs": ["chain"]}],
        "outputs": {"tables": [{"id": "iv", "source": "iv"}]}}
    with pytest.raises(LimitExceeded, match="narrow the option chain"):
        execute(doc, {}, DATA, limits=Limits(max_output_kb=200))


def test_the_time_budget_covers_output_building(monkeypatch: pytest.MonkeyPatch):
    """Before: the budget was checked only between steps; building the results ran unbounded."""
    clock = {"now": 1000.0}
    monkeypatch.setattr(executor.time, "perf_counter", lambda: clock["now"])
    real = outputs.series_entries

    def slow(*args, **kwargs):
        clock["now"] += 60.0  # building this output takes a minute
        return real(*args, **kwargs)

    monkeypatch.setattr(outputs, "series_entries", slow)
    with pytest.raises(LimitExceeded, match="while building its results"):
        execute(SPREAD, {}, DATA, limits=Limits(max_runtime_ms=30_000))


def test_intraday_timestamps_are_converted_in_bulk(monkeypatch: pytest.MonkeyPatch):
    """Before: every intraday timestamp went through json_value, about ten times slower."""
    stamps = pd.date_range("2026-07-28 09:30", periods=5000, freq="min", tz="America/New_York")
    expected = [outputs.json_value(ts) for ts in stamps]
    calls = {"n": 0}
    real = outputs.json_value

    def counting(value):
        calls["n"] += 1
        return real(value)

    monkeypatch.setattr(outputs, "json_value", counting)
    assert outputs.iso_dates(stamps) == expected and calls["n"] == 0
    assert expected[0] == "2026-07-28T09:30:00-04:00"
    naive = stamps.tz_localize(None)
    assert outputs.iso_dates(naive)[:2] == ["2026-07-28T09:30:00", "2026-07-28T09:31:00"]


def test_regression_and_beta_align_their_inputs_once(monkeypatch: pytest.MonkeyPatch):
    """Before: beta aligned the prices, then aligned the returns again (and Series.corr aligned a third time)."""
    calls = {"n": 0}
    real = analysis.align_pair

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "align_pair", counting)
    spy = DATA.daily_bars("SPY", "2024-01-01", "2024-12-31")["close"].rename("SPY")
    aapl = DATA.daily_bars("AAPL", "2024-01-01", "2024-12-31")["close"].rename("AAPL")
    for name in ("beta", "regression", "correlation"):
        calls["n"] = 0
        run_op(name, aapl, spy)
        assert calls["n"] == 1, name
