"""The three data protocols (macro, market, derivatives), provenance and typed data errors.

Every gateway method returns a ``Fetched``: the pandas object and the provenance that says where it
came from. The engine reaches gateways only through ``DataAccess`` (``engine.data``), which unwraps the
value and records the provenance of every fetch of a run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import pandas as pd

T = TypeVar("T")

BAR_COLUMNS = ["open", "high", "low", "close", "volume"]
CHAIN_COLUMNS = [
    "underlying", "expiration", "type", "strike", "bid", "ask", "mid", "last", "volume",
    "open_interest", "iv", "delta", "gamma", "theta", "vega", "underlying_price", "as_of",
]


@dataclass(frozen=True)
class Provenance:
    """Where one piece of data came from: provider, dataset, the symbol or series, and its as-of time."""

    provider: str  # "sample", "fred", "polygon"
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
# Errors: typed in the core, one sentence a user can act on.
# ----------------------------------------------------------------------------------------------


class DataError(Exception):
    """Base of every data-access failure; ``str(error)`` is a sentence for the user."""

    code = "E_DATA"


class NotFound(DataError):
    """An unknown symbol, series or expiration."""

    code = "E_NOT_FOUND"


class NoData(DataError):
    """The request is valid but returns no observations (e.g. a date range before the series starts)."""

    code = "E_NO_DATA"


class NotEntitled(DataError):
    """The provider refused: the user's data plan does not include this data."""

    code = "E_NOT_ENTITLED"


class RateLimited(DataError):
    """The provider is rate limiting us."""

    code = "E_RATE_LIMITED"


class Unavailable(DataError):
    """The provider is down, timed out or answered with something we cannot read."""

    code = "E_UNAVAILABLE"


class BadRequest(DataError):
    """The provider rejected the parameters (bad date, unknown frequency, ...)."""

    code = "E_BAD_REQUEST"


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

    def daily_bars(self, symbol: str, start: date | None = None, end: date | None = None) -> Fetched[pd.DataFrame]: ...

    def quote(self, symbol: str) -> Fetched[dict[str, Any]]: ...


@runtime_checkable
class DerivativesGateway(Protocol):
    """Listed options."""

    name: str

    def expirations(self, symbol: str) -> Fetched[list[date]]: ...

    def options_chain(self, symbol: str, expiration: date | None = None) -> Fetched[pd.DataFrame]: ...
