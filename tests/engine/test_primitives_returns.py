"""Returns operations: percent change (incl. date-matched year over year), log and cumulative returns,
drawdowns, realized volatility and the volatility cone."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from contracts.errors import OperationError
from engine.executor import execute, run_values
from engine.primitives.returns import VOL_CONE_COLUMNS
from engine.registry import load_all
from services.data import sample_access
from tests.engine.ops import run

load_all()



def daily(values: list[float], start: str = "2024-01-01", name: str | None = "P") -> pd.Series:
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values)), name=name, dtype=float)


@pytest.fixture
def empty() -> pd.Series:
    return pd.Series([], index=pd.DatetimeIndex([]), name="P", dtype=float)


@pytest.fixture
def single() -> pd.Series:
    return daily([100.0])


@pytest.fixture
def nan_inside() -> pd.Series:
    return daily([100.0, 110.0, np.nan, 121.0])


@pytest.fixture
def flat() -> pd.Series:
    return daily([50.0] * 30)


@pytest.fixture
def monthly_with_missing_month() -> pd.Series:
    """Two years of a monthly index rising 1 a month, with 2023-10 never published (as CPI's 2025-10)."""
    index = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
    values = pd.Series(np.arange(100.0, 100.0 + len(index)), index=index, name="CPI")
    return values.drop(pd.Timestamp("2023-10-01"))


# --- percent change ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "periods", "expected"),
    [
        ([100, 110, 99], 1, [np.nan, 10.0, -10.0]),
        ([100, 110, 121], 2, [np.nan, np.nan, 21.0]),
        ([4, 5, 4], 1, [np.nan, 25.0, -20.0]),
    ],
)
def test_percent_change_golden_values(values: list[float], periods: int, expected: list[float]) -> None:
    out = run("percent_change", daily(values), periods=periods)
    np.testing.assert_allclose(out.to_numpy(), expected)
    assert out.name == f"P_pct_change_{periods}"


def test_percent_change_from_zero_is_a_gap_not_infinity() -> None:
    out = run("percent_change", daily([0.0, 1.0, 2.0]))
    assert math.isnan(out.iloc[1]) and out.iloc[2] == pytest.approx(100.0)


def test_percent_change_too_short(single: pd.Series, empty: pd.Series) -> None:
    for series in (single, empty):
        with pytest.raises(OperationError, match="at least 2"):
            run("percent_change", series)


def test_percent_change_keeps_gaps(nan_inside: pd.Series) -> None:
    out = run("percent_change", nan_inside)
    assert out.index.equals(nan_inside.index)
    assert out.iloc[1] == pytest.approx(10.0)
    assert math.isnan(out.iloc[2])


def test_yoy_matches_the_same_month_a_year_earlier(monthly_with_missing_month: pd.Series) -> None:
    out = run("percent_change", monthly_with_missing_month, yoy=True)
    assert out.loc["2024-03-01"] == pytest.approx((114 / 102 - 1) * 100)
    assert out.loc[:"2023-12-01"].isna().all()


def test_yoy_gives_a_gap_after_an_unpublished_month_not_a_misalignment(monthly_with_missing_month: pd.Series) -> None:
    """Regression: CPI's 2025-10 was never published; 2026-10 must not be compared with 2025-09."""
    out = run("percent_change", monthly_with_missing_month, yoy=True)
    assert math.isnan(out.loc["2024-10-01"])
    assert out.loc["2024-11-01"] == pytest.approx((122 / 110 - 1) * 100)  # November with November


def test_yoy_on_daily_data_uses_the_last_trading_day_on_or_before_a_year_earlier() -> None:
    prices = pd.Series(np.arange(1.0, 800.0), index=pd.bdate_range("2023-01-02", periods=799), name="P")
    out = run("percent_change", prices, yoy=True)
    # Monday 2024-09-09 looks back to Saturday 2023-09-09, so it compares with Friday 2023-09-08
    prior = prices.loc[:"2023-09-09"].iloc[-1]  # Friday 2023-09-08
    assert out.loc["2024-09-09"] == pytest.approx((prices.loc["2024-09-09"] / prior - 1) * 100)


def test_yoy_and_periods_together_are_an_error() -> None:
    with pytest.raises(OperationError, match="not both"):
        run("percent_change", daily([1, 2, 3]), periods=2, yoy=True)


def test_cpi_inflation_june_2022_was_about_nine_percent(sample_data) -> None:
    cpi = sample_data.series("CPIAUCSL")
    out = run("percent_change", cpi, yoy=True)
    assert out.loc["2022-06-01"] == pytest.approx(9.0, abs=0.1)  # the 40-year high of 9.1 % (NSA) / 9.0 % (SA)
    assert out.name == "CPIAUCSL_yoy_pct"


def test_cpi_yoy_after_the_unpublished_october_2025(sample_data) -> None:
    cpi = sample_data.series("CPIAUCSL")
    assert pd.Timestamp("2025-10-01") not in cpi.index
    out = run("percent_change", cpi, yoy=True)
    november = out.loc["2025-11-01"]
    assert november == pytest.approx((cpi.loc["2025-11-01"] / cpi.loc["2024-11-01"] - 1) * 100)


# --- log and cumulative returns ------------------------------------------------------------------


def test_log_return_golden_values() -> None:
    out = run("log_return", daily([1.0, math.e, math.e**3]))
    np.testing.assert_allclose(out.to_numpy(), [np.nan, 1.0, 2.0])
    assert out.name == "P_log_return_1"


def test_log_returns_add_up_to_the_log_of_total_growth(sample_data) -> None:
    spy = sample_data.daily_bars("SPY")["close"]
    out = run("log_return", spy)
    assert out.sum() == pytest.approx(math.log(spy.iloc[-1] / spy.iloc[0]))


def test_log_return_needs_positive_prices() -> None:
    with pytest.raises(OperationError, match="positive prices"):
        run("log_return", daily([1.0, -1.0, 2.0]))


def test_cumulative_return_golden_values() -> None:
    out = run("cumulative_return", daily([50, 75, 25]))
    np.testing.assert_allclose(out.to_numpy(), [0.0, 50.0, -50.0])


def test_cumulative_return_of_empty_is_an_error(empty: pd.Series) -> None:
    with pytest.raises(OperationError, match="at least 1 prices"):
        run("cumulative_return", empty)


# --- drawdowns -----------------------------------------------------------------------------------


@pytest.fixture
def peak_trough_recovery() -> pd.Series:
    return daily([100, 120, 90, 130, 117])


def test_drawdown_golden_values(peak_trough_recovery: pd.Series) -> None:
    out = run("drawdown", peak_trough_recovery)
    np.testing.assert_allclose(out.to_numpy(), [0, 0, -25, 0, -10])


def test_drawdown_of_flat_line_is_zero(flat: pd.Series) -> None:
    assert (run("drawdown", flat) == 0).all()


def test_max_drawdown_record(peak_trough_recovery: pd.Series) -> None:
    out = run("max_drawdown", peak_trough_recovery)
    dates = [d.date().isoformat() for d in peak_trough_recovery.index]
    assert out == {
        "max_drawdown_pct": pytest.approx(-25.0),
        "peak_date": dates[1],
        "trough_date": dates[2],
        "recovery_date": dates[3],
        "current_drawdown_pct": pytest.approx(-10.0),
    }


def test_max_drawdown_not_yet_recovered_has_no_recovery_date() -> None:
    out = run("max_drawdown", daily([100, 80, 90]))
    assert out["recovery_date"] is None and out["current_drawdown_pct"] == pytest.approx(-10.0)


def test_max_drawdown_of_a_rising_series_is_zero() -> None:
    out = run("max_drawdown", daily([1, 2, 3]))
    assert out["max_drawdown_pct"] == 0 and out["recovery_date"] is None


def test_spy_drawdown_is_never_positive_and_covid_was_the_deepest(sample_data) -> None:
    spy = sample_data.daily_bars("SPY")["close"]
    assert (run("drawdown", spy).dropna() <= 0).all()
    worst = run("max_drawdown", spy)
    assert worst["trough_date"] == "2020-03-23"
    assert -36 < worst["max_drawdown_pct"] < -32
    assert worst["recovery_date"] is not None and worst["recovery_date"] > "2020-03-23"


# --- realized volatility and the cone ------------------------------------------------------------


def test_realized_vol_matches_an_independent_numpy_computation(sample_data) -> None:
    spy = sample_data.daily_bars("SPY")["close"].rename("SPY")
    out = run("realized_vol", spy, window=21)
    logret = np.diff(np.log(spy.to_numpy()))
    expected = np.std(logret[-21:], ddof=1) * math.sqrt(252) * 100
    assert out.iloc[-1] == pytest.approx(expected)
    assert out.name == "SPY_rv_21"
    assert out.iloc[:21].isna().all() and not math.isnan(out.iloc[21])


def test_realized_vol_of_steady_growth_is_zero() -> None:
    prices = daily(list(100 * 1.01 ** np.arange(30)))
    assert run("realized_vol", prices, window=5).dropna().abs().max() == pytest.approx(0.0, abs=1e-9)


def test_realized_vol_golden_value() -> None:
    # log returns alternate +0.01 / -0.01: sample std over 4 of them = 0.01 * sqrt(4/3)
    prices = daily(list(np.exp(np.cumsum([0, 0.01, -0.01, 0.01, -0.01]))))
    out = run("realized_vol", prices, window=4, trading_days=252)
    assert out.iloc[-1] == pytest.approx(0.01 * math.sqrt(4 / 3) * math.sqrt(252) * 100)


def test_realized_vol_too_short() -> None:
    with pytest.raises(OperationError, match="at least 22 prices"):
        run("realized_vol", daily([1.0] * 21), window=21)


def test_vol_cone_rows_are_ordered_and_current_matches_realized_vol(sample_data) -> None:
    spy = sample_data.daily_bars("SPY")["close"]
    cone = run("vol_cone", spy)
    assert list(cone.columns) == VOL_CONE_COLUMNS
    assert list(cone["window"]) == [10, 21, 63, 126, 252]
    for _, row in cone.iterrows():
        assert row["min"] <= row["p25"] <= row["median"] <= row["p75"] <= row["max"]
        assert row["min"] <= row["current"] <= row["max"]
    rv63 = run("realized_vol", spy, window=63)
    assert cone.set_index("window").loc[63, "current"] == pytest.approx(rv63.iloc[-1])
    assert cone.set_index("window").loc[63, "max"] == pytest.approx(rv63.max())


def test_vol_cone_too_short_names_the_windows_to_drop() -> None:
    prices = daily(list(100 + np.sin(np.arange(100))))
    with pytest.raises(OperationError, match=r"drop window\(s\) 126, 252"):
        run("vol_cone", prices)


def test_vol_cone_rejects_bad_windows() -> None:
    with pytest.raises(ValidationError):
        run("vol_cone", daily([1, 2, 3]), windows=[1, 5])
    with pytest.raises(ValidationError):
        run("vol_cone", daily([1, 2, 3]), windows=[])


# --- through the executor ------------------------------------------------------------------------


def test_inflation_and_volatility_models_run_through_the_executor() -> None:
    doc = {
        "version": "1.0",
        "steps": [
            {"id": "cpi", "operation": "fetch_series", "params": {"series_id": "CPIAUCSL", "start": "$start"}},
            {"id": "inflation", "operation": "percent_change", "params": {"yoy": True}, "inputs": ["cpi"]},
            {"id": "spy", "operation": "fetch_prices", "params": {"symbol": "SPY"}},
            {"id": "cone", "operation": "vol_cone", "params": {"windows": [21, 63]}, "inputs": ["spy"]},
        ],
        "outputs": {
            "series": [{"id": "inflation", "source": "inflation", "label": "CPI inflation (% y/y)"}],
            "tables": [{"id": "cone", "source": "cone", "columns": ["window", "min", "median", "max", "current"]}],
        },
    }
    schema = {"fields": [{"name": "start", "type": "date", "default": "2020-01-01"}]}
    values = run_values(doc, {"start": date(2020, 1, 1)}, sample_access(), input_schema=schema)
    assert values["inflation"].loc["2022-06-01"] == pytest.approx(9.0, abs=0.1)
    result = execute(doc, {"start": "2020-01-01"}, sample_access(), input_schema=schema)
    assert [row["window"] for row in result.outputs["tables"][0]["rows"]] == [21, 63]
    assert result.outputs["series"][0]["y"][0] is None  # no year-ago value for January 2020 in this range
