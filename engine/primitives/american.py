"""American options, vectorised with numpy: the Bjerksund-Stensland (2002) closed-form approximation,
its implied volatility and greeks, and a Cox-Ross-Rubinstein (1979) binomial tree as the reference.

Same conventions as ``engine.primitives.bsm``: ``S`` spot, ``K`` strike, ``T`` years, ``sigma``
decimal, ``r`` continuously compounded rate, ``q`` continuous dividend yield (cost of carry
``b = r - q``), theta per calendar day, vega per volatility point, rho per rate point (0.01).

Sources (the formulas, implemented here from the papers):
- P. Bjerksund and G. Stensland (2002), "Closed Form Valuation of American Options", NHH discussion
  paper: a two-step flat exercise boundary (switching at ``t1 = (sqrt(5) - 1) / 2 * T``) that
  prices calls; puts follow from their put-call transformation ``P(S, K, T, r, b, sigma) =
  C(K, S, T, r - b, -b, sigma)``. When ``b >= r`` an American call is never exercised early and is
  worth the European one.
- J. Cox, S. Ross and M. Rubinstein (1979), "Option Pricing: A Simplified Approach", Journal of
  Financial Economics 7: the binomial tree, used to check the approximation (and slow).
- The bivariate normal distribution is integrated with Gauss-Legendre quadrature over the
  correlation (Plackett's identity, d M / d rho = density), as Drezner and Wesolowsky (1990)
  propose; Bjerksund-Stensland only needs correlations of +-sqrt(t1 / T) ~ +-0.786, far from +-1.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from engine.primitives import bsm

T1_SHARE = 0.5 * (math.sqrt(5.0) - 1.0)
RHO = math.sqrt(T1_SHARE)
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)


def bivariate_normal_cdf(a: np.ndarray, b: np.ndarray, rho: float) -> np.ndarray:
    """P(X <= a, Y <= b) for standard normals with correlation ``rho`` (|rho| well below 1), elementwise."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    r = 0.5 * rho * (_NODES + 1.0)  # Gauss-Legendre nodes mapped onto [0, rho]
    one_minus = 1.0 - r * r
    aa, bb = a[..., None], b[..., None]
    with np.errstate(over="ignore", invalid="ignore"):
        density = np.exp(-(aa * aa - 2.0 * r * aa * bb + bb * bb) / (2.0 * one_minus)) / np.sqrt(one_minus)
    integral = 0.5 * rho * (np.nan_to_num(density) @ _WEIGHTS) / (2.0 * math.pi)
    return ndtr(a) * ndtr(b) + integral


def _phi(S, t, gamma, H, I_, r, b, v):
    """Bjerksund-Stensland's phi(S, t, gamma, H, I)."""
    vt = v * np.sqrt(t)
    lam = (-r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v) * t
    d = -(np.log(S / H) + (b + (gamma - 0.5) * v * v) * t) / vt
    kappa = 2.0 * b / (v * v) + (2.0 * gamma - 1.0)
    return np.exp(lam) * S**gamma * (ndtr(d) - (I_ / S) ** kappa * ndtr(d - 2.0 * np.log(I_ / S) / vt))


def _psi(S, T, gamma, H, I2, I1, t1, r, b, v):
    """Bjerksund-Stensland's psi(S, T, gamma, H, I2, I1, t1)."""
    drift = b + (gamma - 0.5) * v * v
    v1, vT = v * np.sqrt(t1), v * np.sqrt(T)
    e1 = (np.log(S / I1) + drift * t1) / v1
    e2 = (np.log(I2 * I2 / (S * I1)) + drift * t1) / v1
    e3 = (np.log(S / I1) - drift * t1) / v1
    e4 = (np.log(I2 * I2 / (S * I1)) - drift * t1) / v1
    f1 = (np.log(S / H) + drift * T) / vT
    f2 = (np.log(I2 * I2 / (S * H)) + drift * T) / vT
    f3 = (np.log(I1 * I1 / (S * H)) + drift * T) / vT
    f4 = (np.log(S * I1 * I1 / (H * I2 * I2)) + drift * T) / vT
    kappa = 2.0 * b / (v * v) + (2.0 * gamma - 1.0)
    lam = -r + gamma * b + 0.5 * gamma * (gamma - 1.0) * v * v
    M = bivariate_normal_cdf
    return np.exp(lam * T) * S**gamma * (
        M(-e1, -f1, RHO)
        - (I2 / S) ** kappa * M(-e2, -f2, RHO)
        - (I1 / S) ** kappa * M(-e3, -f3, -RHO)
        + (I1 / I2) ** kappa * M(-e4, -f4, -RHO)
    )


def _call(S, K, T, r, b, v):
    """American call value by Bjerksund-Stensland (2002); every argument an array of one shape, all valid."""
    european = bsm.price(S, K, T, v, True, r, r - b)
    early = b < r
    out = np.array(european, dtype=float)
    if not early.any():
        return out
    S, K, T, r, b, v = (x[early] for x in (S, K, T, r, b, v))
    v2 = v * v
    t1 = T1_SHARE * T
    beta = (0.5 - b / v2) + np.sqrt((b / v2 - 0.5) ** 2 + 2.0 * r / v2)
    b_inf = beta / (beta - 1.0) * K
    with np.errstate(divide="ignore", invalid="ignore"):
        b_zero = np.maximum(K, np.where(r - b > 0, r / (r - b) * K, np.inf))
    h1 = -(b * t1 + 2.0 * v * np.sqrt(t1)) * K * K / ((b_inf - b_zero) * b_zero)
    h2 = -(b * T + 2.0 * v * np.sqrt(T)) * K * K / ((b_inf - b_zero) * b_zero)
    i1 = b_zero + (b_inf - b_zero) * (1.0 - np.exp(h1))
    i2 = b_zero + (b_inf - b_zero) * (1.0 - np.exp(h2))
    a1 = (i1 - K) * i1 ** (-beta)
    a2 = (i2 - K) * i2 ** (-beta)
    args = (r, b, v)
    value = (
        a2 * S**beta
        - a2 * _phi(S, t1, beta, i2, i2, *args)
        + _phi(S, t1, 1.0, i2, i2, *args)
        - _phi(S, t1, 1.0, i1, i2, *args)
        - K * _phi(S, t1, 0.0, i2, i2, *args)
        + K * _phi(S, t1, 0.0, i1, i2, *args)
        + a1 * _phi(S, t1, beta, i1, i2, *args)
        - a1 * _psi(S, T, beta, i1, i2, i1, t1, *args)
        + _psi(S, T, 1.0, i1, i2, i1, t1, *args)
        - _psi(S, T, 1.0, K, i2, i1, t1, *args)
        - K * _psi(S, T, 0.0, i1, i2, i1, t1, *args)
        + K * _psi(S, T, 0.0, K, i2, i1, t1, *args)
    )
    exercise_now = i2 <= S
    value = np.where(exercise_now, S - K, value)
    # The approximation is a lower bound of the true value: never below the European or intrinsic value.
    out[early] = np.fmax(np.fmax(value, out[early]), S - K)
    return out


def price(S: bsm.ArrayLike, K: bsm.ArrayLike, T: bsm.ArrayLike, sigma: bsm.ArrayLike, is_call: bsm.ArrayLike, r: bsm.ArrayLike = 0.0, q: bsm.ArrayLike = 0.0) -> np.ndarray:
    """Return the American value of each option by Bjerksund-Stensland 2002 (NaN where not a live option)."""
    S, K, T, sigma, r, q = (np.asarray(x, dtype=float) for x in np.broadcast_arrays(S, K, T, sigma, r, q))
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), S.shape)
    out = np.full(S.shape, np.nan)
    with np.errstate(invalid="ignore"):
        ok = (S > 0) & (K > 0) & (T > 0) & (sigma > 0) & np.isfinite(S + K + T + sigma + r + q)
    b = r - q
    calls, puts = ok & call, ok & ~call
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if calls.any():
            out[calls] = _call(S[calls], K[calls], T[calls], r[calls], b[calls], sigma[calls])
        if puts.any():  # the put-call transformation: swap spot and strike, rate r - b, carry -b
            out[puts] = _call(K[puts], S[puts], T[puts], r[puts] - b[puts], -b[puts], sigma[puts])
    return out


def crr_price(S: float, K: float, T: float, sigma: float, is_call: bool, r: float = 0.0, q: float = 0.0, steps: int = 2000) -> float:
    """American value on a Cox-Ross-Rubinstein binomial tree of ``steps`` steps (the slow reference)."""
    dt = T / steps
    up = math.exp(sigma * math.sqrt(dt))
    down = 1.0 / up
    p = (math.exp((r - q) * dt) - down) / (up - down)
    disc = math.exp(-r * dt)
    prices = S * up ** np.arange(steps, -steps - 1, -2, dtype=float)
    sign = 1.0 if is_call else -1.0
    values = np.maximum(sign * (prices - K), 0.0)
    for _ in range(steps):
        prices = prices[1:] * up  # the nodes one step earlier
        values = np.maximum(disc * (p * values[:-1] + (1.0 - p) * values[1:]), sign * (prices - K))
    return float(values[0])


def greeks(S: bsm.ArrayLike, K: bsm.ArrayLike, T: bsm.ArrayLike, sigma: bsm.ArrayLike, is_call: bsm.ArrayLike, r: bsm.ArrayLike = 0.0, q: bsm.ArrayLike = 0.0) -> dict[str, np.ndarray]:
    """Price and greeks of American options by central differences of the Bjerksund-Stensland value.

    Delta and gamma bump spot by 0.1%, vega the volatility by 0.0001, rho the rate by 0.0001 (dividend
    yield held); theta is the value one calendar day closer to expiry minus today's.
    """
    S, K, T, sigma, r, q = (np.asarray(x, dtype=float) for x in np.broadcast_arrays(S, K, T, sigma, r, q))
    value = price(S, K, T, sigma, is_call, r, q)
    h = 1e-3 * S
    up, down = price(S + h, K, T, sigma, is_call, r, q), price(S - h, K, T, sigma, is_call, r, q)
    dv, dr = 1e-4, 1e-4
    day = 1.0 / bsm.DAYS_PER_YEAR
    later = np.where(day < T, price(S, K, np.maximum(T - day, 1e-12), sigma, is_call, r, q), np.maximum(np.where(is_call, S - K, K - S), 0.0))
    return {
        "price": value,
        "delta": (up - down) / (2 * h),
        "gamma": (up - 2 * value + down) / (h * h),
        "theta": later - value,
        "vega": (price(S, K, T, sigma + dv, is_call, r, q) - price(S, K, T, sigma - dv, is_call, r, q)) / (2 * dv) * 0.01,
        "rho": (price(S, K, T, sigma, is_call, r + dr, q) - price(S, K, T, sigma, is_call, r - dr, q)) / (2 * dr) * 0.01,
    }


def implied_vol(
    option_price: bsm.ArrayLike, S: bsm.ArrayLike, K: bsm.ArrayLike, T: bsm.ArrayLike, is_call: bsm.ArrayLike,
    r: bsm.ArrayLike = 0.0, q: bsm.ArrayLike = 0.0, *, xtol: float = 1e-8, maxiter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve each American price for its volatility in [0.01%, 1000%]; returns ``(iv, reason)`` as ``bsm.implied_vol``.

    An American option is worth at least its intrinsic value ``max(S - K, 0)`` (calls) or
    ``max(K - S, 0)`` (puts) at once, so a price below that is ``price below intrinsic``; the other
    reasons are those of ``bsm.implied_vol``. Rows are solved together by Newton steps (with the
    European vega as the slope) kept inside a shrinking bracket, bisecting when a step would leave it.
    """
    prices, S, K, T, r, q = (np.asarray(x, dtype=float) for x in np.broadcast_arrays(option_price, S, K, T, r, q))
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), prices.shape)
    iv = np.full(prices.shape, np.nan)
    reason = np.full(prices.shape, bsm.OK, dtype=object)
    with np.errstate(invalid="ignore"):
        intrinsic = np.maximum(np.where(call, S - K, K - S), 0.0)
        p_low = price(S, K, T, bsm.VOL_LOW, call, r, q)
        p_high = price(S, K, T, bsm.VOL_HIGH, call, r, q)
        checks = [
            (~(T > 0), bsm.REASON_EXPIRED),
            (~((S > 0) & (K > 0) & np.isfinite(S + K)), bsm.REASON_INVALID),
            (~np.isfinite(prices) | (prices <= 0), bsm.REASON_NO_PRICE),
            (prices < intrinsic - 1e-9 * np.maximum(1.0, intrinsic), bsm.REASON_BELOW_INTRINSIC),
            (prices >= np.where(call, S, K), bsm.REASON_ABOVE_MAXIMUM),
            (prices <= p_low, bsm.REASON_NO_TIME_VALUE),
            (prices >= p_high, bsm.REASON_VOL_TOO_HIGH),
        ]
    open_rows = np.ones(prices.shape, dtype=bool)
    for failed, why in checks:
        hit = open_rows & failed
        reason[hit] = why
        open_rows &= ~hit
    rows = np.flatnonzero(open_rows.ravel())
    target, s, k, t, rr, qq, c = (x.ravel()[rows] for x in (prices, S, K, T, r, q, call))
    low, high = np.full(rows.size, bsm.VOL_LOW), np.full(rows.size, bsm.VOL_HIGH)
    x = np.clip(np.sqrt(2.0 * np.abs(np.log(s / k) + (rr - qq) * t) / t), 0.05, 2.0)
    solved = np.full(rows.size, np.nan)
    live = np.arange(rows.size)
    for _ in range(maxiter):
        if live.size == 0:
            break
        error = price(s[live], k[live], t[live], x, c[live], rr[live], qq[live]) - target[live]
        slope = bsm.vega(s[live], k[live], t[live], x, rr[live], qq[live]) * 100.0
        low[live] = np.where(error < 0, x, low[live])
        high[live] = np.where(error > 0, x, high[live])
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - error / slope
        step = np.where((newton > low[live]) & (newton < high[live]), newton, 0.5 * (low[live] + high[live]))
        done = (np.abs(step - x) <= xtol) | (error == 0) | (high[live] - low[live] <= xtol)
        solved[live[done]] = np.where(error == 0, x, step)[done]
        live, x = live[~done], step[~done]
    solved[live] = x if live.size else solved[live]
    iv.flat[rows] = solved
    return iv, reason
