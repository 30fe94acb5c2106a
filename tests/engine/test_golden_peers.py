"""Golden values ported from peer libraries' own published tests and documentation (values only; the
code here is ours). Provenance is given beside each table.

- empyrical (quantopian/empyrical, empyrical/tests/test_stats.py at 40f61b4, class TestStats):
  ``mixed_returns``, ``negative_returns``, ``weekly_returns``, ``monthly_returns`` and the expected
  values of ``test_max_drawdown``, ``test_annual_volatility`` and ``test_alpha_beta``.
- scipy (scipy.stats documentation examples and test_stats.py ``test_kendalltau``, "with some ties").

empyrical works on returns; our operations take prices, so each return series becomes the price path
that produces it, starting at 100 (empyrical's own starting value for drawdowns). Our annualised
volatility is the sample standard deviation (ddof 1) of log returns times sqrt(periods per year),
empyrical's of simple returns: the path ``100 * exp(cumsum(r))`` has exactly ``r`` as log returns, so
the statistic is compared on the same numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.engine.ops import run

PCT = np.array
MIXED = PCT([np.nan, 1.0, 10.0, -4.0, 2.0, 3.0, 2.0, 1.0, -10.0]) / 100
NEGATIVE = PCT([0.0, -6.0, -7.0, -1.0, -9.0, -2.0, -6.0, -8.0, -5.0]) / 100
NINE = PCT([0.0, 1.0, 10.0, -4.0, 2.0, 3.0, 2.0, 1.0, -10.0]) / 100


def days(values: np.ndarray, start: str = "2000-01-30", freq: str = "D", name: str = "R") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=freq), name=name)


def price_path(returns: np.ndarray) -> pd.Series:
    """Prices starting at 100 whose simple returns are ``returns`` (a missing return is no move)."""
    growth = np.concatenate([[100.0], 100.0 * np.cumprod(1 + np.nan_to_num(returns))])
    return days(growth, start="2000-01-29")


def log_path(returns: np.ndarray, freq: str = "D") -> pd.Series:
    """Prices whose log returns are exactly ``returns`` (missing ones dropped)."""
    clean = returns[np.isfinite(returns)]
    return days(100.0 * np.exp(np.concatenate([[0.0], np.cumsum(clean)])), start="2000-01-29", freq=freq)


@pytest.mark.parametrize(
    ("returns", "expected"),
    [
        (MIXED, -0.1),  # empyrical test_max_drawdown: (mixed_returns, -0.1)
        (NEGATIVE, -0.36590),  # (negative_returns, cum_returns_final(negative_returns)) = -0.36590 (test_cum_returns_final)
        (PCT([10.0, -10.0, 10.0]) / 100, -0.10),  # ([10, -10, 10] / 100, -0.10)
    ],
)
def test_max_drawdown_matches_empyrical(returns: np.ndarray, expected: float) -> None:
    assert run("max_drawdown", price_path(returns))["max_drawdown_pct"] / 100 == pytest.approx(expected, abs=1e-5)  # published to 5 decimals


@pytest.mark.parametrize(
    ("returns", "freq", "per_year", "expected"),
    [
        (MIXED, "D", 252, 0.9136465399704637),  # empyrical test_annual_volatility (mixed_returns, DAILY)
        (NINE, "W", 52, 0.38851569394870583),  # (weekly_returns, WEEKLY)
        (NINE, "ME", 12, 0.18663690238892558),  # (monthly_returns, MONTHLY)
    ],
)
def test_annualised_volatility_matches_empyrical(returns: np.ndarray, freq: str, per_year: int, expected: float) -> None:
    prices = log_path(returns, freq)
    vol = run("realized_vol", prices, window=len(prices) - 1, trading_days=per_year)
    assert vol.iloc[-1] / 100 == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("returns", "benchmark", "expected"),
    [
        (days(MIXED), days(NEGATIVE).iloc[1:], -0.71296296296296313),  # empyrical test_alpha_beta (mixed_returns, negative_returns[1:])
        (days(MIXED), days(MIXED), 1.0),  # (mixed_returns, mixed_returns)
        (days(MIXED), -days(MIXED), -1.0),  # (mixed_returns, -mixed_returns)
    ],
)
def test_beta_of_returns_matches_empyrical(returns: pd.Series, benchmark: pd.Series, expected: float) -> None:
    assert run("beta", returns.rename("A"), benchmark.rename("B"), returns=False)["beta"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "method", "expected"),
    [
        ([1, 2, 3, 4, 5], [5, 6, 7, 8, 7], "spearman", 0.82078268166812329),  # scipy.stats.spearmanr docstring example (a tie in y)
        ([1, 2, 3, 4, 5], [5, 6, 7, 8, 7], "pearson", 0.83205029433784372),  # scipy.stats tutorial, pearsonr of the same data
        ([12, 2, 1, 12, 2], [1, 4, 7, 1, 0], "kendall", -0.47140452079103173),  # scipy test_stats.test_kendalltau "with some ties" (tau-b)
    ],
)
def test_correlation_with_ties_matches_scipy(x: list[float], y: list[float], method: str, expected: float) -> None:
    a, b = days(np.array(x, dtype=float), name="X"), days(np.array(y, dtype=float), name="Y")
    assert run("correlation", a, b, method=method) == pytest.approx(expected, rel=1e-12)
    matrix = run("correlation_matrix", a, b, method=method)
    assert matrix.loc["X", "Y"] == pytest.approx(expected, rel=1e-12)
