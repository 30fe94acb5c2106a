"""What the labs show around their models: FRED series over a date range, option chains and smiles,
and which data is in use. No Streamlit; the pages cache these calls at their boundary.

Every fetch goes through a fresh ``DataAccess`` and returns its provenance with the values, so the
labs say where each number came from, as model runs do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from contracts.errors import DataError
from engine.data import DataAccess
from gateways.sample import CHAIN_FILES
from gateways.sample import as_of_date as sample_as_of_date
from services.config import Settings
from services.data import describe_data

# Symbols offered in the Derivatives Lab when live data is configured (any ticker may be typed).
LIVE_SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "AMZN", "TSLA")


@dataclass(frozen=True)
class DataMode:
    """Which data is in use: live per kind, and a sentence for the sidebar badge."""

    live: bool
    providers: dict[str, str]
    sentence: str


@dataclass
class LabSeries:
    """The chosen series, each on its own dates; a series that failed is reported on its own."""

    values: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


class LabsService:
    def __init__(self, settings: Settings, data: Callable[[], DataAccess]):
        self._settings = settings
        self._data = data

    def data_mode(self) -> DataMode:
        """``DataMode`` describing the data in use: providers per kind, and the sample's as-of date."""
        described = describe_data(self._settings)
        providers = {k: v for k, v in described.items() if k in ("macro", "market", "derivatives")}
        live = {kind: name for kind, name in providers.items() if name != "sample"}
        if not live:
            sentence = f"Sample data (bundled snapshot), as of {sample_as_of()}. Set FRED_API_KEY or MASSIVE_API_KEY for live data."
            return DataMode(False, providers, sentence)
        parts = ", ".join(f"{kind}: {name}" for kind, name in providers.items())
        rest = "" if len(live) == len(providers) else f" The rest is sample data as of {sample_as_of()}."
        return DataMode(True, providers, f"Live data ({parts}).{rest}")

    def catalogue(self) -> pd.DataFrame:
        """Series the macro provider can search: id, title, units, frequency."""
        return self._data().macro.search("", 200).value

    def series(self, series_ids: Iterable[str], start: date, end: date) -> LabSeries:
        """Each series on its own dates (``{id: {"x": [...], "y": [...]}}``) with the provenance of each fetch."""
        out = LabSeries()
        for sid in series_ids:
            data = self._data()
            try:
                values = data.series(sid, start, end)
            except DataError as exc:
                out.errors[sid] = str(exc)
                continue
            out.values[sid] = {"x": [d.isoformat() for d in values.index.date], "y": [float(v) for v in values.to_numpy()]}
            out.provenance.extend(p.to_json() for p in data.provenance)
        return out

    def symbols(self) -> list[str]:
        """Underlyings offered in the Derivatives Lab's picker."""
        if describe_data(self._settings)["derivatives"] == "sample":
            return list(CHAIN_FILES)
        return list(LIVE_SYMBOLS)

    def expirations(self, symbol: str) -> list[date]:
        return self._data().expirations(symbol)

    def chain(self, symbol: str, expiration: date | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """One expiration's chain (standard columns) and the provenance of the fetch."""
        data = self._data()
        chain = data.options_chain(symbol, expiration)
        return chain, [p.to_json() for p in data.provenance]


def sample_as_of() -> str:
    """The newest date in the bundled sample snapshot (FRED observations and daily bars)."""
    return sample_as_of_date().isoformat()


def spot_price(chain: pd.DataFrame) -> float | None:
    """The underlying price stamped on the chain (median over rows), if any."""
    if "underlying_price" not in chain:
        return None
    prices = pd.to_numeric(chain["underlying_price"], errors="coerce").dropna()
    return round(float(prices.median()), 2) if not prices.empty else None


def smile_points(side: pd.DataFrame) -> dict[str, list[Any]]:
    """Strikes and implied vols of one side of a chain, missing vols as gaps."""
    iv = pd.to_numeric(side["iv"], errors="coerce")
    return {"strike": side["strike"].tolist(), "iv": [None if pd.isna(v) else float(v) for v in iv]}
