"""How the options operations price a chain: the carry (rate and dividend yield), the exercise style and
the time to expiry, chosen once per operation by the shared ``PricingParams`` and resolved per contract.

Carry (``carry``):

- ``implied`` (default): for each expiration, the forward price and the discount factor implied by
  put-call parity, ``C - P = DF (F - K)``, the way index volatility methodologies do it (Cboe, "VIX
  White Paper", 2023: the forward from the strike where the call and put prices differ least). Up to
  ten near-the-money strikes with two-sided call and put quotes are fitted by least squares, giving
  ``DF`` and ``F``; the rate ``r = -ln(DF) / T`` is kept when the fit pins it to within half a point
  (long expirations), otherwise (short expirations, where it barely matters) the rate is the
  ``rate`` parameter and the forward comes, as in the Cboe paper, from the strike where
  ``|C - P|`` is smallest: ``F = K* + e^{rT} (C - P)``. The dividend yield is then what the forward
  implies: ``q = r - ln(F / S) / T``. An expiration without any such pair uses ``rate`` and
  ``dividend_yield``. For American chains parity is only an inequality; near the money, where the
  early-exercise premium is smallest, it is a close approximation.
- ``given``: ``rate`` and ``dividend_yield`` for every expiration.
- ``zero``: no rate and no dividend yield.

Exercise style (``exercise_style``): ``european`` (Black-Scholes-Merton) or ``american``
(Bjerksund-Stensland 2002, ``engine.primitives.american``).

Time to expiry (``time_basis``): ``days`` (default) counts whole calendar days from the chain's
as-of date to the expiration, ``T = days / 365``; ``clock`` counts from the snapshot's own time to
the 16:00 New York close on the expiration day, ``T = hours / (365 * 24)``. A snapshot stamped with
a date only (a closing snapshot) counts from 16:00 New York that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from engine.primitives import american, bsm
from engine.primitives.fetch import chain_as_of
from engine.registry import Params

CarryChoice = Literal["implied", "given", "zero"]
ExerciseStyle = Literal["european", "american"]
TimeBasis = Literal["days", "clock"]
NEW_YORK = "America/New_York"
CLOSE_HOUR = 16
PARITY_PAIRS = 10  # near-the-money pairs fitted per expiration
RATE_PRECISION = 0.005  # keep the parity rate when its standard error is below half a point
FORWARD_COLUMNS = ["expiration", "years", "forward", "rate", "dividend_yield", "pairs", "source"]
SOURCE_FIT = "parity: forward and rate"
SOURCE_CBOE = "parity: forward; rate given"
SOURCE_GIVEN = "given"
SOURCE_NO_PAIRS = "given (no call-put pair to imply a forward)"


def _rate() -> Any:
    return Field(0.0, ge=-0.05, le=0.5, description="risk-free rate, continuously compounded, as a decimal (0.045 = 4.5%); with carry 'implied' only where the chain cannot pin the rate down")


def _dividend() -> Any:
    return Field(0.0, ge=0.0, le=0.5, description="continuous dividend yield of the underlying, as a decimal (0.013 = 1.3%); used with carry 'given'")


class PricingParams(Params):
    """Parameters every pricing options operation shares (see ``engine.primitives.carry``)."""

    carry: CarryChoice = Field("implied", description="'implied' (default): rate and dividend yield from put-call parity per expiration; 'given': the rate and dividend_yield below; 'zero': none")
    rate: float = _rate()
    dividend_yield: float = _dividend()
    exercise_style: ExerciseStyle = Field("european", description="'european' (Black-Scholes-Merton) or 'american' (Bjerksund-Stensland 2002, for single-stock chains)")
    time_basis: TimeBasis = Field("days", description="'days' (default): whole calendar days from the chain's as-of date / 365; 'clock': from the snapshot's time to the 16:00 New York close")


@dataclass(frozen=True)
class Pricing:
    """The inputs of a pricing model, one entry per contract of the chain."""

    years: np.ndarray
    rate: np.ndarray
    dividend: np.ndarray
    american: bool

    def implied_vol(self, prices: np.ndarray, spot: np.ndarray, strike: np.ndarray, call: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        solver = american.implied_vol if self.american else bsm.implied_vol
        return solver(prices, spot, strike, self.years, call, self.rate, self.dividend)

    def greeks(self, spot: np.ndarray, strike: np.ndarray, sigma: np.ndarray, call: np.ndarray) -> dict[str, np.ndarray]:
        model = american.greeks if self.american else bsm.greeks
        return model(spot, strike, self.years, sigma, call, self.rate, self.dividend)

    def delta(self, spot: np.ndarray, strike: np.ndarray, sigma: np.ndarray, call: np.ndarray) -> np.ndarray:
        if self.american:
            return american.greeks(spot, strike, self.years, sigma, call, self.rate, self.dividend)["delta"]
        return bsm.delta(spot, strike, self.years, sigma, call, self.rate, self.dividend)


def snapshot_time(chain: pd.DataFrame) -> pd.Timestamp:
    """The snapshot's instant in New York time (a date-only as-of is that day's 16:00 close)."""
    text = str(chain["as_of"].iloc[0])
    stamp = pd.Timestamp(text)
    if len(text.strip()) <= 10:  # a date: a closing snapshot
        stamp = stamp + pd.Timedelta(hours=CLOSE_HOUR)
    return stamp.tz_localize(NEW_YORK) if stamp.tzinfo is None else stamp.tz_convert(NEW_YORK)


def years_to_expiry(chain: pd.DataFrame, basis: TimeBasis) -> np.ndarray:
    """Time to each contract's expiry in years, whole days or to the clock (see the module help)."""
    expiries = pd.to_datetime(chain["expiration"], cache=False).dt.normalize()
    if basis == "days":
        days = expiries.to_numpy(dtype="datetime64[D]") - np.datetime64(chain_as_of(chain).date(), "D")
        return days.astype(float) / bsm.DAYS_PER_YEAR
    close = (expiries + pd.Timedelta(hours=CLOSE_HOUR)).dt.tz_localize(NEW_YORK)
    seconds = (close - snapshot_time(chain)).dt.total_seconds().to_numpy(dtype=float)
    return seconds / (bsm.DAYS_PER_YEAR * 86_400.0)


def _two_sided_mid(frame: pd.DataFrame) -> np.ndarray:
    bid, ask, mid = (pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in ("bid", "ask", "mid"))
    with np.errstate(invalid="ignore"):
        ok = (bid > 0) & (ask >= bid) & np.isfinite(mid) & (mid > 0)
    return np.where(ok, mid, np.nan)


def _pairs(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Strikes quoted two-sided on both the call and the put, and ``C - P`` at each (first quote of duplicates)."""
    return _pairs_of(pd.to_numeric(frame["strike"], errors="coerce").to_numpy(dtype=float), (frame["type"] == "call").to_numpy(), _two_sided_mid(frame))


def _pairs_of(strike: np.ndarray, call: np.ndarray, mid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    usable = np.isfinite(mid) & np.isfinite(strike)
    calls, puts = np.flatnonzero(usable & call), np.flatnonzero(usable & ~call)
    call_strikes, call_first = np.unique(strike[calls], return_index=True)
    put_strikes, put_first = np.unique(strike[puts], return_index=True)
    common, in_calls, in_puts = np.intersect1d(call_strikes, put_strikes, assume_unique=True, return_indices=True)
    return common, mid[calls[call_first[in_calls]]] - mid[puts[put_first[in_puts]]]


def parity_forward(strikes: np.ndarray, gap: np.ndarray, years: float, rate: float) -> tuple[float, float, int, str] | None:
    """(forward, rate, pairs used, source) implied by one expiration's call-put pairs (strikes and C - P), or None without pairs."""
    if strikes.size == 0 or not years > 0:
        return None
    centre = strikes[np.argmin(np.abs(gap))]
    near = np.argsort(np.abs(strikes - centre), kind="stable")[:PARITY_PAIRS]
    k, g = strikes[near], gap[near]
    if k.size >= 3 and np.ptp(k) > 0:
        design = np.column_stack([np.ones(k.size), k - k.mean()])
        coef, residual, *_ = np.linalg.lstsq(design, g, rcond=None)
        discount = -coef[1]
        dof = k.size - 2
        if dof > 0 and 0 < discount < 1.5:
            sigma2 = float(residual[0]) / dof if residual.size else 0.0
            se_discount = np.sqrt(sigma2 / np.sum((k - k.mean()) ** 2))
            fitted_rate = -np.log(discount) / years
            if se_discount / (discount * years) < RATE_PRECISION and -0.05 <= fitted_rate <= 0.5:
                return float(k.mean() + coef[0] / discount), float(fitted_rate), int(k.size), SOURCE_FIT
    forwards = k + np.exp(rate * years) * g  # the Cboe forward at each near-the-money strike
    return float(np.median(forwards)), rate, int(k.size), SOURCE_CBOE


def forward_table(chain: pd.DataFrame, params: PricingParams) -> pd.DataFrame:
    """Per expiration: time, forward, rate and dividend yield used, pairs fitted and where they came from."""
    years = years_to_expiry(chain, params.time_basis)
    expiries = pd.to_datetime(chain["expiration"], cache=False).dt.normalize().to_numpy()
    spot_all = pd.to_numeric(chain["underlying_price"], errors="coerce").to_numpy(dtype=float)
    if params.carry == "implied":
        strike_all = pd.to_numeric(chain["strike"], errors="coerce").to_numpy(dtype=float)
        call_all, mid_all = (chain["type"] == "call").to_numpy(), _two_sided_mid(chain)
    rows = []
    for expiry in np.unique(expiries):
        here = expiries == expiry
        t = float(years[here][0])
        spots = spot_all[here]
        spot = float(np.nanmedian(spots)) if np.isfinite(spots).any() else float("nan")
        if params.carry == "zero":
            found: tuple[float, float, int, str] | None = (spot, 0.0, 0, "zero")
            q = 0.0
        elif params.carry == "given":
            found, q = (spot * np.exp((params.rate - params.dividend_yield) * t), params.rate, 0, SOURCE_GIVEN), params.dividend_yield
        else:
            pairs = _pairs_of(strike_all[here], call_all[here], mid_all[here])
            found = parity_forward(*pairs, t, params.rate) if spot > 0 else None
            if found is None:
                found, q = (spot * np.exp((params.rate - params.dividend_yield) * t), params.rate, 0, SOURCE_NO_PAIRS), params.dividend_yield
            else:
                q = found[1] - np.log(found[0] / spot) / t if found[0] > 0 and t > 0 else params.dividend_yield
        forward, rate, pairs, source = found
        rows.append({"expiration": pd.Timestamp(expiry), "years": t, "forward": forward, "rate": rate, "dividend_yield": float(q), "pairs": pairs, "source": source})
    return pd.DataFrame(rows, columns=FORWARD_COLUMNS)


def pricing_for(chain: pd.DataFrame, params: PricingParams) -> Pricing:
    """The time, rate and dividend yield of every contract of ``chain`` under ``params``."""
    years = years_to_expiry(chain, params.time_basis)
    american_style = params.exercise_style == "american"
    if params.carry != "implied":
        rate = 0.0 if params.carry == "zero" else params.rate
        q = 0.0 if params.carry == "zero" else params.dividend_yield
        return Pricing(years, np.full(len(chain), rate), np.full(len(chain), q), american_style)
    table = forward_table(chain, params)
    expiries = pd.to_datetime(chain["expiration"], cache=False).dt.normalize()
    where = pd.Index(table["expiration"]).get_indexer(expiries)
    return Pricing(years, table["rate"].to_numpy()[where], table["dividend_yield"].to_numpy()[where], american_style)
