"""What the labs show around their models: FRED series over a date range, option chains and smiles,
and which data is in use. No Streamlit; the pages cache these calls at their boundary.

Every fetch goes through a fresh ``DataAccess`` and returns its provenance with the values, so the
labs say where each number came from, as model runs do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from contracts.dsl import InputSchema
from contracts.errors import AusterError, DataError
from engine.data import DataAccess
from engine.executor import run_values
from engine.nber import PEAKS_AND_TROUGHS
from gateways.sample import CHAIN_FILES
from gateways.sample import as_of_date as sample_as_of_date
from services.config import Settings
from services.data import describe_data

# Symbols offered in the Derivatives Lab when live data is configured (any ticker may be typed).
LIVE_SYMBOLS = ("SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "AMZN", "TSLA")
# The transforms FRED's own graph offers for one series (FRED's ``units`` codes), and how each reads.
SERIES_UNITS: dict[str, str] = {
    "lin": "Level",
    "chg": "Change",
    "pch": "Percent change",
    "pc1": "Percent change from a year ago (YoY)",
    "log": "Natural log",
}
GREEK_NAMES = ("delta", "gamma", "theta", "vega")
# The engine's own options maths over one chain: BSM greeks at the vendor's volatility where it has one.
_GREEKS_DSL: dict[str, Any] = {
    "version": "1.0",
    "steps": [
        {"id": "chain", "operation": "fetch_options_chain", "params": {"symbol": "$symbol", "expiration": "$expiration"}},
        {"id": "vendor_iv", "operation": "greeks", "inputs": ["chain"], "params": {"use_vendor_iv": True}},
        {"id": "mid_iv", "operation": "greeks", "inputs": ["chain"]},
    ],
    "outputs": {"tables": [{"id": "greeks", "source": "vendor_iv"}]},
}
_GREEKS_INPUTS: dict[str, Any] = {"fields": [{"name": "symbol", "type": "symbol", "required": True}, {"name": "expiration", "type": "expiration"}]}


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
        """Series the macro provider can search: id, title, units, frequency and the first and last observations' dates."""
        frame = self._data().macro.search("", 200).value.copy()
        missing = [c for c in ("observation_start", "observation_end") if c not in frame.columns]
        if missing:
            spans = [self.observation_span(sid) for sid in frame["id"]]
            for column in missing:
                frame[column] = [span[0 if column == "observation_start" else 1] for span in spans]
        for column in ("observation_start", "observation_end"):
            frame[column] = [_as_date(v) for v in frame[column]]
        return frame

    def observation_span(self, series_id: str) -> tuple[date | None, date | None]:
        """The dates of a series' first and last observations (``None`` where the provider does not know the series)."""
        try:
            info = self._data().series_info(series_id)
        except DataError:
            return None, None
        return _as_date(info.get("observation_start")), _as_date(info.get("observation_end"))

    def series(self, series_ids: Iterable[str], start: date, end: date, units: Mapping[str, str] | None = None) -> LabSeries:
        """Each series on its own dates (``{id: {"x": [...], "y": [...]}}``) in its chosen FRED ``units``
        (``lin`` level, ``chg`` change, ``pch`` percent change, ``pc1`` year over year, ``log``), with
        the provenance of each fetch; a series that fails is reported on its own."""
        out = LabSeries()
        for sid in series_ids:
            data = self._data()
            code = (units or {}).get(sid) or "lin"
            if code not in SERIES_UNITS:
                out.errors[sid] = f"{sid}: the transform '{code}' is not one of {', '.join(SERIES_UNITS)}."
                continue
            try:
                values = data.series(sid, start, end, units=None if code == "lin" else code).dropna()
            except DataError as exc:
                out.errors[sid] = str(exc)
                continue
            if values.empty:
                out.errors[sid] = f"{sid} has no observations between {start} and {end} once transformed; pick a wider range."
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

    def chain_with_greeks(self, symbol: str, expiration: date | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """The chain with delta, gamma, theta and vega on every contract that has a volatility: the
        vendor's where it gives them, else the engine's Black-Scholes-Merton greeks (``greeks``
        operation) at the vendor's implied volatility, or at the one solved from the mid when the vendor
        has none. ``greeks_source`` says which (``vendor``, ``engine`` or empty); ``iv`` is filled the same way."""
        chain, provenance = self.chain(symbol, expiration)
        data = self._data()
        inputs = {"symbol": symbol, "expiration": expiration.isoformat() if expiration else None}
        values = run_values(_GREEKS_DSL, inputs, data, input_schema=_GREEKS_INPUTS)
        return merge_greeks(chain, values["vendor_iv"], values["mid_iv"]), provenance

    def listed_expiration_problems(self, schema: InputSchema, inputs: Mapping[str, Any]) -> dict[str, str]:
        """Per field, a sentence for an expiration the symbol's chain does not list (or a symbol with no chain)."""
        problems: dict[str, str] = {}
        symbol_field = next((f for f in schema.fields if f.type == "symbol"), None)
        symbol = str(inputs.get(symbol_field.name) or "").strip().upper() if symbol_field else ""
        for field_ in schema.fields:
            wanted = inputs.get(field_.name)
            if field_.type != "expiration" or wanted in (None, "") or not symbol or symbol_field is None:
                continue
            try:
                listed = self.expirations(symbol)
            except AusterError as exc:
                problems[symbol_field.name] = str(exc)
                continue
            day = _as_date(wanted)
            if day is not None and day not in listed:
                problems[field_.name] = unlisted_sentence(symbol, day, listed)
        return problems


def recession_spans(start: date, end: date) -> list[list[str]]:
    """NBER recessions overlapping ``[start, end]`` as ``[first month, month after the trough)`` ISO date pairs,
    the spans a ``recession_indicator`` output carries (FRED's USREC convention: from the month after the peak
    through the trough month), for shading a lab chart."""
    spans: list[list[str]] = []
    for peak, trough in PEAKS_AND_TROUGHS:
        first = (pd.Period(peak, "M") + 1).to_timestamp().date()
        after = (pd.Period(trough, "M") + 1).to_timestamp().date()
        if first <= end and after > start:
            spans.append([first.isoformat(), after.isoformat()])
    return spans


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return pd.Timestamp(str(value)).date()
    except (ValueError, TypeError):
        return None


def unlisted_sentence(symbol: str, day: date, listed: list[date]) -> str:
    """``SPY has no options expiring 2026-05-16; the nearest listed are 2026-05-15 and 2026-05-18.``"""
    nearest = sorted(listed, key=lambda d: abs((d - day).days))[:2]
    choice = " and ".join(d.isoformat() for d in sorted(nearest))
    return f"{symbol} has no options expiring {day.isoformat()}; the nearest listed " + ("is " if len(nearest) == 1 else "are ") + f"{choice}."


def merge_greeks(chain: pd.DataFrame, at_vendor_iv: pd.DataFrame, at_mid_iv: pd.DataFrame) -> pd.DataFrame:
    """Vendor greeks where present, else the engine's (at the vendor's volatility, else at the mid's)."""
    out = chain.reset_index(drop=True).copy()
    vendor_iv = pd.to_numeric(out.get("iv"), errors="coerce") if "iv" in out else pd.Series(np.nan, index=out.index)
    mid_iv = at_mid_iv["bs_iv"].to_numpy(dtype=float)
    has_vendor = np.ones(len(out), dtype=bool)
    for name in GREEK_NAMES:
        has_vendor &= pd.to_numeric(out[name], errors="coerce").notna().to_numpy() if name in out else np.zeros(len(out), dtype=bool)
    engine_values = {}
    for name in GREEK_NAMES:
        vendor_vol = at_vendor_iv[f"bs_{name}"].to_numpy(dtype=float)
        engine_values[name] = np.where(np.isfinite(vendor_vol), vendor_vol, at_mid_iv[f"bs_{name}"].to_numpy(dtype=float))
    computed = ~has_vendor & np.isfinite(engine_values["delta"])
    for name in GREEK_NAMES:
        current = pd.to_numeric(out[name], errors="coerce").to_numpy(dtype=float) if name in out else np.full(len(out), np.nan)
        out[name] = np.where(computed, engine_values[name], current)
    out["iv"] = np.where(vendor_iv.notna().to_numpy(), vendor_iv.to_numpy(dtype=float), mid_iv)
    out["greeks_source"] = np.where(has_vendor, "vendor", np.where(computed, "engine", ""))
    return out


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
