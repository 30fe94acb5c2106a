"""Analysis operations: correlations, OLS regression (checked against scipy), beta and rolling beta."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from contracts.errors import OperationError, ValidationFailed
from engine.executor import execute
from engine.primitives.analysis import FIT_COLUMNS
from engine.registry import load_all
from services.data import sample_access
from tests.engine.ops import run

load_all()



def series(values: Any, start: str = "2024-01-01", name: str | None = None, freq: str = "B") -> pd.Series:
    values = np.asarray(values, dtype=float)
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq), name=name)


@pytest.fixture
def noise() -> tuple[pd.Series, pd.Series]:
    """Two related random return series (seeded): b = 0.6 a + noise."""
    rng = np.random.default_rng(7)
    a = rng.normal(0, 0.01, 300)
    b = 0.6 * a + rng.normal(0, 0.01, 300)
    return series(a, name="A"), series(b, name="B")


@pytest.fixture
def single() -> pd.Series:
    return series([1.0], name="ONE")


@pytest.fixture
def flat() -> pd.Series:
    return series([2.0] * 20, name="FLAT")


@pytest.fixture
def nan_inside(noise: tuple[pd.Series, pd.Series]) -> pd.Series:
    a, _ = noise
    holed = a.copy()
    holed.iloc[[5, 50, 100]] = np.nan
    return holed


@pytest.fixture
def mixed_frequency() -> tuple[pd.Series, pd.Series]:
    """A monthly series stamped on the 1st (as FRED's) and a weekly one ending Saturday (as ICSA).

    In 2022 they share only 2022-01-01 and 2022-10-01, the two firsts of a month on a Saturday.
    """
    monthly = series(np.arange(12.0) ** 1.5, start="2022-01-01", name="M", freq="MS")
    weekly = series(np.sqrt(np.arange(52.0)), start="2022-01-01", name="W", freq="W-SAT")
    return monthly, weekly


# --- correlation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transform", "method", "expected"),
    [
        (lambda x: 2 * x + 1, "pearson", 1.0),
        (lambda x: -x, "pearson", -1.0),
        (lambda x: x**3, "spearman", 1.0),
        (lambda x: np.exp(-x), "kendall", -1.0),
    ],
)
def test_correlation_golden_values(transform: Any, method: str, expected: float) -> None:
    x = series(np.linspace(-2, 2, 30), name="x")
    assert run("correlation", x, transform(x), method=method) == pytest.approx(expected)


def test_correlation_agrees_with_scipy(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    assert run("correlation", a, b) == pytest.approx(stats.pearsonr(a, b).statistic)
    assert run("correlation", a, b, method="spearman") == pytest.approx(stats.spearmanr(a, b).statistic)
    assert run("correlation", a, b, method="kendall") == pytest.approx(stats.kendalltau(a, b).statistic)


def test_shifting_and_scaling_returns_leaves_correlation_unchanged(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    base = run("correlation", a, b)
    assert run("correlation", a + 0.05, b) == pytest.approx(base)
    assert run("correlation", a * 3, b - 1) == pytest.approx(base)
    assert run("correlation", b, a) == pytest.approx(base)  # symmetric


def test_correlation_skips_missing_values(nan_inside: pd.Series, noise: tuple[pd.Series, pd.Series]) -> None:
    _, b = noise
    keep = nan_inside.notna()
    assert run("correlation", nan_inside, b) == pytest.approx(np.corrcoef(nan_inside[keep], b[keep])[0, 1])


def test_correlation_of_mixed_frequencies_must_say_how_they_meet(mixed_frequency: tuple[pd.Series, pd.Series]) -> None:
    monthly, weekly = mixed_frequency
    with pytest.raises(OperationError, match="first series is monthly and the second weekly"):
        run("correlation", monthly, weekly)
    assert run("correlation", weekly, monthly, align="ffill") > 0.9  # both rise steadily
    assert run("correlation", monthly, weekly, align="mean") > 0.9


def test_correlation_with_a_flat_or_too_short_series_is_an_error(flat: pd.Series, single: pd.Series) -> None:
    x = series(np.arange(20.0))
    with pytest.raises(OperationError, match="flat"):
        run("correlation", x, flat)
    with pytest.raises(OperationError, match=r"no dates in common|at least 3"):
        run("correlation", single, x)


def test_correlation_rejects_unknown_methods() -> None:
    with pytest.raises(ValidationError, match="pearson"):
        run("correlation", series([1, 2, 3]), series([1, 2, 3]), method="linear")


# --- rolling correlation -------------------------------------------------------------------------


def test_rolling_correlation_last_window_matches_numpy(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    out = run("rolling_correlation", a, b, window=60)
    assert out.iloc[-1] == pytest.approx(np.corrcoef(a.iloc[-60:], b.iloc[-60:])[0, 1])
    assert out.iloc[:59].isna().all()
    assert out.name == "corr_A_B_60"


def test_rolling_correlation_shorter_than_window(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    with pytest.raises(OperationError, match="at least 400"):
        run("rolling_correlation", a, b, window=400)


# --- correlation matrix --------------------------------------------------------------------------


def test_correlation_matrix_is_symmetric_with_unit_diagonal(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    c = (a - b).rename("C")
    out = run("correlation_matrix", a, b, c)
    assert list(out.index) == ["A", "B", "C"] == list(out.columns)
    np.testing.assert_allclose(np.diag(out), 1.0)
    np.testing.assert_allclose(out.to_numpy(), out.to_numpy().T)
    assert out.loc["A", "B"] == pytest.approx(run("correlation", a, b))


def test_correlation_matrix_uses_the_dates_all_series_share_by_default(noise: tuple[pd.Series, pd.Series]) -> None:
    """Issue 10: every entry describes the same period, so the matrix is a correlation matrix."""
    a, b = noise
    short = a.iloc[-20:].rename("SHORT") + series(np.random.default_rng(1).normal(0, 0.01, 300)).iloc[-20:]
    out = run("correlation_matrix", a, b, short)
    assert out.loc["A", "B"] == pytest.approx(run("correlation", a.iloc[-20:], b.iloc[-20:]))
    assert np.linalg.eigvalsh(out.to_numpy()).min() > -1e-12


def test_correlation_matrix_pairwise_lets_a_short_series_not_shorten_the_others(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    short = a.iloc[-20:].rename("SHORT") + series(np.random.default_rng(1).normal(0, 0.01, 300)).iloc[-20:]
    out = run("correlation_matrix", a, b, short, dates="pairwise")
    assert out.loc["A", "B"] == pytest.approx(run("correlation", a, b))


def test_correlation_matrix_names_duplicates_and_unnamed_series(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    out = run("correlation_matrix", a, b.rename("A"), b.rename(None))
    assert list(out.columns) == ["A", "A_2", "x3"]


def test_correlation_matrix_errors(noise: tuple[pd.Series, pd.Series], flat: pd.Series, mixed_frequency: tuple[pd.Series, pd.Series]) -> None:
    a, _ = noise
    with pytest.raises(OperationError, match="at least 2 series"):
        run("correlation_matrix", a)
    with pytest.raises(OperationError, match="'FLAT' is flat"):
        run("correlation_matrix", a, flat)
    monthly, weekly = mixed_frequency
    with pytest.raises(OperationError, match="one frequency, got M monthly, W weekly"):
        run("correlation_matrix", monthly, weekly)


# --- regression ----------------------------------------------------------------------------------


def test_regression_agrees_with_scipy_linregress(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    out = run("regression", b, a)
    ref = stats.linregress(a, b)
    assert out["beta"] == pytest.approx(ref.slope)
    assert out["alpha"] == pytest.approx(ref.intercept)
    assert out["r2"] == pytest.approx(ref.rvalue**2)
    assert out["se_beta"] == pytest.approx(ref.stderr)
    assert out["se_alpha"] == pytest.approx(ref.intercept_stderr)
    assert out["p_beta"] == pytest.approx(ref.pvalue)
    assert out["t_beta"] == pytest.approx(ref.slope / ref.stderr)
    assert out["t_alpha"] == pytest.approx(ref.intercept / ref.intercept_stderr)
    assert out["n"] == 300


def test_regression_of_an_exact_line() -> None:
    x = series(np.arange(10.0))
    out = run("regression", 2 + 3 * x, x)
    assert out["alpha"] == pytest.approx(2) and out["beta"] == pytest.approx(3) and out["r2"] == pytest.approx(1)


def test_regression_needs_three_points_and_a_moving_x(flat: pd.Series) -> None:
    with pytest.raises(OperationError, match="at least 3"):
        run("regression", series([1, 2]), series([3, 5]))
    with pytest.raises(OperationError, match="second series is flat"):
        run("regression", series(np.arange(20.0)), flat)


def test_regression_fit_columns_and_residuals(noise: tuple[pd.Series, pd.Series]) -> None:
    a, b = noise
    fit = run("regression_fit", b, a)
    coef = run("regression", b, a)
    assert list(fit.columns) == FIT_COLUMNS and fit.index.name == "date"
    np.testing.assert_allclose(fit["fitted"], coef["alpha"] + coef["beta"] * fit["x"])
    assert fit["residual"].sum() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(fit["y"], b)


# --- beta ----------------------------------------------------------------------------------------


def test_spy_beta_against_itself_is_one(sample_data) -> None:
    spy = sample_data.daily_bars("SPY")["close"]
    out = run("beta", spy, spy)
    assert out["beta"] == pytest.approx(1.0)
    assert out["alpha_annual_pct"] == pytest.approx(0.0, abs=1e-9)
    assert out["r2"] == pytest.approx(1.0) and out["correlation"] == pytest.approx(1.0)
    assert out["n"] == len(spy) - 1


def test_beta_golden_value_from_constructed_prices() -> None:
    rng = np.random.default_rng(3)
    market_returns = rng.normal(0, 0.01, 500)
    asset_returns = 0.0001 + 1.5 * market_returns
    market = series(100 * np.cumprod(np.r_[1, 1 + market_returns]), name="MKT")
    asset = series(50 * np.cumprod(np.r_[1, 1 + asset_returns]), name="ASSET")
    out = run("beta", asset, market)
    assert out["beta"] == pytest.approx(1.5)
    assert out["alpha_annual_pct"] == pytest.approx(0.0001 * 252 * 100)
    assert out["n"] == 500
    already = run("beta", asset.pct_change().dropna(), market.pct_change().dropna(), returns=False)
    assert already["beta"] == pytest.approx(1.5)


def test_beta_of_prices_with_negative_values_points_to_the_returns_flag() -> None:
    returns_ = series(np.random.default_rng(2).normal(0, 0.01, 50))
    with pytest.raises(OperationError, match="set returns to false"):
        run("beta", returns_, returns_)


def test_qqq_beta_to_spy_is_above_one(sample_data) -> None:
    spy = sample_data.daily_bars("SPY")["close"]
    qqq = sample_data.daily_bars("QQQ")["close"]
    out = run("beta", qqq, spy)
    assert 1.05 < out["beta"] < 1.3
    assert 0.85 < out["correlation"] < 0.97


def test_rolling_beta_last_window_equals_beta_of_that_window(sample_data) -> None:
    spy = sample_data.daily_bars("SPY")["close"].rename("SPY")
    qqq = sample_data.daily_bars("QQQ")["close"].rename("QQQ")
    out = run("rolling_beta", qqq, spy, window=63)
    assert out.name == "beta_QQQ_SPY_63"
    window = run("beta", qqq.iloc[-64:], spy.iloc[-64:])
    assert out.iloc[-1] == pytest.approx(window["beta"])
    assert out.iloc[:62].isna().all()


def test_rolling_beta_too_short(single: pd.Series) -> None:
    prices = series(100 + np.arange(30.0))
    with pytest.raises(OperationError, match="at least 63"):
        run("rolling_beta", prices, prices * 2)


# --- through the validator and executor ----------------------------------------------------------


def test_beta_and_correlation_matrix_models_run_through_the_executor() -> None:
    doc = {
        "version": "1.0",
        "steps": [
            {"id": "spy", "operation": "fetch_prices", "params": {"symbol": "SPY", "start": "2024-01-01", "basis": "total_return"}},
            {"id": "qqq", "operation": "fetch_prices", "params": {"symbol": "QQQ", "start": "2024-01-01", "basis": "total_return"}},
            {"id": "tlt", "operation": "fetch_prices", "params": {"symbol": "TLT", "start": "2024-01-01", "basis": "total_return"}},
            {"id": "b", "operation": "beta", "inputs": ["qqq", "spy"]},
            {"id": "rq", "operation": "percent_change", "inputs": ["qqq"]},
            {"id": "rs", "operation": "percent_change", "inputs": ["spy"]},
            {"id": "rt", "operation": "percent_change", "inputs": ["tlt"]},
            {"id": "m", "operation": "correlation_matrix", "params": {"method": "spearman"}, "inputs": ["rs", "rq", "rt"]},
        ],
        "outputs": {
            "tables": [{"id": "beta", "source": "b", "columns": ["metric", "value"]}, {"id": "matrix", "source": "m"}],
            "metrics": [{"id": "beta_value", "source": "b", "field": "beta", "label": "Beta", "format": ".2f"}],
        },
    }
    result = execute(doc, data=sample_access())
    assert 0.9 < result.outputs["metrics"][0]["value"] < 1.6
    matrix = result.outputs["tables"][1]
    assert matrix["columns"][0] == "series"
    assert [row["series"] for row in matrix["rows"]] == ["SPY_pct_change_1", "QQQ_pct_change_1", "TLT_pct_change_1"]


def test_validator_checks_correlation_matrix_arity_and_regression_params() -> None:
    doc = {
        "version": "1.0",
        "steps": [
            {"id": "spy", "operation": "fetch_prices", "params": {"symbol": "SPY"}},
            {"id": "qqq", "operation": "fetch_prices", "params": {"symbol": "QQQ"}},
            {"id": "m", "operation": "correlation_matrix", "inputs": ["spy"]},
            {"id": "r", "operation": "regression", "params": {"align": "outer"}, "inputs": ["spy", "qqq"]},
        ],
        "outputs": {"tables": [{"id": "t", "source": "m"}]},
    }
    with pytest.raises(ValidationFailed) as caught:
        execute(doc, data=sample_access())
    codes = {p.code for p in caught.value.problems}
    assert "E_ARITY" in codes and any(p.path.startswith("$.steps[3].params") for p in caught.value.problems)
