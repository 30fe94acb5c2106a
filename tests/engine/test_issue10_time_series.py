"""Issue 10, time series semantics: one rule for gaps, year over year by calendar, calendar windows,
thresholds with a tolerance, and a flat series that is flat every time. Each test failed on the code
before the fix (the comment says how)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from contracts.errors import OperationError
from services.data import sample_access
from tests.engine.ops import run

DATA = sample_access()


def daily(values: list[float], start: str = "2024-01-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), name="X", dtype=float)


@pytest.fixture
def gap_inside() -> pd.Series:
    """Prices with a gap in the middle: a NaN row, as a division by zero or an unpublished value leaves."""
    return daily([100.0, 110.0, np.nan, 121.0, 133.1, 120.0])


# --- one rule for missing values ----------------------------------------------------------------


def test_percent_change_is_x_over_shift_x_minus_one_right_after_a_gap(gap_inside: pd.Series) -> None:
    """Before: percent_change skipped the gap but shift did not, so at 121 they disagreed."""
    lagged = run("shift", gap_inside, periods=1)
    expected = (gap_inside / lagged - 1) * 100
    np.testing.assert_allclose(run("percent_change", gap_inside).to_numpy(), expected.to_numpy())
    assert run("percent_change", gap_inside).iloc[3] == pytest.approx(10.0)  # 121 against 110, the last observation


def test_diff_and_log_return_agree_with_shift_after_a_gap(gap_inside: pd.Series) -> None:
    """Before: diff was NaN right after the gap while percent_change compared with the last observation."""
    lagged = run("shift", gap_inside, periods=1)
    np.testing.assert_allclose(run("diff", gap_inside).to_numpy(), (gap_inside - lagged).to_numpy())
    np.testing.assert_allclose(run("log_return", gap_inside).to_numpy(), np.log(gap_inside / lagged).to_numpy())


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("shift", {"periods": 1}), ("diff", {"periods": 1}), ("percent_change", {}), ("log_return", {}),
        ("rolling_mean", {"window": 2}), ("rolling_std", {"window": 3}), ("rolling_min", {"window": 2}),
        ("ewm_mean", {"span": 3}), ("zscore", {"window": 3}), ("percentile_rank", {"window": 2}),
        ("realized_vol", {"window": 2}),
    ],
)
def test_a_nan_row_and_a_missing_row_give_the_same_values(gap_inside: pd.Series, name: str, params: dict) -> None:
    """The one rule, stated as an invariant: gaps are skipped, so dropping them first changes nothing."""
    with_gap = run(name, gap_inside, **params)
    without = run(name, gap_inside.dropna(), **params)
    assert math.isnan(with_gap.iloc[2])  # the gap stays a gap
    np.testing.assert_allclose(with_gap.dropna().to_numpy(), without.dropna().to_numpy())
    assert with_gap.drop(gap_inside.index[2]).isna().equals(without.isna())


# --- year over year by calendar -------------------------------------------------------------------


def test_weekly_yoy_compares_with_52_weeks_earlier_on_real_jobless_claims() -> None:
    """Before: the last week on or before the same date a year earlier was 53 weeks back 6 times in 7."""
    claims = DATA.series("ICSA", "2022-01-01", "2026-08-21")
    out = run("percent_change", claims, yoy=True)
    expected = (claims / claims.shift(52) - 1) * 100  # ICSA has every week, so 52 rows back is 52 weeks
    assert (claims.index.to_series().diff().dropna() == pd.Timedelta(days=7)).all()
    np.testing.assert_allclose(out.iloc[52:].to_numpy(), expected.iloc[52:].to_numpy())
    assert out.iloc[:52].isna().all()


def test_weekly_yoy_with_a_missing_week_is_a_gap_not_the_week_before() -> None:
    weeks = pd.date_range("2023-01-07", periods=60, freq="W-SAT")
    claims = pd.Series(np.arange(60, dtype=float) + 100, index=weeks, name="W").drop(weeks[3])
    out = run("percent_change", claims, yoy=True)
    assert math.isnan(out.loc[weeks[55]])  # 52 weeks earlier is the missing week
    assert out.loc[weeks[56]] == pytest.approx((156 / 104 - 1) * 100)


def test_daily_yoy_uses_the_same_date_or_the_last_observation_before_it() -> None:
    days = pd.bdate_range("2023-01-02", "2024-03-01")
    x = pd.Series(np.arange(len(days), dtype=float) + 1, index=days, name="D")
    out = run("percent_change", x, yoy=True)
    # 2024-01-15 a year earlier is Sunday 2023-01-15: the last observation before it is Friday 2023-01-13
    assert out.loc["2024-01-15"] == pytest.approx((x.loc["2024-01-15"] / x.loc["2023-01-13"] - 1) * 100)
    assert out.loc["2024-02-29"] == pytest.approx((x.loc["2024-02-29"] / x.loc["2023-02-28"] - 1) * 100)


def test_monthly_yoy_diff_compares_the_same_month_of_the_previous_year() -> None:
    unrate = DATA.series("UNRATE", "2023-01-01", "2026-08-21")
    out = run("diff", unrate, yoy=True)
    assert out.loc["2024-06-01"] == pytest.approx(unrate.loc["2024-06-01"] - unrate.loc["2023-06-01"])
    assert "2025-10-01" not in unrate.index  # never published (shutdown)
    assert math.isnan(out.loc["2026-10-01"]) if "2026-10-01" in out.index else True
    assert out.name == "UNRATE_yoy_diff"


# --- calendar windows, the Sahm rule and thresholds -------------------------------------------------


def test_a_three_month_window_does_not_reach_back_past_a_missing_month() -> None:
    """Before: November 2025's 3-observation window took August, September and November."""
    unrate = DATA.series("UNRATE", "2025-01-01", "2026-08-21")
    by_obs = run("rolling_mean", unrate, window=3)
    by_month = run("rolling_mean", unrate, window=3, unit="months", min_periods=2)
    sep, nov = unrate.loc["2025-09-01"], unrate.loc["2025-11-01"]
    assert by_month.loc["2025-11-01"] == pytest.approx((sep + nov) / 2)
    assert by_obs.loc["2025-11-01"] == pytest.approx((unrate.loc["2025-08-01"] + sep + nov) / 3)
    assert by_month.name == "UNRATE_rolling_mean_3m"


def test_a_calendar_window_reaching_before_the_data_is_a_gap() -> None:
    x = pd.Series([1.0, 2.0, 3.0, 4.0], index=pd.date_range("2024-01-01", periods=4, freq="MS"), name="M")
    out = run("rolling_min", x, window=3, unit="months")
    assert out.isna().tolist() == [True, True, False, False]


def test_a_calendar_shift_moves_the_dates_not_the_values() -> None:
    x = pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-01-01", "2024-03-01"]), name="M")
    out = run("shift", x, periods=12, unit="months")
    assert list(out.index.strftime("%Y-%m-%d")) == ["2025-01-01", "2025-03-01"] and out.tolist() == [1.0, 2.0]


def test_a_threshold_of_half_a_point_triggers_on_0_4999999999999996() -> None:
    """Before: (3.0 + 3.3 + 4.8) / 3 - 3.2 = 0.49999999999999956 did not count as 0.50."""
    reading = (3.0 + 3.3 + 4.8) / 3 - 3.2
    assert reading < 0.5
    x = daily([0.1, reading, 0.2])
    assert len(run("filter", x, op="ge", value=0.5)) == 1
    assert run("episodes", x, op="ge", value=0.5)["start"].tolist() == [x.index[1]]
    assert len(run("filter", x, op="gt", value=0.5)) == 0  # strictly above needs more than noise
    assert len(run("filter", x, op="ge", value=0.5, tolerance=0.0)) == 0


# --- a flat series is the documented error, every time -------------------------------------------


@pytest.mark.parametrize("level", [0.1, 1e6 + 0.3, -7.77])
def test_zscore_of_a_flat_series_is_an_error_even_when_the_spread_is_rounding_noise(level: float) -> None:
    """Before: ten copies of 1000000.3 have a standard deviation of 1.2e-10 and ten of -7.77 one of 9.4e-16, not 0,
    so the z-scores were rounding noise divided by rounding noise."""
    flat = daily([level] * 10)
    with pytest.raises(OperationError, match="flat series is undefined"):
        run("zscore", flat)


def test_zscore_of_a_flat_window_after_large_values_is_a_gap() -> None:
    """A flat window after large values: a gap, whatever noise the rolling sums leave (guards the tolerance)."""
    x = daily([1e8, -1e8, 3e7, *([0.3] * 8)])
    out = run("zscore", x, window=4)
    assert out.iloc[-4:].isna().all()


# --- resampling a partial period --------------------------------------------------------------------


def test_a_monthly_average_leaves_out_the_partial_last_month_unless_asked() -> None:
    """Before: the average of 1 to 20 August 2026 was published as August's."""
    dgs10 = DATA.series("DGS10", "2026-05-01", "2026-08-21")
    assert dgs10.index[-1] == pd.Timestamp("2026-08-20")
    out = run("resample", dgs10, rule="M")
    assert out.index[-1] == pd.Timestamp("2026-07-01")
    assert run("resample", dgs10, rule="M", partial="keep").index[-1] == pd.Timestamp("2026-08-01")


def test_a_month_ending_on_a_weekend_is_complete_when_the_data_reaches_its_last_weekday() -> None:
    days = pd.bdate_range("2025-08-01", "2025-08-29")  # 31 August 2025 is a Sunday
    x = pd.Series(1.0, index=days, name="D")
    assert run("resample", x, rule="M").index.tolist() == [pd.Timestamp("2025-08-01")]


# --- realized volatility that followed --------------------------------------------------------------


def test_forward_realized_vol_is_the_trailing_one_of_the_window_ahead() -> None:
    spy = DATA.daily_bars("SPY", "2024-01-01", "2024-12-31")["close"].rename("SPY")
    trailing = run("realized_vol", spy, window=21)
    forward = run("realized_vol", spy, window=21, direction="forward")
    assert forward.iloc[0] == pytest.approx(trailing.iloc[21])
    assert forward.iloc[-21:].isna().all() and forward.name == "SPY_rv_fwd_21"
