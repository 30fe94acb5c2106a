"""Fetch operations: the only steps that read data, through the injected ``DataAccess``."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from contracts.data import BAR_COLUMNS, CHAIN_COLUMNS, PriceBasis
from contracts.errors import OperationError
from engine.data import DataAccess
from engine.registry import Params, Record, operation

FredUnits = Literal["lin", "chg", "ch1", "pch", "pc1", "pca", "log"]
FredFrequency = Literal["d", "w", "m", "q", "sa", "a"]


class FetchSeriesParams(Params):
    series_id: str = Field(min_length=1, description="FRED series id, e.g. DGS10, UNRATE, CPIAUCSL (or a comma-separated list with 'item')")
    item: int | None = Field(None, ge=1, le=20, description="when series_id lists several ids separated by commas (the labs' series_ids), fetch the one at this position, 1 for the first")
    start: date | None = Field(None, description="first date (YYYY-MM-DD); default: the series' start")
    end: date | None = Field(None, description="last date (YYYY-MM-DD); default: the latest observation")
    units: FredUnits | None = Field(None, description="FRED units transform: lin, chg, ch1, pch, pc1, pca, log")
    frequency: FredFrequency | None = Field(None, description="aggregate to a lower frequency: d, w, m, q, sa, a")
    aggregation: Literal["avg", "sum", "eop"] | None = Field(None, description="how to aggregate: avg, sum or eop")


@operation("fetch_series", family="fetch")
def fetch_series(*, params: FetchSeriesParams, data: DataAccess) -> pd.Series:
    """Fetch an economic series from FRED (or the bundled sample).

    Parameters
    ----------
    series_id : FRED id such as ``DGS10`` (10-year Treasury yield, percent) or ``UNRATE``.
    start, end : date range (inclusive); observations outside it are dropped.
    units : FRED's server-side transform (``pc1`` is percent change from a year ago).
    frequency, aggregation : aggregate to a lower frequency (``m`` with ``avg``, ``eop``, ``sum``), as
        FRED does it, which includes a partial last period (the month so far); use ``resample`` on
        the native series for complete periods only.

    item : with a list of ids such as ``DGS10,DGS2`` (an Econ Lab's chosen series), the position
        of the one to fetch (1 for the first).

    Returns
    -------
    series in the vendor's units on a DatetimeIndex, named after the series id.
    """
    series_id = _pick(params.series_id, params.item)
    series = data.series(
        series_id, params.start, params.end,
        units=params.units, frequency=params.frequency, aggregation=params.aggregation,
    )
    return series.rename(series_id.upper())


def _pick(text: str, item: int | None) -> str:
    """One id out of ``text``: the whole text, or its ``item``-th comma-separated entry."""
    ids = [part.strip().upper() for part in text.split(",") if part.strip()]
    if item is None:
        if len(ids) > 1:
            raise OperationError(f"'{text}' lists {len(ids)} series; set 'item' to the position of the one to fetch.")
        return ids[0] if ids else text
    if item > len(ids):
        listed = ", ".join(ids) or "none"
        raise OperationError(f"the list of series ({listed}) has {len(ids)} id{'s' if len(ids) != 1 else ''}, so there is no number {item}; add another series, e.g. DGS10,DGS2.")
    return ids[item - 1]


class FetchPricesParams(Params):
    symbol: str = Field(min_length=1, description="ticker, e.g. SPY, AAPL")
    start: date | None = Field(None, description="first date (YYYY-MM-DD)")
    end: date | None = Field(None, description="last date (YYYY-MM-DD)")
    field: Literal["open", "high", "low", "close", "volume"] = Field("close", description="which bar field")
    basis: PriceBasis = Field("price", description="'price': closes adjusted for splits only (default; what Polygon/Massive serves); 'total_return': adjusted for splits and dividends. Fetch every asset of a comparison with the same basis")


@operation("fetch_prices", family="fetch")
def fetch_prices(*, params: FetchPricesParams, data: DataAccess) -> pd.Series:
    """Fetch one field (close by default) of a symbol's daily bars as a series.

    ``basis`` says how the closes are adjusted: ``price`` (splits only: returns leave out dividends)
    or ``total_return`` (splits and dividends: returns include them). Returns of assets fetched with
    different bases do not compare (a dividend-paying bond fund loses several points a year against
    a price index), so a correlation or beta fetches every asset with one basis; a provider that
    does not hold a symbol in the basis asked for says so rather than serving the other.

    Returns
    -------
    series of prices (or volume) on trading days, named after the symbol.
    """
    bars = data.daily_bars(params.symbol, params.start, params.end, basis=params.basis)
    values = bars[params.field].dropna()
    if values.empty:
        raise OperationError(f"{params.symbol.upper()} has no '{params.field}' values in this data; try field 'close'.")
    return values.rename(params.symbol.upper())


class FetchBarsParams(Params):
    symbol: str = Field(min_length=1, description="ticker, e.g. SPY, AAPL")
    start: date | None = Field(None, description="first date (YYYY-MM-DD)")
    end: date | None = Field(None, description="last date (YYYY-MM-DD)")
    basis: PriceBasis = Field("price", description="'price': adjusted for splits only (default); 'total_return': adjusted for splits and dividends")


@operation("fetch_bars", family="fetch", columns=BAR_COLUMNS)
def fetch_bars(*, params: FetchBarsParams, data: DataAccess) -> pd.DataFrame:
    """Fetch a symbol's daily bars as a frame with open, high, low, close and volume columns."""
    return data.daily_bars(params.symbol, params.start, params.end, basis=params.basis)


class FetchQuoteParams(Params):
    symbol: str = Field(min_length=1, description="ticker, e.g. SPY")


@operation("fetch_quote", family="fetch")
def fetch_quote(*, params: FetchQuoteParams, data: DataAccess) -> Record:
    """Fetch the latest price of a symbol (the previous close when no live quote is available).

    Returns
    -------
    record with ``symbol``, ``price``, ``as_of`` and ``kind`` (``last trade`` or ``previous close``).
    """
    return Record(data.quote(params.symbol))


class FetchChainParams(Params):
    symbol: str = Field(min_length=1, description="underlying ticker, e.g. SPY")
    expiration: date | None = Field(None, description="expiration date; default: chosen by target_days")
    target_days: int | None = Field(None, ge=0, le=3650, description="pick the expiration closest to this many days after the chain's as-of date (default: the nearest expiration)")
    all_expirations: bool = Field(False, description="fetch every expiration (for term structures)")
    max_days: int | None = Field(None, ge=1, le=3650, description="with all_expirations: only expirations within this many days")

    @model_validator(mode="after")
    def _one_choice(self) -> FetchChainParams:
        if self.all_expirations and self.expiration is not None:
            raise ValueError("give either an expiration or all_expirations, not both")
        return self


def chain_as_of(chain: pd.DataFrame) -> pd.Timestamp:
    """The chain's own as-of date (days to expiry count from it, never from today's clock)."""
    stamp = pd.Timestamp(str(chain["as_of"].iloc[0]))
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def _choose_expiration(expirations: list[date], as_of: pd.Timestamp, target_days: int | None) -> date:
    future = [d for d in expirations if pd.Timestamp(d) > as_of]
    if not future:
        raise OperationError(f"no expiration falls after the chain's as-of date {as_of.date()}.")
    if target_days is None:
        return future[0]
    target = as_of + pd.Timedelta(days=target_days)
    return min(future, key=lambda d: (abs((pd.Timestamp(d) - target).days), d))


@operation("fetch_options_chain", family="fetch", columns=CHAIN_COLUMNS)
def fetch_options_chain(*, params: FetchChainParams, data: DataAccess) -> pd.DataFrame:
    """Fetch an option chain snapshot with standard columns.

    Choose one expiration (``expiration``; or ``target_days`` after the chain's as-of date; default
    the nearest one after it) or every expiration (``all_expirations``, optionally within
    ``max_days``). Columns: underlying, expiration, type (call/put), strike, bid, ask, mid, last,
    volume, open_interest, iv, delta, gamma, theta (per calendar day), vega (per volatility point),
    underlying_price, as_of.
    """
    if params.all_expirations:
        chain = data.options_chain(params.symbol, None)
        if params.max_days is not None and not chain.empty:
            horizon = chain_as_of(chain) + pd.Timedelta(days=params.max_days)
            chain = chain[chain["expiration"] <= horizon]
    elif params.expiration is not None:
        chain = data.options_chain(params.symbol, params.expiration)
    else:
        expirations = data.expirations(params.symbol)
        as_of = pd.Timestamp(data.provenance[-1].as_of[:10])
        chosen = _choose_expiration(expirations, as_of, params.target_days)
        chain = data.options_chain(params.symbol, chosen)
    if chain.empty:
        raise OperationError(f"the option chain for {params.symbol.upper()} is empty.")
    return chain.reset_index(drop=True)
