"""Black-Scholes-Merton maths for European options, vectorised with numpy (no registry, no pandas).

Conventions, shared by every options operation:

- ``S`` spot, ``K`` strike, ``T`` time to expiry in years, ``sigma`` annualised volatility as a
  decimal (0.25 = 25%), ``r`` continuously compounded risk-free rate, ``q`` continuous dividend yield.
- ``is_call`` is a boolean array: True for calls, False for puts.
- ``theta`` is the change in value per calendar day (the annual rate divided by 365); ``vega`` is the
  change in value per one volatility point (per 0.01 of sigma).
- Inputs that do not describe a live option (``T <= 0``, ``sigma <= 0``, ``S <= 0``, ``K <= 0``, NaN)
  give NaN, never an exception.
- ``implied_vol`` solves each price with a bracketed root finder (``scipy.optimize.brentq``) and
  returns, beside the volatility, a reason for every row: ``"ok"`` or why no volatility fits.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

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


def price(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: float = 0.0, q: float = 0.0) -> np.ndarray:
    """Return the BSM value of each option (NaN where the inputs do not describe a live option)."""
    S, K, T, sigma, r, q, d1, d2, dq, dr = _terms(S, K, T, sigma, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), d1.shape)
    call_value = S * dq * norm.cdf(d1) - K * dr * norm.cdf(d2)
    put_value = K * dr * norm.cdf(-d2) - S * dq * norm.cdf(-d1)
    return np.where(call, call_value, put_value)


def delta(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: float = 0.0, q: float = 0.0) -> np.ndarray:
    """Return the spot delta: e^{-qT} N(d1) for calls, -e^{-qT} N(-d1) for puts."""
    S, K, T, sigma, r, q, d1, _d2, dq, _dr = _terms(S, K, T, sigma, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), d1.shape)
    return np.where(call, dq * norm.cdf(d1), -dq * norm.cdf(-d1))


def gamma(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: float = 0.0, q: float = 0.0) -> np.ndarray:
    """Return gamma (change in delta per 1.00 of spot), the same for calls and puts."""
    S, K, T, sigma, r, q, d1, _d2, dq, _dr = _terms(S, K, T, sigma, r, q)
    return dq * norm.pdf(d1) / (S * sigma * np.sqrt(T))


def vega(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, r: float = 0.0, q: float = 0.0) -> np.ndarray:
    """Return vega per one volatility point (0.01), the same for calls and puts."""
    S, K, T, sigma, r, q, d1, _d2, dq, _dr = _terms(S, K, T, sigma, r, q)
    return S * dq * norm.pdf(d1) * np.sqrt(T) * 0.01


def theta(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: float = 0.0, q: float = 0.0) -> np.ndarray:
    """Return theta per calendar day (the annual rate of decay divided by 365)."""
    S, K, T, sigma, r, q, d1, d2, dq, dr = _terms(S, K, T, sigma, r, q)
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), d1.shape)
    decay = -S * dq * norm.pdf(d1) * sigma / (2 * np.sqrt(T))
    call_theta = decay + q * S * dq * norm.cdf(d1) - r * K * dr * norm.cdf(d2)
    put_theta = decay - q * S * dq * norm.cdf(-d1) + r * K * dr * norm.cdf(-d2)
    return np.where(call, call_theta, put_theta) / DAYS_PER_YEAR


def greeks(S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike, r: float = 0.0, q: float = 0.0) -> dict[str, np.ndarray]:
    """Return price, delta, gamma, theta (per day) and vega (per vol point) in one mapping."""
    return {
        "price": price(S, K, T, sigma, is_call, r, q),
        "delta": delta(S, K, T, sigma, is_call, r, q),
        "gamma": gamma(S, K, T, sigma, r, q),
        "theta": theta(S, K, T, sigma, is_call, r, q),
        "vega": vega(S, K, T, sigma, r, q),
    }


def _objective(S: float, K: float, T: float, r: float, q: float, call: bool, target: float):
    """Return f(sigma) = BSM value - target for one option, with the math module (faster per call than numpy)."""
    fwd_s, fwd_k = S * math.exp(-q * T), K * math.exp(-r * T)
    drift, root_t, erfc, rt2 = math.log(S / K) + (r - q) * T, math.sqrt(T), math.erfc, math.sqrt(2.0)

    def f(sigma: float) -> float:
        vol_t = sigma * root_t
        d1 = (drift + 0.5 * vol_t * vol_t) / vol_t
        d2 = d1 - vol_t
        if call:
            return 0.5 * (fwd_s * erfc(-d1 / rt2) - fwd_k * erfc(-d2 / rt2)) - target
        return 0.5 * (fwd_k * erfc(d2 / rt2) - fwd_s * erfc(d1 / rt2)) - target

    return f


def bounds(S: ArrayLike, K: ArrayLike, T: ArrayLike, is_call: ArrayLike, r: float = 0.0, q: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Return the no-arbitrage (lower, upper) bounds of each option's value under BSM.

    Calls lie in ``[max(S e^{-qT} - K e^{-rT}, 0), S e^{-qT}]``, puts in
    ``[max(K e^{-rT} - S e^{-qT}, 0), K e^{-rT}]``.
    """
    S, K, T = _arrays(S, K, T)
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
    r: float = 0.0,
    q: float = 0.0,
    *,
    xtol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve each price for the BSM volatility in [0.01%, 1000%] with ``brentq``.

    Returns ``(iv, reason)``: ``iv`` is NaN wherever ``reason`` is not ``"ok"``. Reasons:
    ``expired`` (T <= 0), ``invalid input`` (spot or strike missing or not positive), ``no price``,
    ``price below intrinsic`` (below the discounted intrinsic value: no volatility can produce it),
    ``no time value`` (at the intrinsic value, volatility below the bracket), ``price above maximum``
    (above the spot for a call or the discounted strike for a put) and ``volatility above 1000%``.
    """
    prices, S, K, T = _arrays(option_price, S, K, T)
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
    for i in np.flatnonzero(open_rows.ravel()):
        f = _objective(float(S.flat[i]), float(K.flat[i]), float(T.flat[i]), r, q, bool(call.flat[i]), float(prices.flat[i]))
        iv.flat[i] = brentq(f, VOL_LOW, VOL_HIGH, xtol=xtol, maxiter=200)
    return iv, reason
