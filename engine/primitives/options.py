"""Options operations: ATM straddle and expected move, implied volatility, greeks, smile, term
structure, put/call ratio, max pain, 25-delta skew and gamma exposure.

Every operation reads a chain frame with the standard columns of ``fetch_options_chain`` and follows
one set of conventions (the maths lives in ``engine.primitives.bsm``):

- Pricing parameters shared by every pricing operation (``engine.primitives.carry``): ``carry``
  (``implied`` by default: the forward and the rate implied by put-call parity per expiration, as
  the Cboe VIX White Paper does; ``given`` with ``rate`` and ``dividend_yield``; or ``zero``),
  ``exercise_style`` (``european``: Black-Scholes-Merton; ``american``: Bjerksund-Stensland 2002)
  and ``time_basis``.
- Time to expiry by default ``T = (expiration - as_of_date).days / 365``, where ``as_of_date`` is the
  date of the chain's own ``as_of`` column, never today; ``time_basis: clock`` counts from the
  snapshot's time (10:10 New York for the MSFT sample) to the 16:00 New York close instead.
- Theta per calendar day, vega per one volatility point (0.01), rho per one rate point (0.01);
  volatilities are decimals (0.25 = 25%).
- Implied volatility is solved from the mid price with a bracketed root finder (Newton's method
  kept inside [0.01%, 1000%] by bisection, every contract at once; ``bsm.solve_vectorised``); where
  no volatility fits, the value is NaN and ``iv_reason`` says why.
- A mid is only a price when the quote is two-sided: a zero or missing bid makes the mid half the ask,
  which is not a trade anyone would make, so such rows get ``no bid`` instead of a volatility.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy.stats import norm

from contracts.data import CHAIN_COLUMNS
from contracts.errors import OperationError
from engine.primitives import bsm
from engine.primitives.carry import FORWARD_COLUMNS, Pricing, PricingParams, forward_table, pricing_for
from engine.primitives.fetch import chain_as_of
from engine.registry import Params, Record, operation

SQRT_PI_OVER_2 = math.sqrt(math.pi / 2)
ONE_SIGMA = 0.6827

IV_COLUMNS = [*CHAIN_COLUMNS, "iv_calc", "iv_reason"]
GREEK_COLUMNS = [*IV_COLUMNS, "bs_iv", "bs_price", "bs_delta", "bs_gamma", "bs_theta", "bs_vega", "bs_rho"]
SMILE_COLUMNS = ["strike", "moneyness", "call_iv", "put_iv", "iv"]
TERM_COLUMNS = ["expiration", "days_to_expiry", "atm_strike", "atm_iv", "straddle", "expected_move_pct"]
PAIN_COLUMNS = ["strike", "call_pain", "put_pain", "total_pain"]
GEX_COLUMNS = ["strike", "call_gex", "put_gex", "net_gex"]

REASON_NO_QUOTE = "no quote"
REASON_NO_BID = "no bid"
REASON_NO_LAST = "no last price"
REASON_NO_SPOT = "no underlying price"


# ----------------------------------------------------------------------------------------------
# Shared parameter fields and chain helpers
# ----------------------------------------------------------------------------------------------


def _expiration() -> Any:
    return Field(None, description="expiration date (YYYY-MM-DD); default: the nearest expiration after the chain's as-of date")


def _check_chain(chain: pd.DataFrame, needs: tuple[str, ...]) -> None:
    """Raise unless ``chain`` has the columns this operation reads."""
    missing = [c for c in ("expiration", "type", "strike", "underlying_price", "as_of", *needs) if c not in chain.columns]
    if missing:
        raise OperationError(
            f"the input is not an option chain: it lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "(use the output of fetch_options_chain)."
        )
    kinds = set(chain["type"].dropna().unique()) - {"call", "put"}
    if kinds:
        raise OperationError(f"the chain's 'type' column holds {sorted(kinds)}; it can be 'call' or 'put'.")


def _nonempty(chain: pd.DataFrame) -> None:
    if chain.empty:
        raise OperationError("the option chain is empty (a filter may have removed every contract).")


def _expiries(chain: pd.DataFrame) -> pd.Series:
    """Each contract's expiration as a midnight timestamp.

    ``cache=False``: pandas' cache heuristic iterates thousands of Timestamps even when the column is
    already datetime64, which cost more than the rest of a term structure.
    """
    return pd.to_datetime(chain["expiration"], cache=False).dt.normalize()


def _days(chain: pd.DataFrame) -> np.ndarray:
    """Calendar days from the chain's as-of date to each contract's expiration."""
    column = chain["expiration"]
    if column.dtype == "datetime64[ns]":  # the standard chain: plain numpy day arithmetic
        days = column.to_numpy().astype("datetime64[D]") - np.datetime64(chain_as_of(chain).date(), "D")
        return days.astype(float)
    return (_expiries(chain) - chain_as_of(chain)).dt.days.to_numpy(dtype=float)


def _years(chain: pd.DataFrame) -> np.ndarray:
    return _days(chain) / bsm.DAYS_PER_YEAR


def _is_call(chain: pd.DataFrame) -> np.ndarray:
    return (chain["type"] == "call").to_numpy()


def _num(chain: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(chain[column], errors="coerce").to_numpy(dtype=float)


def _spot(chain: pd.DataFrame) -> float:
    spot = pd.to_numeric(chain["underlying_price"], errors="coerce").dropna()
    if spot.empty or not (spot > 0).any():
        raise OperationError("the chain has no underlying price, so moneyness and ATM cannot be found.")
    return float(spot[spot > 0].median())


def _iso(stamp: object) -> str:
    return pd.Timestamp(stamp).date().isoformat()


def _one_expiration(chain: pd.DataFrame, expiration: date | None) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The contracts of one expiration: the one asked for, or the nearest after the as-of date."""
    _nonempty(chain)
    expiries = _expiries(chain)
    listed = sorted(expiries.unique())
    if expiration is None:
        as_of = chain_as_of(chain)
        future = [e for e in listed if e > as_of]
        if not future:
            raise OperationError(f"every expiration in the chain is on or before its as-of date {as_of.date()}; choose a later chain.")
        wanted = pd.Timestamp(future[0])
    else:
        wanted = pd.Timestamp(expiration).normalize()
        if wanted not in listed:
            raise OperationError(
                f"the chain has no contracts expiring {wanted.date()}; it has {', '.join(_iso(e) for e in listed[:30])}"
                + (" ..." if len(listed) > 30 else "") + "."
            )
    return chain[expiries == wanted], wanted


def _two_sided(chain: pd.DataFrame) -> np.ndarray:
    """Rows whose mid is a real price: bid and ask both positive."""
    bid, ask, mid = _num(chain, "bid"), _num(chain, "ask"), _num(chain, "mid")
    with np.errstate(invalid="ignore"):
        return (bid > 0) & (ask >= bid) & np.isfinite(mid) & (mid > 0)


def _quote_prices(chain: pd.DataFrame, source: Literal["mid", "last"]) -> tuple[np.ndarray, np.ndarray]:
    """The price to solve for each row, and a reason where there is none (empty string otherwise)."""
    reason = np.full(len(chain), "", dtype=object)
    if source == "last":
        last = _num(chain, "last")
        with np.errstate(invalid="ignore"):
            usable = np.isfinite(last) & (last > 0)
        reason[~usable] = REASON_NO_LAST
        return np.where(usable, last, np.nan), reason
    bid, ask = _num(chain, "bid"), _num(chain, "ask")
    two_sided = _two_sided(chain)
    with np.errstate(invalid="ignore"):
        has_ask = np.isfinite(ask) & (ask > 0)
    reason[~two_sided] = REASON_NO_QUOTE
    reason[~two_sided & has_ask & ~(bid > 0)] = REASON_NO_BID
    return np.where(two_sided, _num(chain, "mid"), np.nan), reason


def _fit_iv(chain: pd.DataFrame, pricing: Pricing, source: Literal["mid", "last"] = "mid") -> tuple[np.ndarray, np.ndarray]:
    """Implied volatility and reason for every row of ``chain``, under ``pricing``."""
    prices, reason = _quote_prices(chain, source)
    spot = _num(chain, "underlying_price")
    days = _days(chain)
    iv, why = pricing.implied_vol(prices, spot, _num(chain, "strike"), _is_call(chain))
    # The contract's own facts (expired, no spot) come before the quote's, and the quote's before the maths'.
    out = np.where(reason != "", reason, why)
    out = np.where(~(spot > 0), REASON_NO_SPOT, out)
    out = np.where(days < 0, bsm.REASON_EXPIRED, np.where(days == 0, "expires on the as-of date", out))
    return np.where(out == bsm.OK, iv, np.nan), out.astype(object)


def _pricing_of_rows(chain: pd.DataFrame, rows: pd.DataFrame, params: PricingParams) -> Pricing:
    """Pricing of ``rows`` (a subset of ``chain``) with the carry implied from the whole chain's pairs."""
    if not chain.index.is_unique:
        return pricing_for(rows, params)
    whole = pricing_for(chain, params)
    where = chain.index.get_indexer(rows.index)
    return Pricing(whole.years[where], whole.rate[where], whole.dividend[where], whole.american)


# ----------------------------------------------------------------------------------------------
# ATM straddle and expected move
# ----------------------------------------------------------------------------------------------


class StraddleParams(Params):
    expiration: date | None = _expiration()


def _atm_rows(chain: pd.DataFrame) -> pd.DataFrame:
    """Per expiration, the strike closest to spot with both a call and a put price (mid, else last).

    Indexed by expiration; columns strike, spot, call_mid, put_mid, call_source, put_source.
    Ties in distance go to the lower strike. Expirations without such a strike are absent. The first
    quote of a duplicated (expiration, type, strike) counts; spot is the call's underlying price.
    Plain numpy per expiration: this feeds every straddle and term structure, so it must be cheap.
    """
    mid_ok = _two_sided(chain)
    last = _num(chain, "last")
    with np.errstate(invalid="ignore"):
        last_ok = np.isfinite(last) & (last > 0)
    price = np.where(mid_ok, _num(chain, "mid"), np.where(last_ok, last, np.nan))
    strike = _num(chain, "strike")
    spot = _num(chain, "underlying_price")
    is_call = _is_call(chain)
    expiry = _expiries(chain).to_numpy(dtype="datetime64[ns]")
    usable = np.isfinite(price) & np.isfinite(strike)
    records = []
    for day in np.unique(expiry[usable]):
        here = np.nonzero(usable & (expiry == day))[0]
        calls, puts = here[is_call[here]], here[~is_call[here]]
        call_strikes, call_first = np.unique(strike[calls], return_index=True)
        put_strikes, put_first = np.unique(strike[puts], return_index=True)
        _, in_calls, in_puts = np.intersect1d(call_strikes, put_strikes, assume_unique=True, return_indices=True)
        call_rows, put_rows = calls[call_first[in_calls]], puts[put_first[in_puts]]
        with np.errstate(invalid="ignore"):
            priced = spot[call_rows] > 0
        call_rows, put_rows = call_rows[priced], put_rows[priced]
        if call_rows.size == 0:
            continue
        distance = np.abs(strike[call_rows] - spot[call_rows])
        best = np.lexsort((strike[call_rows], distance))[0]
        c, p = call_rows[best], put_rows[best]
        records.append({
            "expiration": pd.Timestamp(day), "strike": strike[c], "spot": spot[c], "call_mid": price[c], "put_mid": price[p],
            "call_source": "mid" if mid_ok[c] else "last", "put_source": "mid" if mid_ok[p] else "last",
        })
    columns = ["strike", "spot", "call_mid", "put_mid", "call_source", "put_source"]
    if not records:
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], name="expiration"))
    return pd.DataFrame.from_records(records).set_index("expiration")[columns]


def _price_source(row: pd.Series) -> str:
    if row["call_source"] == row["put_source"]:
        return str(row["call_source"])
    return f"call {row['call_source']}, put {row['put_source']}"


@operation("find_atm_straddle", family="options")
def find_atm_straddle(chain: pd.DataFrame, *, params: StraddleParams) -> Record:
    """At-the-money straddle of one expiration: the strike closest to spot with both a call and a put price.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain``.
    expiration : which expiration (default: the nearest one after the chain's as-of date).

    Returns
    -------
    record with ``underlying``, ``expiration`` (ISO date), ``days_to_expiry`` (calendar days from the
    chain's as-of date), ``spot``, ``strike``, ``call_mid``, ``put_mid``, ``straddle``
    (call_mid + put_mid), ``price_source`` and ``as_of``.

    Notes
    -----
    Prices are mids of two-sided quotes (bid > 0). Only when a side has no such quote does it fall back
    to the last trade, which may be stale; ``price_source`` then says ``last`` (or, e.g.,
    ``call mid, put last``). Ties in distance go to the lower strike.
    """
    _check_chain(chain, ("bid", "ask", "mid", "last"))
    frame, expiry = _one_expiration(chain, params.expiration)
    spot = _spot(frame)
    days = int(_days(frame)[0])
    if days <= 0:
        raise OperationError(f"the expiration {expiry.date()} is not after the chain's as-of date; choose a later one.")
    found = _atm_rows(frame)
    if found.empty:
        raise OperationError(f"no strike expiring {expiry.date()} has both a call and a put price (bid/ask or last); the straddle cannot be priced.")
    atm = found.iloc[0]
    return Record(
        underlying=str(frame["underlying"].iloc[0]) if "underlying" in frame else "",
        expiration=expiry.date().isoformat(),
        days_to_expiry=days,
        spot=spot,
        strike=float(atm["strike"]),
        call_mid=float(atm["call_mid"]),
        put_mid=float(atm["put_mid"]),
        straddle=float(atm["call_mid"] + atm["put_mid"]),
        price_source=_price_source(atm),
        as_of=str(frame["as_of"].iloc[0]),
    )


class ExpectedMoveParams(Params):
    confidence: float = Field(ONE_SIGMA, gt=0, lt=1, description="probability that the move stays inside the range, between 0 and 1 (0.6827 = one sigma, 0.95 = two-sided 95%)")
    spot: float | None = Field(None, gt=0, description="spot price to centre the range on (it only moves the range); default: the straddle's spot")


@operation("calculate_expected_move", family="options")
def calculate_expected_move(straddle: Record, *, params: ExpectedMoveParams) -> Record:
    """Expected move to expiration implied by the at-the-money straddle price.

    With straddle price ``P`` and spot ``S``, the ATM straddle is worth about
    ``S * sigma * sqrt(T) * sqrt(2/pi)``, so the one-sigma move is ``P * sqrt(pi/2)`` (about 1.25 P).
    For confidence ``c`` the move is ``z * P * sqrt(pi/2)`` with ``z = Phi^-1((1 + c) / 2)``.

    Parameters
    ----------
    straddle : record from ``find_atm_straddle`` (needs ``straddle``, ``spot``, ``days_to_expiry``).
    confidence : probability inside the range (default 0.6827, one sigma).
    spot : centre of the range (default the straddle record's spot). It only moves the range: the
        move, its percentage and the implied volatility come from the chain's own spot, the price
        the straddle was quoted against.

    Returns
    -------
    record with ``straddle_price`` (the market-maker convention: the straddle itself),
    ``one_sigma_move``, ``move``, ``move_pct`` (percent of the chain's spot), ``lower`` and ``upper``
    (``spot -/+ move``), ``days_to_expiry`` (calendar days from the chain's as-of date),
    ``implied_vol`` (annualised decimal, ``sigma = P * sqrt(pi/2) / (S * sqrt(T))`` with the chain's
    spot ``S`` and ``T = days / 365``), ``confidence``, ``z``, ``spot`` (the centre),
    ``chain_spot``, ``strike`` and ``expiration``.
    """
    missing = [k for k in ("straddle", "days_to_expiry", "spot") if k not in straddle]
    if missing:
        raise OperationError(f"the input record lacks {', '.join(missing)}; feed it the output of find_atm_straddle.")
    price = float(straddle["straddle"])
    chain_spot = float(straddle["spot"])
    centre = float(params.spot) if params.spot is not None else chain_spot
    days = float(straddle["days_to_expiry"])
    if not (math.isfinite(price) and price > 0):
        raise OperationError(f"the straddle price is {price:g}; an expected move needs a positive price.")
    if not (math.isfinite(chain_spot) and chain_spot > 0):
        raise OperationError(f"the straddle's spot price is {chain_spot:g}; an expected move needs a positive spot.")
    if days <= 0:
        raise OperationError(f"the straddle expires {days:g} days after the as-of date; an expected move needs a future expiration.")
    z = float(norm.ppf((1 + params.confidence) / 2))
    one_sigma = price * SQRT_PI_OVER_2
    move = z * one_sigma
    return Record(
        straddle_price=price,
        one_sigma_move=one_sigma,
        move=move,
        move_pct=move / chain_spot * 100,
        lower=centre - move,
        upper=centre + move,
        days_to_expiry=days,
        implied_vol=one_sigma / (chain_spot * math.sqrt(days / bsm.DAYS_PER_YEAR)),
        confidence=params.confidence,
        z=z,
        spot=centre,
        chain_spot=chain_spot,
        strike=straddle.get("strike"),
        expiration=straddle.get("expiration"),
    )


# ----------------------------------------------------------------------------------------------
# Implied volatility and greeks
# ----------------------------------------------------------------------------------------------


class ImpliedVolParams(PricingParams):
    price: Literal["mid", "last"] = Field("mid", description="solve from the mid of a two-sided quote ('mid') or the last trade ('last', may be stale)")


@operation("implied_vol", family="options", columns=IV_COLUMNS)
def implied_vol(chain: pd.DataFrame, *, params: ImpliedVolParams) -> pd.DataFrame:
    """Implied volatility of every contract, solved from its price under Black-Scholes-Merton.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain``.
    carry, rate, dividend_yield, exercise_style, time_basis : how contracts are priced (see the
        family's help): by default the rate and dividend yield implied by put-call parity per
        expiration (Cboe VIX White Paper), European (BSM), whole days / 365.
    price : ``mid`` (default; only two-sided quotes, bid > 0) or ``last`` (the last trade, may be stale).

    Returns
    -------
    the chain plus ``iv_calc`` (annualised decimal, 0.25 = 25%) and ``iv_reason``: ``ok``, or why no
    volatility fits: ``no quote``, ``no bid``, ``no last price``, ``price below intrinsic``,
    ``no time value``, ``price above maximum``, ``volatility above 1000%``, ``expired``,
    ``expires on the as-of date``, ``no underlying price``.

    Notes
    -----
    ``T = (expiration - as_of_date).days / 365`` from the chain's own as-of date (or to the clock with
    ``time_basis``); the volatility is found by a bracketed root finder in [0.01%, 1000%] (Newton's
    method safeguarded by bisection; to 1e-10 for European, 1e-8 for American prices). With the
    European model early exercise is ignored, so deep in-the-money American puts may show
    ``price below intrinsic``; ``exercise_style: american`` prices them as American.
    """
    _check_chain(chain, ("bid", "ask", "mid", "last"))
    out = chain.drop(columns=[c for c in chain.columns if c in ("iv_calc", "iv_reason")]).copy()
    if out.empty:
        return out.assign(iv_calc=pd.Series(dtype=float), iv_reason=pd.Series(dtype=object))
    iv, reason = _fit_iv(out, pricing_for(out, params), params.price)
    out["iv_calc"] = iv
    out["iv_reason"] = reason
    return out


class GreeksParams(PricingParams):
    use_vendor_iv: bool = Field(False, description="compute the greeks at the vendor's implied volatility (column 'iv') instead of the one solved from the mid")


@operation("greeks", family="options", columns=GREEK_COLUMNS)
def greeks(chain: pd.DataFrame, *, params: GreeksParams) -> pd.DataFrame:
    """Model price and greeks of every contract, at its implied volatility.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain``.
    carry, rate, dividend_yield, exercise_style, time_basis : how contracts are priced (see the
        family's help): by default the rate and dividend yield implied by put-call parity per
        expiration (Cboe VIX White Paper), European (BSM), whole days / 365.
    use_vendor_iv : use the vendor's ``iv`` column instead of the volatility solved from the mid.

    Returns
    -------
    the chain plus ``iv_calc`` and ``iv_reason`` (as ``implied_vol``), ``bs_iv`` (the volatility
    used), ``bs_price``, ``bs_delta`` (spot delta), ``bs_gamma`` (per 1.00 of spot), ``bs_theta``
    (per calendar day), ``bs_vega`` (per volatility point, 0.01) and ``bs_rho`` (per rate point,
    0.01), the units py_vollib uses. European greeks are Black-Scholes-Merton's closed forms;
    American ones are central differences of the Bjerksund-Stensland value (theta: one calendar
    day). Rows without a volatility get NaN.
    """
    out = implied_vol(chain, params=ImpliedVolParams(**params.model_dump(exclude={"use_vendor_iv"})))
    out = out.drop(columns=[c for c in GREEK_COLUMNS[len(IV_COLUMNS):] if c in out.columns])
    if params.use_vendor_iv:
        sigma = _num(out, "iv") if "iv" in out else np.full(len(out), np.nan)
    else:
        sigma = out["iv_calc"].to_numpy(dtype=float)
    out["bs_iv"] = sigma
    if out.empty:
        for name in GREEK_COLUMNS[len(IV_COLUMNS) + 1:]:
            out[name] = pd.Series(dtype=float)
        return out
    values = pricing_for(out, params).greeks(_num(out, "underlying_price"), _num(out, "strike"), sigma, _is_call(out))
    for name, value in values.items():
        out[f"bs_{name}"] = value
    return out


class ForwardParams(PricingParams):
    pass


@operation("implied_forward", family="options", columns=FORWARD_COLUMNS)
def implied_forward(chain: pd.DataFrame, *, params: ForwardParams) -> pd.DataFrame:
    """The forward, rate and dividend yield each expiration is priced with (put-call parity by default).

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain`` (one or every expiration).
    carry, rate, dividend_yield, time_basis : as for every pricing operation (see the family's
        help); ``implied`` fits ``C - P = DF (F - K)`` on up to ten near-the-money pairs (Cboe VIX
        White Paper method for the forward).

    Returns
    -------
    frame, one row per expiration: ``expiration``, ``years`` (time to expiry), ``forward``, ``rate``
    and ``dividend_yield`` (continuous decimals), ``pairs`` (call-put pairs used) and ``source``
    (``parity: forward and rate``, ``parity: forward; rate given``, ``given``, ``zero``, or
    ``given (no call-put pair to imply a forward)``).
    """
    _check_chain(chain, ("bid", "ask", "mid"))
    _nonempty(chain)
    return forward_table(chain, params)


# ----------------------------------------------------------------------------------------------
# Smile, term structure, skew
# ----------------------------------------------------------------------------------------------


class SmileParams(PricingParams):
    expiration: date | None = _expiration()
    source: Literal["computed", "vendor"] = Field("computed", description="'computed' solves each mid for its volatility; 'vendor' uses the chain's own iv column")
    min_volume: float = Field(0, ge=0, description="ignore contracts that traded fewer than this many today")
    min_open_interest: float = Field(0, ge=0, description="ignore contracts with less open interest than this")


def _side_mean(index: np.ndarray, size: int, values: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Mean of the finite ``values`` of one side in each strike group (NaN where there is none)."""
    use = side & np.isfinite(values)
    count = np.bincount(index, weights=use, minlength=size)
    total = np.bincount(index, weights=np.where(use, values, 0.0), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _smile(frame: pd.DataFrame, spot: float, sigma: np.ndarray) -> pd.DataFrame:
    """Per strike: call and put volatility (mean over duplicate rows) and the out-of-the-money blend."""
    strike, call = _num(frame, "strike"), _is_call(frame)
    listed = np.isfinite(strike)
    strikes, index = np.unique(strike[listed], return_inverse=True)
    call_iv = _side_mean(index, strikes.size, sigma[listed], call[listed])
    put_iv = _side_mean(index, strikes.size, sigma[listed], (frame["type"] == "put").to_numpy()[listed])
    kept = np.isfinite(call_iv) | np.isfinite(put_iv)
    strikes, call_iv, put_iv = strikes[kept], call_iv[kept], put_iv[kept]
    return pd.DataFrame({
        "strike": strikes,
        "moneyness": strikes / spot,
        "call_iv": call_iv,
        "put_iv": put_iv,
        "iv": np.where(strikes < spot, put_iv, call_iv),
    })


def _smile_sigma(frame: pd.DataFrame, source: str, params: PricingParams) -> np.ndarray:
    return _fit_iv(frame, pricing_for(frame, params))[0] if source == "computed" else _num(frame, "iv")


@operation("iv_smile", family="options", columns=SMILE_COLUMNS)
def iv_smile(chain: pd.DataFrame, *, params: SmileParams) -> pd.DataFrame:
    """Implied volatility by strike for one expiration (the smile), out-of-the-money convention.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain``.
    expiration : which expiration (default: the nearest after the chain's as-of date).
    source : ``computed`` (solve each two-sided mid) or ``vendor`` (the chain's ``iv``).
    carry, rate, dividend_yield, exercise_style, time_basis : how contracts are priced (see the
        family's help): by default the rate and dividend yield implied by put-call parity per
        expiration (Cboe VIX White Paper), European (BSM), whole days / 365.
    min_volume, min_open_interest : drop thin contracts first (missing values count as 0).

    With the default implied carry, the call and put volatilities of a strike agree (on the bundled
    chains within about a quarter of a volatility point near the money): a rate or dividend yield
    set wrongly splits them, by several points on expirations months away.

    Returns
    -------
    frame, one row per strike with a volatility: ``strike``, ``moneyness`` (strike / spot),
    ``call_iv``, ``put_iv`` and ``iv``, all annualised decimals (0.25 = 25%). ``iv`` takes the put
    below spot and the call at or above it (the liquid, out-of-the-money side) and is null where that
    side has no volatility; in-the-money quotes are wide and would make the curve jump.
    """
    _check_chain(chain, ("bid", "ask", "mid", "volume", "open_interest") + (("iv",) if params.source == "vendor" else ()))
    frame, expiry = _one_expiration(chain, params.expiration)
    spot = _spot(frame)
    volume = pd.to_numeric(frame["volume"], errors="coerce").fillna(0)
    interest = pd.to_numeric(frame["open_interest"], errors="coerce").fillna(0)
    frame = frame[(volume >= params.min_volume) & (interest >= params.min_open_interest)]
    smile = _smile(frame, spot, _smile_sigma(frame, params.source, params)) if not frame.empty else pd.DataFrame()
    if smile.empty or not np.isfinite(smile["iv"]).any():
        raise OperationError(
            f"no contract expiring {expiry.date()} has a {params.source} implied volatility"
            + (" after the volume and open-interest filters" if params.min_volume or params.min_open_interest else "")
            + (" (try source 'vendor')" if params.source == "computed" else " (try source 'computed')") + "."
        )
    return smile.reset_index(drop=True)


class TermStructureParams(PricingParams):
    max_days: int | None = Field(None, ge=1, le=3650, description="only expirations within this many days of the chain's as-of date")


@operation("term_structure", family="options", columns=TERM_COLUMNS)
def term_structure(chain: pd.DataFrame, *, params: TermStructureParams) -> pd.DataFrame:
    """At-the-money implied volatility and expected move for every expiration (the term structure).

    Parameters
    ----------
    chain : option chain with several expirations (``fetch_options_chain`` with ``all_expirations``).
    carry, rate, dividend_yield, exercise_style, time_basis : how contracts are priced (see the
        family's help): by default the rate and dividend yield implied by put-call parity per
        expiration (Cboe VIX White Paper), European (BSM), whole days / 365.
    max_days : only expirations within this many days.

    Returns
    -------
    frame, one row per expiration after the as-of date whose ATM strike has a call and a put price:
    ``expiration``, ``days_to_expiry``, ``atm_strike`` (closest to spot), ``atm_iv`` (mean of the ATM
    call's and put's implied volatility from their mids, annualised decimal), ``straddle`` (call + put
    price) and ``expected_move_pct`` (one-sigma move ``straddle * sqrt(pi/2)`` as percent of spot).
    """
    _check_chain(chain, ("bid", "ask", "mid", "last"))
    _nonempty(chain)
    days = _days(chain)
    keep = days > 0
    if params.max_days is not None:
        keep &= days <= params.max_days
    live = chain[keep]
    atm = _atm_rows(live)
    if atm.empty:
        raise OperationError("no expiration after the chain's as-of date has an at-the-money call and put price.")
    expiries = _expiries(live)
    at_strike = live[pd.MultiIndex.from_arrays([expiries, live["strike"]]).isin(list(zip(atm.index, atm["strike"], strict=True)))]
    sigma = pd.Series(_fit_iv(at_strike, _pricing_of_rows(live, at_strike, params))[0], index=expiries[at_strike.index].to_numpy())
    atm_iv = sigma.groupby(level=0).mean()  # NaN where neither side fits
    straddle = atm["call_mid"] + atm["put_mid"]
    days = (atm.index - chain_as_of(chain)).days
    return pd.DataFrame({
        "expiration": atm.index,
        "days_to_expiry": np.asarray(days, dtype=int),
        "atm_strike": atm["strike"].to_numpy(),
        "atm_iv": atm_iv.reindex(atm.index).to_numpy(),
        "straddle": straddle.to_numpy(),
        "expected_move_pct": (straddle * SQRT_PI_OVER_2 / atm["spot"] * 100).to_numpy(),
    }, columns=TERM_COLUMNS).reset_index(drop=True)


class SkewParams(PricingParams):
    expiration: date | None = _expiration()
    delta: float = Field(0.25, gt=0, lt=0.5, description="absolute delta of the wings (0.25 = the 25-delta put and call)")


def _at_delta(target: float, deltas: np.ndarray, values: np.ndarray, what: str) -> float:
    """Interpolate ``values`` linearly in delta at ``target`` (no extrapolation)."""
    order = np.argsort(deltas)
    d, v = deltas[order], values[order]
    if d.size < 2 or not (d[0] <= target <= d[-1]):
        span = f"{d[0]:.2f} to {d[-1]:.2f}" if d.size else "none"
        raise OperationError(f"the {what} deltas with a volatility span {span}; {target:+.2f} is outside, so the skew cannot be interpolated.")
    return float(np.interp(target, d, v))


@operation("skew_25d", family="options")
def skew_25d(chain: pd.DataFrame, *, params: SkewParams) -> Record:
    """25-delta skew of one expiration: put and call wing volatilities, risk reversal and butterfly.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain``.
    expiration : which expiration (default: the nearest after the chain's as-of date).
    carry, rate, dividend_yield, exercise_style, time_basis : how contracts are priced (see the
        family's help): by default the rate and dividend yield implied by put-call parity per
        expiration (Cboe VIX White Paper), European (BSM), whole days / 365.
    delta : wing delta (default 0.25).

    Returns
    -------
    record with ``put_25d_iv``, ``call_25d_iv`` and ``atm_iv`` (annualised decimals), ``skew``
    (put - call, in volatility points: 5.0 means 5 points), ``risk_reversal`` (call - put, vol
    points), ``butterfly`` ((put + call) / 2 - atm, vol points), ``put_strike`` and ``call_strike``
    (the interpolated 25-delta strikes), ``spot``, ``expiration``, ``days_to_expiry``, ``delta``.

    Notes
    -----
    Each out-of-the-money contract (puts below spot, calls above) gets its implied volatility from
    its mid and its spot delta at that volatility (the model's: BSM, or Bjerksund-Stensland by
    finite differences); the wing volatility and strike are linear interpolations in delta.
    ``atm_iv`` is the out-of-the-money smile interpolated at the spot. With the carry set to
    zero on a months-long expiration the put wing's delta is misplaced and the skew roughly halves;
    the implied carry avoids that.
    """
    _check_chain(chain, ("bid", "ask", "mid"))
    frame, expiry = _one_expiration(chain, params.expiration)
    spot = _spot(frame)
    pricing = pricing_for(frame, params)
    sigma, _ = _fit_iv(frame, pricing)
    strike, call = _num(frame, "strike"), _is_call(frame)
    deltas = pricing.delta(_num(frame, "underlying_price"), strike, sigma, call)
    good = np.isfinite(sigma) & np.isfinite(deltas)
    calls = good & call & (strike >= spot)
    puts = good & ~call & (strike <= spot)
    call_iv = _at_delta(params.delta, deltas[calls], sigma[calls], "out-of-the-money call")
    call_strike = _at_delta(params.delta, deltas[calls], strike[calls], "out-of-the-money call")
    put_iv = _at_delta(-params.delta, deltas[puts], sigma[puts], "out-of-the-money put")
    put_strike = _at_delta(-params.delta, deltas[puts], strike[puts], "out-of-the-money put")
    smile = _smile(frame, spot, sigma).dropna(subset=["iv"])
    atm_iv = float(np.interp(spot, smile["strike"], smile["iv"])) if len(smile) else float("nan")
    return Record(
        put_25d_iv=put_iv,
        call_25d_iv=call_iv,
        atm_iv=atm_iv,
        skew=(put_iv - call_iv) * 100,
        risk_reversal=(call_iv - put_iv) * 100,
        butterfly=((put_iv + call_iv) / 2 - atm_iv) * 100,
        put_strike=put_strike,
        call_strike=call_strike,
        spot=spot,
        expiration=expiry.date().isoformat(),
        days_to_expiry=int(_days(frame)[0]),
        delta=params.delta,
    )


# ----------------------------------------------------------------------------------------------
# Positioning: put/call ratio, max pain, gamma exposure
# ----------------------------------------------------------------------------------------------


class PutCallParams(Params):
    by: Literal["volume", "open_interest"] = Field("volume", description="compare today's traded 'volume' or the 'open_interest'")
    expiration: date | None = Field(None, description="only this expiration (default: every expiration in the chain)")


def _totals(chain: pd.DataFrame, column: str) -> tuple[float, float]:
    values = pd.to_numeric(chain[column], errors="coerce").fillna(0)
    return float(values[chain["type"] == "put"].sum()), float(values[chain["type"] == "call"].sum())


@operation("put_call_ratio", family="options")
def put_call_ratio(chain: pd.DataFrame, *, params: PutCallParams) -> Record:
    """Put/call ratio of the chain: total put volume (or open interest) over total call volume.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain`` (one or every expiration).
    by : ``volume`` (today's trading) or ``open_interest`` (positions held).
    expiration : restrict to one expiration (default: the whole chain).

    Returns
    -------
    record with ``put_total``, ``call_total`` and ``ratio`` for the chosen measure, plus
    ``volume_ratio`` and ``open_interest_ratio`` (null where there are no calls), ``by`` and
    ``contracts``. Missing volume or open interest counts as 0. Above 1 means more puts than calls.
    """
    _check_chain(chain, ("volume", "open_interest"))
    frame = _one_expiration(chain, params.expiration)[0] if params.expiration is not None else chain
    _nonempty(frame)
    put_total, call_total = _totals(frame, params.by)
    if call_total <= 0:
        raise OperationError(f"the chain has no call {params.by.replace('_', ' ')}, so the put/call ratio is undefined.")
    ratios = {}
    for column in ("volume", "open_interest"):
        puts, calls = _totals(frame, column)
        ratios[f"{column}_ratio"] = puts / calls if calls > 0 else None
    return Record(put_total=put_total, call_total=call_total, ratio=put_total / call_total, **ratios, by=params.by, contracts=len(frame))


class MaxPainParams(Params):
    expiration: date | None = _expiration()
    contract_size: int = Field(100, ge=1, description="shares per contract (100 for US equity options)")


def _pain_curve(frame: pd.DataFrame, contract_size: int) -> pd.DataFrame:
    strike = _num(frame, "strike")
    interest = pd.to_numeric(frame["open_interest"], errors="coerce").fillna(0).to_numpy(dtype=float) * contract_size
    call = _is_call(frame)
    prices = np.unique(strike[np.isfinite(strike)])
    # payoff[i, j]: value at expiry of contract j if the underlying settles at prices[i]
    call_pain = (np.maximum(prices[:, None] - strike[None, :], 0) * interest * call).sum(axis=1)
    put_pain = (np.maximum(strike[None, :] - prices[:, None], 0) * interest * ~call).sum(axis=1)
    return pd.DataFrame({"strike": prices, "call_pain": call_pain, "put_pain": put_pain, "total_pain": call_pain + put_pain})


@operation("max_pain_curve", family="options", columns=PAIN_COLUMNS)
def max_pain_curve(chain: pd.DataFrame, *, params: MaxPainParams) -> pd.DataFrame:
    """Total value of the options of one expiration that would expire in the money, at each strike.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain``.
    expiration : which expiration (default: the nearest after the chain's as-of date).
    contract_size : shares per contract (default 100).

    Returns
    -------
    frame, one row per listed strike as the settlement price: ``strike``, ``call_pain`` (sum of
    open interest x contract size x max(price - strike, 0) over calls), ``put_pain`` (the same with
    max(strike - price, 0) over puts) and ``total_pain``, in dollars. Missing open interest counts as 0.
    """
    _check_chain(chain, ("open_interest",))
    frame, expiry = _one_expiration(chain, params.expiration)
    if not (pd.to_numeric(frame["open_interest"], errors="coerce").fillna(0) > 0).any():
        raise OperationError(f"no contract expiring {expiry.date()} has open interest, so max pain is undefined.")
    return _pain_curve(frame, params.contract_size)


@operation("max_pain", family="options")
def max_pain(chain: pd.DataFrame, *, params: MaxPainParams) -> Record:
    """Max pain of one expiration: the settlement strike at which option holders' payout is smallest.

    Returns
    -------
    record with ``max_pain_strike``, ``total_pain`` (dollars paid out there), ``spot``,
    ``distance_pct`` ((max pain - spot) / spot, in percent), ``expiration`` and ``days_to_expiry``.
    See ``max_pain_curve`` for the payout at every strike; ties go to the lower strike.
    """
    curve = max_pain_curve(chain, params=params)
    frame, expiry = _one_expiration(chain, params.expiration)
    spot = _spot(frame)
    best = curve.loc[curve["total_pain"].idxmin()]
    return Record(
        max_pain_strike=float(best["strike"]),
        total_pain=float(best["total_pain"]),
        spot=spot,
        distance_pct=(float(best["strike"]) - spot) / spot * 100,
        expiration=expiry.date().isoformat(),
        days_to_expiry=int(_days(frame)[0]),
    )


class GammaParams(PricingParams):
    contract_size: int = Field(100, ge=1, description="shares per contract (100 for US equity options)")
    source: Literal["computed", "vendor_iv", "vendor"] = Field(
        "computed",
        description="gamma from BSM at the volatility solved from the mid ('computed'), BSM at the vendor's iv ('vendor_iv'), or the vendor's own gamma column ('vendor')",
    )
    expiration: date | None = Field(None, description="only this expiration (default: every expiration in the chain)")


def _gamma_inputs(chain: pd.DataFrame, params: GammaParams) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, Pricing]:
    """The contracts used, their volatility (for re-pricing at other spots) and their gamma now."""
    _check_chain(chain, ("open_interest", "bid", "ask", "mid") + (("iv",) if params.source != "computed" else ()) + (("gamma",) if params.source == "vendor" else ()))
    frame = _one_expiration(chain, params.expiration)[0] if params.expiration is not None else chain
    _nonempty(frame)
    frame = frame[_days(frame) > 0]
    if frame.empty:
        raise OperationError("every contract in the chain expires on or before its as-of date; gamma exposure needs live options.")
    held = pd.to_numeric(frame["open_interest"], errors="coerce").fillna(0) > 0
    if not held.any():
        raise OperationError("no contract in the chain has open interest, so there is no exposure to measure.")
    frame = frame[held]  # contracts nobody holds add nothing; skipping them saves solving their volatility
    pricing = _pricing_of_rows(chain, frame, params)
    sigma = _fit_iv(frame, pricing)[0] if params.source == "computed" else _num(frame, "iv")
    if params.source == "vendor":
        gam = np.abs(_num(frame, "gamma"))  # some vendors (IBKR) sign put gamma negative
    else:
        gam = bsm.gamma(_num(frame, "underlying_price"), _num(frame, "strike"), pricing.years, sigma, pricing.rate, pricing.dividend)
    return frame, sigma, gam, pricing


def _signed_exposure(frame: pd.DataFrame, gam: np.ndarray, spot: np.ndarray | float, contract_size: int) -> np.ndarray:
    interest = pd.to_numeric(frame["open_interest"], errors="coerce").fillna(0).to_numpy(dtype=float)
    sign = np.where(_is_call(frame), 1.0, -1.0)
    return np.nan_to_num(gam) * interest * contract_size * np.square(spot) * 0.01 * sign


@operation("gamma_exposure", family="options", columns=GEX_COLUMNS)
def gamma_exposure(chain: pd.DataFrame, *, params: GammaParams) -> pd.DataFrame:
    """Dealer gamma exposure by strike, in dollars per 1% move of the underlying.

    Parameters
    ----------
    chain : option chain from ``fetch_options_chain`` (one or every expiration).
    contract_size : shares per contract (default 100).
    source : where gamma comes from: ``computed`` (BSM at the volatility solved from the mid),
        ``vendor_iv`` (BSM at the vendor's ``iv``) or ``vendor`` (the vendor's ``gamma``).
    carry, rate, dividend_yield, exercise_style, time_basis : how the volatility is solved (see the
        family's help); gamma itself is Black-Scholes-Merton's at that volatility and carry.
    expiration : restrict to one expiration (default: all of them, summed by strike).

    Returns
    -------
    frame, one row per strike: ``strike``, ``call_gex``, ``put_gex``, ``net_gex``, each
    ``gamma * open_interest * contract_size * spot^2 * 0.01``.

    Notes
    -----
    The usual convention: dealers are long the calls and short the puts that customers hold, so call
    exposure counts positive and put exposure negative. Contracts without a gamma (no two-sided quote
    to solve) or without open interest contribute 0.
    """
    frame, _, gam, _ = _gamma_inputs(chain, params)
    exposure = _signed_exposure(frame, gam, _num(frame, "underlying_price"), params.contract_size)
    call = _is_call(frame)
    table = pd.DataFrame({"strike": _num(frame, "strike"), "call_gex": np.where(call, exposure, 0.0), "put_gex": np.where(call, 0.0, exposure)})
    table = table.groupby("strike", as_index=False).sum()
    table["net_gex"] = table["call_gex"] + table["put_gex"]
    return table[GEX_COLUMNS]


def _zero_gamma_level(frame: pd.DataFrame, sigma: np.ndarray, params: GammaParams, pricing: Pricing, spot: float) -> float | None:
    """The spot price nearest today's at which total exposure changes sign (each option at its own vol).

    Exposure is evaluated on a grid of 301 spots within 30% of today's, all at once: BSM gamma at
    spot ``s`` is ``e^{-qT} n(d1) / (s sigma sqrt(T))`` with ``d1 = (ln s - ln K + (r - q + sigma^2/2) T) / (sigma sqrt(T))``,
    so the grid-by-contract matrix is the density of an outer difference, summed by a matrix product.
    """
    strike, years = _num(frame, "strike"), pricing.years
    live = np.isfinite(sigma) & (sigma > 0) & (strike > 0) & (years > 0)
    if not live.any():
        return None
    strike, years, sigma = strike[live], years[live], sigma[live]
    r, q = pricing.rate[live], pricing.dividend[live]
    interest = pd.to_numeric(frame["open_interest"], errors="coerce").fillna(0).to_numpy(dtype=float)[live]
    sign = np.where(_is_call(frame)[live], 1.0, -1.0)
    grid = np.linspace(0.7 * spot, 1.3 * spot, 301)
    vol_t = sigma * np.sqrt(years)
    # in place, one grid-by-contract array: d1, then -d1^2/2, then the density up to its constant
    density = np.subtract.outer(np.log(grid), np.log(strike) - (r - q + 0.5 * sigma**2) * years)
    density /= vol_t
    np.square(density, out=density)
    density *= -0.5
    np.exp(density, out=density)
    weight = np.exp(-q * years) / (vol_t * bsm.SQRT_2PI) * interest * sign  # gamma * s = weight * exp(-d1^2/2)
    total = (density @ weight) / grid * params.contract_size * grid**2 * 0.01
    flips = np.flatnonzero(np.sign(total[:-1]) * np.sign(total[1:]) < 0)
    if flips.size == 0:
        return None
    i = flips[np.argmin(np.abs(grid[flips] - spot))]
    return float(grid[i] - total[i] * (grid[i + 1] - grid[i]) / (total[i + 1] - total[i]))


@operation("gamma_exposure_total", family="options")
def gamma_exposure_total(chain: pd.DataFrame, *, params: GammaParams) -> Record:
    """Total dealer gamma exposure of the chain and the zero-gamma (flip) level.

    Returns
    -------
    record with ``total_gex``, ``call_gex``, ``put_gex`` (dollars per 1% move, same convention as
    ``gamma_exposure``: calls positive, puts negative), ``zero_gamma_strike`` (the underlying price,
    within 30% of spot, at which total exposure changes sign when every option is re-priced there
    at its own volatility; null when it does not change sign in that range), ``spot``, ``contracts``.
    """
    frame, sigma, gam, pricing = _gamma_inputs(chain, params)
    exposure = _signed_exposure(frame, gam, _num(frame, "underlying_price"), params.contract_size)
    call = _is_call(frame)
    spot = _spot(frame)
    return Record(
        total_gex=float(exposure.sum()),
        call_gex=float(exposure[call].sum()),
        put_gex=float(exposure[~call].sum()),
        zero_gamma_strike=_zero_gamma_level(frame, sigma, params, pricing, spot),
        spot=spot,
        contracts=len(frame),
    )
