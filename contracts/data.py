"""Data access contracts: the three protocols (macro, market, derivatives), provenance, and the dataset
contracts (columns, kinds, units, as-of) that every gateway produces and every fetch operation reads.

Every gateway method returns a ``Fetched``: the pandas object and the provenance that says where it
came from. The engine reaches data only through ``DataAccess`` (``engine.data``), built by the services
from gateways, which unwraps the value and records the provenance of every fetch of a run. Gateways
conform their frames to ``DAILY_BARS`` and ``OPTIONS_CHAIN`` (``gateways.conform``); the fetch
operations declare the same columns to the validator, so no two places agree by convention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

import pandas as pd

T = TypeVar("T")
PROVIDERS = ("sample", "fred", "polygon")
# The basis of daily closes: "price" adjusted for splits only (what Polygon/Massive serves), or
# "total_return" adjusted for splits and dividends. Returns compare only within one basis.
PriceBasis = Literal["price", "total_return"]
PRICE_BASES: tuple[str, ...] = ("price", "total_return")

ColumnKind = Literal["float", "text", "datetime"]


@dataclass(frozen=True)
class Column:
    """One column of a dataset: its name, kind, unit and meaning."""

    name: str
    kind: ColumnKind
    unit: str = ""
    help: str = ""


@dataclass(frozen=True)
class Dataset:
    """A dataset every provider serves in the same shape: columns in order, the index, the as-of rule."""

    name: str
    columns: tuple[Column, ...]
    index: Column | None
    sort_by: tuple[str, ...]
    as_of: str  # how the as-of time is determined, in words (shown in the docs and the ops listing)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


DAILY_BARS = Dataset(
    name="daily_bars",
    columns=(
        Column("open", "float", "price", "first trade of the day"),
        Column("high", "float", "price", "highest trade"),
        Column("low", "float", "price", "lowest trade"),
        Column("close", "float", "price", "last trade (split-adjusted as the vendor publishes it)"),
        Column("volume", "float", "shares", "shares traded"),
    ),
    index=Column("date", "datetime", "", "trading day (New York), no time of day"),
    sort_by=(),
    as_of="the newest bar's date",
)

OPTIONS_CHAIN = Dataset(
    name="options_chain",
    columns=(
        Column("underlying", "text", "", "underlying ticker"),
        Column("expiration", "datetime", "", "expiration date"),
        Column("type", "text", "", "call or put"),
        Column("strike", "float", "price", "strike price"),
        Column("bid", "float", "price", "best bid"),
        Column("ask", "float", "price", "best ask"),
        Column("mid", "float", "price", "(bid + ask) / 2 where both are quoted"),
        Column("last", "float", "price", "last trade"),
        Column("volume", "float", "contracts", "contracts traded today"),
        Column("open_interest", "float", "contracts", "open contracts"),
        Column("iv", "float", "fraction per year", "implied volatility (0.20 = 20%)"),
        Column("delta", "float", "", "option delta"),
        Column("gamma", "float", "per $1 of spot", "option gamma"),
        Column("theta", "float", "price per calendar day", "option theta"),
        Column("vega", "float", "price per volatility point", "option vega"),
        Column("underlying_price", "float", "price", "spot when the chain was taken"),
        Column("as_of", "text", "", "ISO time of the snapshot"),
    ),
    index=None,
    sort_by=("expiration", "type", "strike"),
    as_of="the snapshot's quote time (the newest quote in the chain), in New York time",
)

BAR_COLUMNS = DAILY_BARS.names
CHAIN_COLUMNS = OPTIONS_CHAIN.names


@dataclass(frozen=True)
class Provenance:
    """Where one piece of data came from: provider, dataset, the symbol or series, and its as-of time."""

    provider: str  # one of PROVIDERS
    dataset: str  # "fred_series", "daily_bars", "quote", "options_chain", "expirations", ...
    symbol: str  # the ticker or FRED series id
    as_of: str  # ISO date or datetime of the newest observation (sample) or of the fetch (live)
    live: bool = False
    cache_hit: bool = False
    warning: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        return cls(**data)

    def replace(self, **changes: Any) -> Provenance:
        return Provenance(**{**asdict(self), **changes})


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """A value fetched from a gateway and its provenance."""

    value: T
    provenance: Provenance


# ----------------------------------------------------------------------------------------------
# Protocols
# ----------------------------------------------------------------------------------------------


@runtime_checkable
class MacroGateway(Protocol):
    """Economic series (FRED)."""

    name: str

    def series(
        self,
        series_id: str,
        start: date | None = None,
        end: date | None = None,
        units: str | None = None,
        frequency: str | None = None,
        aggregation: str | None = None,
    ) -> Fetched[pd.Series]: ...

    def series_info(self, series_id: str) -> Fetched[dict[str, Any]]: ...

    def search(self, text: str, limit: int = 20) -> Fetched[pd.DataFrame]: ...


@runtime_checkable
class MarketGateway(Protocol):
    """Daily bars and quotes for stocks, ETFs and indices."""

    name: str

    def daily_bars(self, symbol: str, start: date | None = None, end: date | None = None, basis: str = "price") -> Fetched[pd.DataFrame]: ...

    def quote(self, symbol: str) -> Fetched[dict[str, Any]]: ...


@runtime_checkable
class DerivativesGateway(Protocol):
    """Listed options."""

    name: str

    def expirations(self, symbol: str) -> Fetched[list[date]]: ...

    def options_chain(self, symbol: str, expiration: date | None = None) -> Fetched[pd.DataFrame]: ...
