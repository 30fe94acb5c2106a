"""Black-Scholes-Merton maths checked against the independent reference ``vollib`` (Jaeckel's
LetsBeRational; greeks in its analytical module).

Units: vollib's theta is already per calendar day (annual / 365) and its vega already per volatility
point (x 0.01), the same conventions as ``engine.primitives.bsm``, so values compare directly.

Tolerances (measured differences are around 1e-13; the margins only absorb the two libraries'
different normal CDFs): price and greeks within 1e-9 relative or 1e-11 absolute; implied volatility
within 1e-7 of the true sigma and of vollib's answer wherever the option has at least 1e-3 of value
and 1e-3 of vega (per vol point), i.e. wherever a volatility is identifiable in floating point.

The vectorised solver (every contract at once) is checked against the scalar reference it replaced,
one ``scipy.optimize.brentq`` call per contract, on every contract of the real SPY chain: measured
differences are at most 2.5e-11 in volatility; the assertion allows 1e-6.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from vollib.black_scholes_merton import black_scholes_merton
from vollib.black_scholes_merton.greeks.analytical import delta, gamma, theta, vega
from vollib.black_scholes_merton.implied_volatility import implied_volatility

from engine.primitives import bsm
from services.data import sample_access

SPOT = 100.0
GRID = list(itertools.product(
    [60.0, 85.0, 100.0, 115.0, 150.0],  # strike
    [7 / 365, 30 / 365, 0.5, 2.0],  # years
    [0.08, 0.3, 0.9],  # sigma
    [0.0, 0.05],  # rate
    [0.0, 0.03],  # dividend yield
    [True, False],  # call
))
REL, ABS = 1e-9, 1e-11


def _grid_arrays() -> tuple[np.ndarray, ...]:
    K, T, sigma, r, q, call = (np.array(col) for col in zip(*GRID, strict=True))
    return K, T, sigma, r, q, call.astype(bool)


def _reference(fn) -> np.ndarray:
    out = []
    for K, T, sigma, r, q, call in GRID:
        flag = "c" if call else "p"
        out.append(fn(flag, SPOT, K, T, r, sigma, q))
    return np.array(out)


@pytest.mark.parametrize(
    ("name", "reference"),
    [("price", black_scholes_merton), ("delta", delta), ("gamma", gamma), ("theta", theta), ("vega", vega)],
)
def test_price_and_greeks_match_vollib_over_grid(name: str, reference) -> None:
    K, T, sigma, r, q, call = _grid_arrays()
    # rate and dividend vary per row: evaluate each (r, q) block with scalar rates, as the API takes them
    ours = np.empty(len(GRID))
    for rate, div in itertools.product([0.0, 0.05], [0.0, 0.03]):
        rows = (r == rate) & (q == div)
        values = bsm.greeks(SPOT, K[rows], T[rows], sigma[rows], call[rows], rate, div)
        ours[rows] = values[name]
    expected = _reference(reference)
    np.testing.assert_allclose(ours, expected, rtol=REL, atol=ABS)


def test_implied_vol_recovers_sigma_and_agrees_with_vollib() -> None:
    checked = 0
    for K, T, sigma, r, q, call in GRID:
        flag = "c" if call else "p"
        value = black_scholes_merton(flag, SPOT, K, T, r, sigma, q)
        if value < 1e-3 or vega(flag, SPOT, K, T, r, sigma, q) < 1e-3:
            continue  # volatility not identifiable from a price this small or this flat
        iv, reason = bsm.implied_vol(value, SPOT, K, T, call, r, q)
        assert reason[()] == "ok"
        assert abs(float(iv) - sigma) < 1e-7
        assert abs(float(iv) - implied_volatility(value, SPOT, K, T, r, q, flag)) < 1e-7
        checked += 1
    assert checked > 250  # most of the grid is identifiable


def test_implied_vol_is_vectorised_and_keeps_order() -> None:
    strikes = np.linspace(70, 130, 61)
    calls = strikes >= 100
    sigma = 0.2 + 0.1 * ((strikes - 100) / 30) ** 2  # a smile
    prices = bsm.price(SPOT, strikes, 0.25, sigma, calls, 0.04, 0.01)
    iv, reason = bsm.implied_vol(prices, SPOT, strikes, 0.25, calls, 0.04, 0.01)
    assert set(reason) == {"ok"}
    np.testing.assert_allclose(iv, sigma, atol=1e-8)


@pytest.mark.parametrize(
    ("price", "strike", "years", "call", "reason"),
    [
        (5.0, 90.0, 0.25, True, "price below intrinsic"),  # worth at least 10
        (9.0, 110.0, 0.25, False, "price below intrinsic"),
        (10.0, 90.0, 0.25, True, "no time value"),  # exactly intrinsic: volatility 0
        (101.0, 90.0, 0.25, True, "price above maximum"),  # a call is never worth more than the stock
        (100.5, 100.0, 0.25, False, "price above maximum"),  # nor a put more than the strike
        (99.0, 100.0, 0.25, True, "volatility above 1000%"),
        (3.0, 100.0, 0.0, True, "expired"),
        (3.0, 100.0, -0.1, True, "expired"),
        (float("nan"), 100.0, 0.25, True, "no price"),
        (0.0, 100.0, 0.25, True, "no price"),
        (3.0, float("nan"), 0.25, True, "invalid input"),
    ],
)
def test_implied_vol_says_why_no_volatility_fits(price: float, strike: float, years: float, call: bool, reason: str) -> None:
    iv, why = bsm.implied_vol(price, SPOT, strike, years, call)
    assert np.isnan(iv)
    assert why[()] == reason


def test_invalid_inputs_give_nan_not_errors() -> None:
    values = bsm.greeks([100.0, 0.0, 100.0, 100.0], [100.0, 100.0, 100.0, 100.0], [0.5, 0.5, 0.0, 0.5], [0.2, 0.2, 0.2, 0.0], True)
    for name, column in values.items():
        assert np.isfinite(column[0]), name
        assert np.isnan(column[1:]).all(), name


def test_put_call_parity_holds() -> None:
    K = np.array([80.0, 100.0, 125.0])
    call = bsm.price(SPOT, K, 0.75, 0.35, True, 0.05, 0.02)
    put = bsm.price(SPOT, K, 0.75, 0.35, False, 0.05, 0.02)
    np.testing.assert_allclose(call - put, SPOT * np.exp(-0.02 * 0.75) - K * np.exp(-0.05 * 0.75), atol=1e-10)


def test_theta_is_per_calendar_day_and_vega_per_vol_point() -> None:
    """Finite differences: one day less to expiry, one volatility point more."""
    args = dict(S=SPOT, K=105.0, r=0.03, q=0.01)
    day = 1 / 365
    p_now = bsm.price(sigma=0.25, T=0.5, is_call=True, **args)
    p_tomorrow = bsm.price(sigma=0.25, T=0.5 - day, is_call=True, **args)
    p_bumped = bsm.price(sigma=0.26, T=0.5, is_call=True, **args)
    assert float(p_tomorrow - p_now) == pytest.approx(float(bsm.theta(sigma=0.25, T=0.5, is_call=True, **args)), rel=1e-2)
    assert float(p_bumped - p_now) == pytest.approx(float(bsm.vega(sigma=0.25, T=0.5, **args)), rel=1e-2)


@pytest.fixture(scope="module")
def spy_contracts() -> pd.DataFrame:
    """Every SPY contract as of 2026-05-01 (7722, all expirations) with its years to expiry."""
    chain = sample_access().options_chain("SPY")
    as_of = pd.Timestamp(str(chain["as_of"].iloc[0])).normalize()
    return chain.assign(years=(chain["expiration"] - as_of).dt.days / bsm.DAYS_PER_YEAR)


@pytest.mark.parametrize("column", ["mid", "last"])
@pytest.mark.parametrize(("rate", "dividend"), [(0.0, 0.0), (0.045, 0.013)])
def test_vectorised_solver_agrees_with_brentq_on_every_spy_contract(spy_contracts: pd.DataFrame, column: str, rate: float, dividend: float) -> None:
    """One-sided mids and stale lasts included: they reach the wings, where vega is smallest."""
    c = spy_contracts
    args = (c[column].to_numpy(), c["underlying_price"].to_numpy(), c["strike"].to_numpy(), c["years"].to_numpy(), (c["type"] == "call").to_numpy(), rate, dividend)
    fast, fast_reason = bsm.implied_vol(*args)
    slow, slow_reason = bsm.implied_vol(*args, solver=bsm.solve_brentq)
    assert list(fast_reason) == list(slow_reason)
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    solved = ~np.isnan(slow)
    assert solved.sum() > 5000
    assert np.max(np.abs(fast[solved] - slow[solved])) < 1e-6


def test_vectorised_solver_needs_no_scalar_fallback_on_spy(spy_contracts: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SPY contract converges in the vectorised loop (the brentq hand-off is for the unforeseen)."""
    def refuse(*_args: object) -> np.ndarray:
        raise AssertionError("a contract was handed to brentq")

    monkeypatch.setattr(bsm, "solve_brentq", refuse)
    c = spy_contracts
    iv, reason = bsm.implied_vol(c["mid"], c["underlying_price"], c["strike"], c["years"], (c["type"] == "call").to_numpy(), 0.045, 0.013)
    assert np.isfinite(iv[reason == "ok"]).all()


def test_vectorised_solver_handles_an_empty_input() -> None:
    iv, reason = bsm.implied_vol(np.array([]), SPOT, 100.0, 0.5, True)
    assert iv.shape == reason.shape == (0,)
