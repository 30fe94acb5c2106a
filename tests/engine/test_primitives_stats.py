"""Stats operations: rolling windows, ewm, zscore, percentile rank, resample, shift, diff, last, mean."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from contracts.errors import OperationError, StepFailed
from engine.executor import execute, run_values
from engine.registry import load_all
from services.data import sample_access
from tests.engine.ops import run

load_all()



def daily(values: list[float], start: str = "2024-01-01", name: str | None = "X") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), name=name, dtype=float)


@pytest.fixture
def empty() -> pd.Series:
    return pd.Series([], index=pd.DatetimeIndex([]), name="X", dtype=float)


@pytest.fixture
def single() -> pd.Series:
    return daily([5.0])


@pytest.fixture
def nan_inside() -> pd.Series:
    return daily([1.0, 2.0, np.nan, 3.0, 4.0])


@pytest.fixture
def flat() -> pd.Series:
    return daily([3.0] * 10)


@pytest.fixture
def ramp() -> pd.Series:
    return daily([float(i) for i in range(1, 11)])


# --- rolling windows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rolling_mean", [np.nan, np.nan, 2.0, 3.0, 4.0]),
        ("rolling_min", [np.nan, np.nan, 1.0, 2.0, 3.0]),
        ("rolling_max", [np.nan, np.nan, 3.0, 4.0, 5.0]),
        ("rolling_std", [np.nan, np.nan, 1.0, 1.0, 1.0]),
    ],
)
def test_rolling_golden_values(name: str, expected: list[float]) -> None:
    out = run(name, daily([1, 2, 3, 4, 5]), window=3)
    np.testing.assert_allclose(out.to_numpy(), expected)
    assert out.name == f"X_{name}_3"


def test_rolling_mean_min_periods_fills_the_warm_up() -> None:
    out = run("rolling_mean", daily([1, 2, 3, 4]), window=3, min_periods=1)
    np.testing.assert_allclose(out.to_numpy(), [1.0, 1.5, 2.0, 3.0])


def test_rolling_window_counts_observations_and_skips_gaps(nan_inside: pd.Series) -> None:
    out = run("rolling_mean", nan_inside, window=2)
    assert out.index.equals(nan_inside.index)
    assert math.isnan(out.iloc[2])  # the gap stays a gap
    assert out.iloc[3] == pytest.approx(2.5)  # mean of 2 and 3, the two observations before it


def test_rolling_std_of_a_flat_line_is_zero(flat: pd.Series) -> None:
    assert (run("rolling_std", flat, window=5).dropna() == 0).all()


@pytest.mark.parametrize("name", ["rolling_mean", "rolling_std", "rolling_min", "rolling_max"])
def test_rolling_shorter_than_window_is_an_error_not_none(name: str, single: pd.Series, empty: pd.Series) -> None:
    for series in (single, empty):
        with pytest.raises(OperationError, match="at least 3 observations"):
            run(name, series, window=3)


def test_rolling_params_are_checked() -> None:
    with pytest.raises(ValidationError):
        run("rolling_mean", daily([1, 2]), window=0)
    with pytest.raises(ValidationError, match="min_periods"):
        run("rolling_mean", daily([1, 2]), window=2, min_periods=3)
    with pytest.raises(ValidationError):
        run("rolling_mean", daily([1, 2]), window=2, windw=3)  # unknown keys are errors


def test_rolling_std_needs_two_points_per_window() -> None:
    with pytest.raises(OperationError, match="at least 2"):
        run("rolling_std", daily([1, 2, 3]), window=1)


# --- ewm -------------------------------------------------------------------------------------------


def test_ewm_mean_is_the_recursive_ema() -> None:
    # span 3 -> alpha 0.5: 1, 0.5*2 + 0.5*1 = 1.5, 0.5*3 + 0.5*1.5 = 2.25
    out = run("ewm_mean", daily([1, 2, 3]), span=3)
    np.testing.assert_allclose(out.to_numpy(), [1.0, 1.5, 2.25])
    assert out.name == "X_ewm_3"


def test_ewm_mean_of_flat_line_is_flat(flat: pd.Series) -> None:
    assert (run("ewm_mean", flat, span=4) == 3.0).all()


def test_ewm_mean_keeps_gaps(nan_inside: pd.Series) -> None:
    out = run("ewm_mean", nan_inside, span=1)  # alpha 1: the value itself
    np.testing.assert_allclose(out.to_numpy(), nan_inside.to_numpy())


def test_ewm_mean_rejects_span_below_one_and_empty_input(empty: pd.Series) -> None:
    with pytest.raises(ValidationError):
        run("ewm_mean", daily([1, 2]), span=0.5)
    with pytest.raises(OperationError, match="at least 1"):
        run("ewm_mean", empty, span=3)


# --- zscore and percentile rank --------------------------------------------------------------------


def test_zscore_of_whole_series_has_mean_zero_and_std_one(ramp: pd.Series) -> None:
    out = run("zscore", ramp)
    assert out.mean() == pytest.approx(0.0, abs=1e-12)
    assert out.std() == pytest.approx(1.0)
    assert out.name == "X_zscore"


def test_zscore_rolling_golden_value() -> None:
    # last window [2, 4, 6]: mean 4, sample std 2 -> (6 - 4) / 2 = 1
    out = run("zscore", daily([0, 2, 4, 6]), window=3)
    assert out.iloc[-1] == pytest.approx(1.0)
    assert out.iloc[-2] == pytest.approx(1.0)
    assert out.iloc[:2].isna().all()
    assert out.name == "X_zscore_3"


def test_zscore_is_unchanged_by_shifting_and_scaling(ramp: pd.Series) -> None:
    base = run("zscore", ramp, window=4)
    moved = run("zscore", ramp * 7.5 - 3, window=4)
    np.testing.assert_allclose(base.to_numpy(), moved.to_numpy())


def test_zscore_of_flat_series_is_an_error(flat: pd.Series) -> None:
    with pytest.raises(OperationError, match="flat"):
        run("zscore", flat)


def test_zscore_flat_window_is_a_gap_not_infinity() -> None:
    out = run("zscore", daily([1, 1, 1, 2]), window=3)
    assert math.isnan(out.iloc[2])
    assert np.isfinite(out.iloc[3])


def test_zscore_too_short(single: pd.Series) -> None:
    with pytest.raises(OperationError, match="at least 2"):
        run("zscore", single)


@pytest.mark.parametrize(("window", "expected_last"), [(None, 100.0), (4, 100.0)])
def test_percentile_rank_of_a_new_high_is_100(ramp: pd.Series, window: int | None, expected_last: float) -> None:
    assert run("percentile_rank", ramp, window=window).iloc[-1] == pytest.approx(expected_last)


def test_percentile_rank_golden_values() -> None:
    # window 3 over [3, 1, 2]: 2 is the middle of three -> 2/3
    out = run("percentile_rank", daily([3, 1, 2]), window=3)
    assert out.iloc[-1] == pytest.approx(200 / 3)
    whole = run("percentile_rank", daily([10, 30, 20, 40]))
    np.testing.assert_allclose(whole.to_numpy(), [25, 75, 50, 100])


def test_percentile_rank_stays_within_0_and_100(sample_data) -> None:
    vix = sample_data.series("VIXCLS")
    out = run("percentile_rank", vix, window=252).dropna()
    assert out.between(0, 100).all()


# --- resample --------------------------------------------------------------------------------------


@pytest.fixture
def mixed_frequency() -> pd.Series:
    """Daily business-day values over two months: 1.0 in January, 2.0 in February."""
    index = pd.bdate_range("2024-01-01", "2024-02-29")
    return pd.Series(np.where(index.month == 1, 1.0, 2.0), index=index, name="D")


@pytest.mark.parametrize(
    ("how", "expected"),
    [("mean", [1.0, 2.0]), ("last", [1.0, 2.0]), ("first", [1.0, 2.0]), ("sum", [23.0, 42.0]), ("max", [1.0, 2.0]), ("min", [1.0, 2.0])],
)
def test_resample_monthly_is_stamped_at_the_first_of_the_month(mixed_frequency: pd.Series, how: str, expected: list[float]) -> None:
    out = run("resample", mixed_frequency, rule="M", how=how)
    assert list(out.index) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")]
    np.testing.assert_allclose(out.to_numpy(), expected)


def test_resample_quarterly_and_annual_stamping() -> None:
    monthly = pd.Series(range(1, 13), index=pd.date_range("2023-01-01", periods=12, freq="MS"), dtype=float)
    quarterly = run("resample", monthly, rule="Q", how="mean")
    assert list(quarterly.index.strftime("%Y-%m-%d")) == ["2023-01-01", "2023-04-01", "2023-07-01", "2023-10-01"]
    np.testing.assert_allclose(quarterly.to_numpy(), [2, 5, 8, 11])
    annual = run("resample", monthly, rule="A", how="last")
    assert annual.index[0] == pd.Timestamp("2023-01-01") and annual.iloc[0] == 12


def test_resample_weekly_ends_on_friday(mixed_frequency: pd.Series) -> None:
    out = run("resample", mixed_frequency, rule="W", how="last")
    assert (out.index.dayofweek == 4).all()


def test_resample_to_a_higher_frequency_is_an_error() -> None:
    quarterly = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2023-01-01", periods=3, freq="QS"))
    with pytest.raises(OperationError, match="lower frequency"):
        run("resample", quarterly, rule="M")


def test_resample_rejects_unknown_rules() -> None:
    with pytest.raises(ValidationError):
        run("resample", daily([1, 2]), rule="D")


def test_resample_real_dgs10_monthly_mean_matches_fred_style_average(sample_data) -> None:
    dgs10 = sample_data.series("DGS10", start=pd.Timestamp("2023-01-01").date(), end=pd.Timestamp("2023-12-31").date())
    out = run("resample", dgs10, rule="M", how="mean")
    assert len(out) == 12
    assert out.loc["2023-10-01"] == pytest.approx(dgs10.loc["2023-10"].mean())
    assert 4.5 < out.loc["2023-10-01"] < 5.0  # the 10-year yield peaked near 5 % in October 2023


# --- shift, diff, last, mean ---------------------------------------------------------------------


def test_shift_lags_and_leads() -> None:
    x = daily([1, 2, 3])
    np.testing.assert_allclose(run("shift", x, periods=1).to_numpy(), [np.nan, 1, 2])
    np.testing.assert_allclose(run("shift", x, periods=-1).to_numpy(), [2, 3, np.nan])
    assert run("shift", x, periods=1).name == "X_shift_1"


def test_shift_and_diff_too_short(single: pd.Series) -> None:
    with pytest.raises(OperationError, match="at least 2"):
        run("shift", single, periods=1)
    with pytest.raises(OperationError, match="at least 2"):
        run("diff", single)


def test_diff_golden_values() -> None:
    np.testing.assert_allclose(run("diff", daily([1, 4, 9, 16])).to_numpy(), [np.nan, 3, 5, 7])
    np.testing.assert_allclose(run("diff", daily([1, 4, 9, 16]), periods=2).to_numpy(), [np.nan, np.nan, 8, 12])
    with pytest.raises(ValidationError):
        run("diff", daily([1, 2]), periods=0)


def test_last_and_mean_skip_missing_values() -> None:
    x = daily([1.0, 2.0, 6.0, np.nan])
    assert run("last", x) == 6.0
    assert run("mean_value", x) == pytest.approx(3.0)
    assert isinstance(run("last", x), float)


@pytest.mark.parametrize("name", ["last", "mean_value", "summary"])
def test_scalar_reductions_of_empty_series_are_errors(name: str, empty: pd.Series) -> None:
    with pytest.raises(OperationError):
        run(name, empty)


def test_summary_of_a_spread() -> None:
    out = run("summary", daily([-1.0, 1.0, 3.0]))
    assert out["latest"] == 3.0 and out["latest_date"] == "2024-01-03"
    assert out["mean"] == pytest.approx(1.0) and out["std"] == pytest.approx(2.0)
    assert out["share_negative"] == pytest.approx(1 / 3)  # a fraction, not percent
    assert "pct_negative" not in out  # a 'pct' name on a 0-1 fraction read as 0.33% in the stats table


# --- through the executor ------------------------------------------------------------------------


def test_sahm_rule_style_pipeline_runs_through_the_executor() -> None:
    doc = {
        "version": "1.0",
        "steps": [
            {"id": "unrate", "operation": "fetch_series", "params": {"series_id": "UNRATE", "start": "2019-01-01", "end": "2021-12-31"}},
            {"id": "avg3", "operation": "rolling_mean", "params": {"window": 3}, "inputs": ["unrate"]},
            {"id": "low12", "operation": "rolling_min", "params": {"window": 12}, "inputs": ["avg3"]},
            {"id": "prior_low", "operation": "shift", "params": {"periods": 1}, "inputs": ["low12"]},
            {"id": "sahm", "operation": "sub", "inputs": ["avg3", "prior_low"]},
            {"id": "latest", "operation": "last", "inputs": ["sahm"]},
        ],
        "outputs": {"series": [{"id": "sahm", "source": "sahm", "label": "Sahm rule (pp)"}], "metrics": [{"id": "m", "source": "latest", "label": "latest"}]},
    }
    values = run_values(doc, data=sample_access())
    assert values["sahm"].loc["2020-04-01"] > 0.5  # the rule fired in spring 2020
    result = execute(doc, data=sample_access())
    assert [t.operation for t in result.trace][-1] in {"last", "sub"}
    # warm-up: 2 months for the 3-month average, 11 more for the 12-month low, 1 for the lag
    assert result.outputs["series"][0]["x"][0] == "2020-03-01"


def test_executor_reports_a_short_window_as_a_step_failure() -> None:
    doc = {
        "version": "1.0",
        "steps": [
            {"id": "gdp", "operation": "fetch_series", "params": {"series_id": "GDPC1", "start": "2024-01-01", "end": "2024-12-31"}},
            {"id": "z", "operation": "zscore", "params": {"window": 40}, "inputs": ["gdp"]},
        ],
        "outputs": {"series": [{"id": "z", "source": "z", "label": "z"}]},
    }
    with pytest.raises(StepFailed, match=r"Step 'z' \(zscore\) failed: 'zscore' needs at least 40 observations"):
        execute(doc, data=sample_access())
