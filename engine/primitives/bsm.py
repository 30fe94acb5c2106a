"""Black-Scholes-Merton maths for European options, vectorised with numpy (no registry, no pandas).

Conventions, shared by every options operation:

- ``S`` spot, ``K`` strike, ``T`` time to expiry in years, ``sigma`` annualised volatility as a
  decimal (0.25 = 25%), ``r`` continuously compounded risk-free rate, ``q`` continuous dividend yield.
- ``is_call`` is a boolean array: True for calls, False for puts.
- ``theta`` is the change in value per calendar day (the annual rate divided by 365); ``vega`` is the
  change in value per one volatility point (per 0.01 of sigma); ``rho`` per one rate point (0.01),
  as py_vollib scales them.
- ``r`` and ``q`` may be arrays (one rate and dividend yield per option, e.g. implied per expiration).
- Inputs that do not describe a live option (``T <= 0``, ``sigma <= 0``, ``S <= 0``, ``K <= 0``, NaN)
  give NaN, never an exception.
- ``implied_vol`` solves every price at once with a vectorised bracketed root finder (Newton's
  method safeguarded by bisection inside [0.01%, 1000%], ``solve_vectorised``) and returns, beside
  the volatility, a reason for every row: ``"ok"`` or why no volatility fits. ``solve_brentq`` (one
  ``scipy.optimize.brentq`` call per contract) is kept as the reference it is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfc, ndtr

DAYS_PER_YEAR = 365.0
VOL_LOW = 1e-4  # 0.01% annualised: the bottom of the bracket
VOL_HIGH = 10.0  # 1000% annualised: the top of the bracket

OK = "ok"
REASON_EXPIRED = "expired"
REASON_INVALID = "invalid input"
REASON_NO_PRICE = "no price"
REASON_BELOW_INTRINSIC = "price below intrinsic"
REASON_NO_TIME_VALUE = "no time value"
REASON_ABOVE_MAXIMUM = "price above maximum"
REASON_VOL_TOO_HIGH = "volatility above 1000%"

ArrayLike = np.ndarray | float
SQRT_2 = math.sqrt(2.0)
SQRT_2PI = math.sqrt(2.0 * math.pi)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (what ``scipy.stats.norm.cdf`` computes, without its per-call overhead)."""
    return ndtr(x)


def normal_pdf(x: np.ndarray) -> np.ndarray:
    """Standard normal density (the formula of ``scipy.stats.norm.pdf``, without its per-call overhead)."""
    return np.exp(-x**2 / 2.0) / SQRT_2PI


def _arrays(*values: object) -> list[np.ndarray]:
    """Broadcast the inputs to float arrays of one shape."""
    return [np.asarray(v, dtype=float) for v in np.broadcast_arrays(*values)]


def _valid(S: np.ndarray, K: np.ndarray, T: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (S > 0) & (K > 0) & (T > 0) & (sigma > 0) & np.isfinite(S + K + T + sigma)


def _terms(S, K, T, sigma, r, q):
    """Return d1, d2, e^{-qT}, e^{-rT} and a mask of valid rows (invalid rows hold NaN)."""
    S, K, T, sigma, r, q = _arrays(S, K, T, sigma, r, q)
    ok = _valid(S, K, T, sigma)
    nan = np.where(ok, 1.0, np.nan)
    S, K, T, sigma = S * nan, K * nan, T * nan, sigma * nan
    with np.errstate(invalid="ignore", divide="ignore"):
        vol_t = sigma * np.sqrt(T)
        d1 = (np.log(S / K) + (r - q + 0.5 * sigma**2) * T) / vol_t
        d2 = d1 - vol_t
    return S, K, T, sigma, r, q, d1, d2, np.exp(-q * T), np.exp(-r * T)


def price(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> np.ndarray:
    """Return the BSM value of each option (NaN where the inputs do not describe a live option)."""
    S, K, T, sigma, r, q, d1, d2, dq, dr = _terms(S, K, T, sigma, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), d1.shape)
    call_value = S * dq * normal_cdf(d1) - K * dr * normal_cdf(d2)
    put_value = K * dr * normal_cdf(-d2) - S * dq * normal_cdf(-d1)
    return np.where(call, call_value, put_value)


def delta(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> np.ndarray:
    """Return the spot delta: e^{-qT} N(d1) for calls, -e^{-qT} N(-d1) for puts."""
    S, K, T, sigma, r, q, d1, _d2, dq, _dr = _terms(S, K, T, sigma, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), d1.shape)
    return np.where(call, dq * normal_cdf(d1), -dq * normal_cdf(-d1))


def gamma(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> np.ndarray:
    """Return gamma (change in delta per 1.00 of spot), the same for calls and puts."""
    S, K, T, sigma, r, q, d1, _d2, dq, _dr = _terms(S, K, T, sigma, r, q)
    return dq * normal_pdf(d1) / (S * sigma * np.sqrt(T))


def vega(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> np.ndarray:
    """Return vega per one volatility point (0.01), the same for calls and puts."""
    S, K, T, sigma, r, q, d1, _d2, dq, _dr = _terms(S, K, T, sigma, r, q)
    return S * dq * normal_pdf(d1) * np.sqrt(T) * 0.01


def theta(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> np.ndarray:
    """Return theta per calendar day (the annual rate of decay divided by 365)."""
    S, K, T, sigma, r, q, d1, d2, dq, dr = _terms(S, K, T, sigma, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), d1.shape)
    decay = -S * dq * normal_pdf(d1) * sigma / (2 * np.sqrt(T))
    call_theta = decay + q * S * dq * normal_cdf(d1) - r * K * dr * normal_cdf(d2)
    put_theta = decay - q * S * dq * normal_cdf(-d1) + r * K * dr * normal_cdf(-d2)
    return np.where(call, call_theta, put_theta) / DAYS_PER_YEAR


def rho(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> np.ndarray:
    """Return rho per one rate point (0.01): K T e^{-rT} N(d2) for calls, -K T e^{-rT} N(-d2) for puts."""
    S, K, T, sigma, r, q, d1, d2, _dq, dr = _terms(S, K, T, sigma, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), d1.shape)
    return np.where(call, K * T * dr * normal_cdf(d2), -K * T * dr * normal_cdf(-d2)) * 0.01


def greeks(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> dict[str, np.ndarray]:
    """Return price, delta, gamma, theta (per day), vega (per vol point) and rho (per rate point) in one mapping."""
    return {
        "price": price(S, K, T, sigma, is_call, r, q),
        "delta": delta(S, K, T, sigma, is_call, r, q),
        "gamma": gamma(S, K, T, sigma, r, q),
        "theta": theta(S, K, T, sigma, is_call, r, q),
        "vega": vega(S, K, T, sigma, r, q),
        "rho": rho(S, K, T, sigma, is_call, r, q),
    }


def _objective(S: float, K: float, T: float, r: float, q: float, call: bool, target: float) -> Callable[[float], float]:
    """Return f(sigma) = BSM value - target for one option, with the math module (faster per call than numpy)."""
    fwd_s, fwd_k = S * math.exp(-q * T), K * math.exp(-r * T)
    drift, root_t, math_erfc, rt2 = math.log(S / K) + (r - q) * T, math.sqrt(T), math.erfc, math.sqrt(2.0)

    def f(sigma: float) -> float:
        vol_t = sigma * root_t
        d1 = (drift + 0.5 * vol_t * vol_t) / vol_t
        d2 = d1 - vol_t
        if call:
            return 0.5 * (fwd_s * math_erfc(-d1 / rt2) - fwd_k * math_erfc(-d2 / rt2)) - target
        return 0.5 * (fwd_k * math_erfc(d2 / rt2) - fwd_s * math_erfc(d1 / rt2)) - target

    return f


def solve_brentq(prices: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray, call: np.ndarray, r: ArrayLike, q: ArrayLike, xtol: float) -> np.ndarray:
    """Solve each row for its volatility with one ``scipy.optimize.brentq`` call per row (the reference).

    Every row must be bracketed: its price strictly between the values at ``VOL_LOW`` and ``VOL_HIGH``.
    """
    r, q = np.broadcast_to(np.asarray(r, dtype=float), prices.shape), np.broadcast_to(np.asarray(q, dtype=float), prices.shape)
    return np.array([
        brentq(_objective(float(S[i]), float(K[i]), float(T[i]), float(r[i]), float(q[i]), bool(call[i]), float(prices[i])), VOL_LOW, VOL_HIGH, xtol=xtol, maxiter=200)
        for i in range(prices.size)
    ], dtype=float)


def solve_vectorised(
    prices: np.ndarray, S: np.ndarray, K: np.ndarray, T: np.ndarray, call: np.ndarray, r: ArrayLike, q: ArrayLike, xtol: float, maxiter: int = 100,
) -> np.ndarray:
    """Solve every row for its volatility at once: Newton's method kept inside a shrinking bracket.

    Every row must be bracketed, as for ``solve_brentq``. Each row starts at the inflection point of
    its price in sigma, ``sqrt(2 |ln(F/K)| / T)`` (Manaster and Koehler), where Newton's method
    converges monotonically; each step narrows the bracket [``VOL_LOW``, ``VOL_HIGH``] by the sign of
    the error, and a step that would leave it bisects instead. A row is solved when its step is
    within ``xtol``; a row still open after ``maxiter`` steps (none on the sample chains, which need
    at most 14) is handed to ``solve_brentq``.
    """
    r_all, q_all = np.broadcast_to(np.asarray(r, dtype=float), prices.shape), np.broadcast_to(np.asarray(q, dtype=float), prices.shape)
    fwd_s, fwd_k = S * np.exp(-q_all * T), K * np.exp(-r_all * T)
    drift = np.log(S / K) + (r_all - q_all) * T  # ln(F / K)
    root_t = np.sqrt(T)
    sign = np.where(call, 1.0, -1.0)  # one formula for both: sign * (F N(sign d1) - K N(sign d2)), discounted
    x = np.clip(np.sqrt(2.0 * np.abs(drift)) / root_t, VOL_LOW, VOL_HIGH)
    low, high = np.full(x.shape, VOL_LOW), np.full(x.shape, VOL_HIGH)
    iv = np.full(x.shape, np.nan)
    rows, target = np.arange(x.size), prices
    for _ in range(maxiter):
        if rows.size == 0:
            break
        vol_t = x * root_t
        d1 = (drift + 0.5 * vol_t * vol_t) / vol_t
        d2 = d1 - vol_t
        error = 0.5 * sign * (fwd_s * erfc(-sign * d1 / SQRT_2) - fwd_k * erfc(-sign * d2 / SQRT_2)) - target
        slope = fwd_s * normal_pdf(d1) * root_t  # vega per 1.00 of sigma
        low, high = np.where(error < 0, x, low), np.where(error > 0, x, high)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - error / slope
        step = np.where((newton >= low) & (newton <= high), newton, 0.5 * (low + high))
        done = (np.abs(step - x) <= xtol) | (error == 0)
        iv[rows[done]] = np.where(error == 0, x, step)[done]
        keep = ~done
        rows, x, low, high = rows[keep], step[keep], low[keep], high[keep]
        fwd_s, fwd_k, drift, root_t, sign, target = fwd_s[keep], fwd_k[keep], drift[keep], root_t[keep], sign[keep], target[keep]
    if rows.size:
        iv[rows] = solve_brentq(prices[rows], S[rows], K[rows], T[rows], call[rows], r_all[rows], q_all[rows], xtol)
    return iv


def bounds(S: ArrayLike, K: ArrayLike, T: ArrayLike, is_call: ArrayLike, r: ArrayLike = 0.0, q: ArrayLike = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Return the no-arbitrage (lower, upper) bounds of each option's value under BSM.

    Calls lie in ``[max(S e^{-qT} - K e^{-rT}, 0), S e^{-qT}]``, puts in
    ``[max(K e^{-rT} - S e^{-qT}, 0), K e^{-rT}]``.
    """
    S, K, T, r, q = _arrays(S, K, T, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), S.shape)
    fwd_s, fwd_k = S * np.exp(-q * T), K * np.exp(-r * T)
    lower = np.where(call, np.maximum(fwd_s - fwd_k, 0.0), np.maximum(fwd_k - fwd_s, 0.0))
    upper = np.where(call, fwd_s, fwd_k)
    return lower, upper


def implied_vol(
    option_price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    is_call: ArrayLike,
    r: ArrayLike = 0.0,
    q: ArrayLike = 0.0,
    *,
    xtol: float = 1e-10,
    solver: Callable[..., np.ndarray] = solve_vectorised,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve each price for the BSM volatility in [0.01%, 1000%] with a bracketed root finder.

    Returns ``(iv, reason)``: ``iv`` is NaN wherever ``reason`` is not ``"ok"``. Reasons:
    ``expired`` (T <= 0), ``invalid input`` (spot or strike missing or not positive), ``no price``,
    ``price below intrinsic`` (below the discounted intrinsic value: no volatility can produce it),
    ``no time value`` (at the intrinsic value, volatility below the bracket), ``price above maximum``
    (above the spot for a call or the discounted strike for a put) and ``volatility above 1000%``.

    ``solver`` finds the volatility of the rows that pass those checks, to within ``xtol``:
    ``solve_vectorised`` (default, every row at once) or ``solve_brentq`` (one row at a time).
    """
    prices, S, K, T, r, q = _arrays(option_price, S, K, T, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), prices.shape)
    iv = np.full(prices.shape, np.nan)
    reason = np.full(prices.shape, OK, dtype=object)
    lower, upper = bounds(S, K, T, call, r, q)
    with np.errstate(invalid="ignore"):
        p_low = price(S, K, T, VOL_LOW, call, r, q)
        p_high = price(S, K, T, VOL_HIGH, call, r, q)
        tolerance = 1e-9 * np.maximum(1.0, np.abs(lower))
        checks = [
            (~(T > 0), REASON_EXPIRED),
            (~((S > 0) & (K > 0) & np.isfinite(S + K)), REASON_INVALID),
            (~np.isfinite(prices) | (prices <= 0), REASON_NO_PRICE),
            (prices < lower - tolerance, REASON_BELOW_INTRINSIC),
            (prices >= upper, REASON_ABOVE_MAXIMUM),
            (prices <= p_low, REASON_NO_TIME_VALUE),
            (prices >= p_high, REASON_VOL_TOO_HIGH),
        ]
    open_rows = np.ones(prices.shape, dtype=bool)
    for failed, why in checks:
        hit = open_rows & failed
        reason[hit] = why
        open_rows &= ~hit
    rows = np.flatnonzero(open_rows.ravel())
    iv.flat[rows] = solver(prices.flat[rows], S.flat[rows], K.flat[rows], T.flat[rows], call.flat[rows], r.flat[rows], q.flat[rows], xtol)
    return iv, reason
