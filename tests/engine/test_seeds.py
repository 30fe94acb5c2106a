"""Every seed model validates and runs on the bundled sample data, and says what an analyst would
recognise: the same definitions, the same units, the facts a reader of the news would expect."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contracts.dsl import ModelMeta, output_schema_for
from engine.executor import execute
from engine.validator import check, validate
from services.data import sample_access

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.json"))
AS_OF = date(2026, 8, 21)  # the sample data's newest observations; relative defaults resolve against it
DATA = sample_access()
REQUIRED_TOPICS = {
    "yield-curve-10y-2y", "recession-probability-10y-3m", "sahm-rule", "cpi-inflation", "real-fed-funds-rate",
    "ten-year-decomposition", "taylor-rule", "okun-law", "phillips-curve", "high-yield-spread-zscore",
    "jobless-claims-trend", "expected-move", "iv-smile", "iv-term-structure", "put-call-ratio", "max-pain", "skew-25d",
    "realized-vs-implied-vol", "volatility-cone", "beta-vs-spy", "correlation-matrix", "drawdown", "gamma-exposure",
}
CANONICAL = {"symbol", "expiration", "spot_price", "start", "end", "series_id", "series_ids"}


def load(slug: str) -> dict:
    return json.loads((SEEDS[0].parent / f"{slug}.json").read_text())


def run(slug: str, **inputs):
    seed = load(slug)
    return execute(seed["dsl"], inputs, DATA, input_schema=seed["input_schema"], today=AS_OF)


def series(result, output_id: str) -> dict[str, float | None]:
    entry = next(s for s in result.outputs["series"] if s["id"] == output_id)
    return dict(zip(entry["x"], entry["y"], strict=True))


def metric(result, metric_id: str):
    return next(m for m in result.outputs["metrics"] if m["id"] == metric_id)["value"]


def table(result, table_id: str) -> list[dict]:
    return next(t for t in result.outputs["tables"] if t["id"] == table_id)["rows"]


def record(result, table_id: str) -> dict:
    return {row["metric"]: row["value"] for row in table(result, table_id)}


def test_there_are_at_least_twenty_seeds_covering_the_required_topics():
    slugs = {p.stem for p in SEEDS}
    assert len(slugs) >= 20 and slugs >= REQUIRED_TOPICS


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_seed_is_valid_named_by_slug_and_uses_canonical_inputs(path):
    raw = json.loads(path.read_text())
    meta = ModelMeta.model_validate(raw)
    assert meta.slug == path.stem
    assert validate(meta.dsl, meta.input_schema) == []
    names = {f["name"] for f in meta.input_schema["fields"]}
    assert {"start", "end"} <= names or "symbol" in names, "every seed takes a date range or a symbol"
    for field in meta.input_schema["fields"]:
        if field["type"] in ("symbol", "expiration", "date", "series_id"):
            assert field["name"] in CANONICAL, f"{field['name']} should use a canonical name"
    assert meta.output_schema == output_schema_for(check(meta.dsl, meta.input_schema))


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_seed_runs_on_sample_data_with_its_defaults(path):
    raw = json.loads(path.read_text())
    result = execute(raw["dsl"], {}, DATA, input_schema=raw["input_schema"], today=AS_OF)
    outputs = result.outputs
    assert outputs["series"] or outputs["tables"] or outputs["metrics"]
    for entry in outputs["series"]:
        assert len(entry["x"]) == len(entry["y"]) and any(v is not None for v in entry["y"]), entry["id"]
    for entry in outputs["metrics"]:
        assert entry["text"], entry["id"]
    assert all(p["provider"] == "sample" for p in result.provenance)
    json.loads(result.dumps())


# --- economics ---------------------------------------------------------------------------------


def test_yield_curve_spread_equals_fred_published_t10y2y():
    result = run("yield-curve-10y-2y", start="1990-01-01", end="2026-08-21")
    ours = series(result, "spread")
    published = DATA.series("T10Y2Y", "1990-01-01", "2026-08-21")
    diffs = {d.date().isoformat(): abs(ours[d.date().isoformat()] - v) for d, v in published.items() if d.date().isoformat() in ours}
    off = {d for d, gap in diffs.items() if gap > 0.005 + 1e-9}
    assert len(diffs) > 9000 and off <= {"1990-11-21", "1991-01-29", "1995-11-29"}


def test_yield_curve_finds_the_2022_2024_inversion():
    rows = table(run("yield-curve-10y-2y", start="2020-01-01"), "inversions")
    longest = max(rows, key=lambda r: r["observations"])
    assert longest["start"].startswith("2022-07") and longest["end"].startswith("2024-08")
    assert -1.2 < longest["extreme"] < -1.0  # the deepest inversion since 1981, about -1.08 pp in July 2023


def test_yield_curve_share_inverted_is_a_fraction_shown_as_percent():
    result = run("yield-curve-10y-2y")
    stats = record(result, "stats")
    assert "share_negative" in stats and 0 < stats["share_negative"] < 1
    share = next(m for m in result.outputs["metrics"] if m["id"] == "share_inverted")
    assert share["text"].endswith("%") and 1 < float(share["text"][:-1]) < 100


def test_sahm_rule_crosses_half_a_point_when_the_news_said_it_did():
    sahm = series(run("sahm-rule", start="1960-01-01"), "sahm")
    first_cross = {year: next((d for d, v in sahm.items() if d.startswith(year) and v is not None and v >= 0.5), None) for year in ("2008", "2020", "2024")}
    assert first_cross["2008"] in ("2008-01-01", "2008-02-01", "2008-03-01")
    assert first_cross["2020"] == "2020-04-01"
    assert first_cross["2024"] in ("2024-07-01", "2024-08-01")
    assert all(v < 0.5 for d, v in sahm.items() if d.startswith("2019") and v is not None)


def test_cpi_inflation_peaked_near_nine_percent_in_june_2022():
    result = run("cpi-inflation", start="2020-01-01")
    headline = series(result, "headline")
    assert 8.9 < headline["2022-06-01"] < 9.2
    assert max(headline, key=lambda d: headline[d] or 0) == "2022-06-01"
    core = series(result, "core")
    assert 6.4 < max(v for v in core.values() if v is not None) < 6.8  # core peaked at 6.6% in September 2022


def test_real_fed_funds_was_deeply_negative_in_2022():
    real = series(run("real-fed-funds-rate", start="2020-01-01"), "real")
    assert real["2022-06-01"] < -7.5 and real["2024-06-01"] > 1.5


def test_recession_probability_follows_the_ny_fed_formula_dated_twelve_months_ahead():
    """Issue 10: the NY Fed dates each probability twelve months after its spread month."""
    result = run("recession-probability-10y-3m", start="2000-01-01")
    prob, spread = series(result, "probability"), series(result, "spread")
    for day, ahead in (("2007-01-01", "2008-01-01"), ("2023-05-01", "2024-05-01")):
        expected = 100 * 0.5 * (1 + math.erf((-0.5333 - 0.6330 * spread[day]) / math.sqrt(2)))
        assert math.isclose(prob[ahead], expected, rel_tol=1e-9)
    assert max(v for d, v in prob.items() if d.startswith("2024")) > 50  # the 2023 inversion, dated a year on
    assert list(spread)[-1] == "2026-07-01"  # August 2026 is partial (data to the 20th): left out
    assert list(prob)[-1] == "2027-07-01"


def test_recession_probability_says_which_three_month_rate_it_uses():
    result = run("recession-probability-10y-3m")
    label = next(s["label"] for s in result.outputs["series"] if s["id"] == "spread")
    assert "DGS3MO" in label and "bond-equivalent" in label
    assert "TB3MS" in load("recession-probability-10y-3m")["description"]
    from contracts.errors import StepFailed

    with pytest.raises(StepFailed, match="no FRED series 'TB3MS'"):
        run("recession-probability-10y-3m", bill="TB3MS")


def test_the_ten_year_identity_holds():
    result = run("ten-year-decomposition")
    assert metric(result, "identity") < 0.011


def test_taylor_rule_was_far_above_fed_funds_in_2022():
    result = run("taylor-rule", start="2015-01-01")
    rule, ff = series(result, "taylor"), series(result, "fedfunds")
    assert rule["2022-06-01"] - ff["2022-06-01"] > 4


def test_taylor_rule_takes_r_star_as_an_input():
    low = series(run("taylor-rule", start="2020-01-01", r_star=0.5), "taylor")
    high = series(run("taylor-rule", start="2020-01-01", r_star=2.0), "taylor")
    assert all(math.isclose(high[d] - low[d], 1.5) for d in high if high[d] is not None and low.get(d) is not None)


def test_okun_and_phillips_slopes_are_negative():
    assert -0.8 < metric(run("okun-law"), "beta") < -0.2
    assert metric(run("phillips-curve"), "slope") < 0


def test_high_yield_zscore_is_standardised_over_its_window():
    result = run("high-yield-spread-zscore", window=60)
    z = [v for v in series(result, "zscore").values() if v is not None]
    assert len(z) > 500 and -4 < min(z) < 0 < max(z) < 6


def test_jobless_claims_four_week_average():
    result = run("jobless-claims-trend")
    claims, avg4 = series(result, "claims"), series(result, "avg4")
    last4 = list(claims.values())[-4:]
    assert math.isclose(list(avg4.values())[-1], sum(last4) / 4)


# --- derivatives -------------------------------------------------------------------------------


def test_expected_move_of_spy_from_the_atm_straddle():
    result = run("expected-move", symbol="SPY")
    move = record(result, "move")
    assert move["spot"] == pytest.approx(720.65, abs=0.01) and move["days_to_expiry"] == 7
    assert move["one_sigma_move"] == pytest.approx(move["straddle_price"] * math.sqrt(math.pi / 2), rel=1e-9)
    assert move["lower"] == pytest.approx(move["spot"] - move["move"]) and move["upper"] == pytest.approx(move["spot"] + move["move"])
    two_sigma = record(run("expected-move", symbol="SPY", confidence=0.9545), "move")
    assert two_sigma["move"] == pytest.approx(2 * two_sigma["one_sigma_move"], rel=1e-3)


def test_expected_move_for_a_chosen_expiration():
    move = record(run("expected-move", symbol="AAPL", expiration="2026-08-28"), "move")
    assert move["expiration"] == "2026-08-28" and move["days_to_expiry"] == 28


def test_unknown_symbol_names_what_the_sample_has():
    from contracts.errors import StepFailed

    with pytest.raises(StepFailed, match=r"has no option chain for 'ZZZ'.*SPY"):
        run("expected-move", symbol="ZZZ")


def test_spy_put_call_ratio_by_open_interest_is_above_one():
    assert metric(run("put-call-ratio"), "oi") > 1


def test_max_pain_is_a_listed_strike():
    result = run("max-pain", symbol="AAPL")
    chain = DATA.options_chain("AAPL")
    assert metric(result, "strike") in set(chain["strike"])


def test_term_structure_runs_in_order_of_expiry():
    days = [row["days_to_expiry"] for row in table(run("iv-term-structure"), "terms")]
    assert days == sorted(days) and days[0] == 7


def test_skew_is_positive_for_spy():
    assert metric(run("skew-25d"), "skew") > 0  # index puts trade richer than calls


def test_gamma_exposure_by_strike_adds_up_to_the_total():
    result = run("gamma-exposure")
    net = [v for v in series(result, "net").values() if v is not None]
    assert sum(net) == pytest.approx(metric(result, "total"), rel=1e-6)


def test_volatility_cone_is_ordered():
    for row in table(run("volatility-cone"), "cone"):
        assert row["min"] <= row["p25"] <= row["median"] <= row["p75"] <= row["max"]


def test_realized_versus_implied_premium_is_positive_on_average():
    assert metric(run("realized-vs-implied-vol"), "premium") > 0


def test_beta_of_apple_to_spy():
    result = run("beta-vs-spy", symbol="AAPL")
    assert 0.8 < metric(result, "beta") < 1.6 and 0 < metric(result, "r2") < 1


def test_correlation_matrix_is_symmetric_with_a_unit_diagonal():
    rows = table(run("correlation-matrix"), "matrix")
    names = [row["series"] for row in rows]
    assert names == ["SPY", "QQQ", "IWM", "TLT", "GLD"]
    for row in rows:
        assert row[row["series"]] == pytest.approx(1.0)
        for other in rows:
            assert row[other["series"]] == pytest.approx(other[row["series"]])
    assert rows[0]["QQQ"] > 0.9


def test_correlation_matrix_uses_one_price_basis_and_the_dates_all_five_share():
    """Issue 10: SPY and QQQ were split-adjusted only while IWM, TLT and GLD were dividend-adjusted, pair by pair."""
    seed = load("correlation-matrix")
    assert "all five share" in seed["description"] and "total return" in seed["description"]
    rows = {row["series"]: row for row in table(run("correlation-matrix"), "matrix")}
    start = date(AS_OF.year - 3, AS_OF.month, AS_OF.day)
    symbols = ("SPY", "QQQ", "IWM", "TLT", "GLD")
    closes = pd.concat({s: DATA.daily_bars(s, start, AS_OF, basis="total_return")["close"] for s in symbols}, axis=1)
    returns = np.log(closes).diff().dropna()  # the days all five share
    for a, b in (("SPY", "QQQ"), ("SPY", "TLT"), ("IWM", "GLD")):
        assert rows[a][b] == pytest.approx(returns[a].corr(returns[b]), abs=1e-12)
    provenance = run("correlation-matrix").provenance
    assert {p["detail"]["basis"] for p in provenance} == {"total_return"}


def test_spy_drawdown_bottomed_in_march_2020():
    worst = record(run("drawdown", start="2016-01-01"), "worst")
    assert worst["trough_date"] == "2020-03-23" and -35 < worst["max_drawdown_pct"] < -33


def test_expected_move_can_be_centred_on_a_chosen_spot_price():
    chain_spot = record(run("expected-move"), "move")
    moved = record(run("expected-move", spot_price=700.0), "move")
    assert moved["spot"] == 700.0 and moved["lower"] == pytest.approx(700.0 - moved["move"])
    assert moved["straddle_price"] == chain_spot["straddle_price"]  # the straddle is still the chain's ATM price
