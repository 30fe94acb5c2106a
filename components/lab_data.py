"""Data the labs show around their models (series, chains), fetched through the services' data access.

``st.cache_data`` keeps these per process for 15 minutes: they are market data, the same for every
user, and the gateways below have their own TTL caches as well.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from components.session import get_services


def _data() -> Any:
    return get_services().data.fresh()


@st.cache_data(ttl=900, show_spinner=False)
def fred_catalogue() -> pd.DataFrame:
    """Series the data source can search (id, title, units, frequency)."""
    return _data().macro.search("", 200).value


@st.cache_data(ttl=900, show_spinner="Fetching series…")
def lab_series(series_ids: tuple[str, ...], start: date, end: date) -> tuple[dict[str, dict[str, list[Any]]], list[dict[str, Any]]]:
    """Each chosen FRED series on its own dates (``{id: {"x": [...], "y": [...]}}``), and the provenance.

    Series keep their own dates so a monthly series next to a daily one is a line, not scattered dots.
    Raises the gateway's DataError.
    """
    data = _data()
    out: dict[str, dict[str, list[Any]]] = {}
    for sid in series_ids:
        values = data.series(sid, start, end)
        out[sid] = {"x": [d.isoformat() for d in values.index.date], "y": [float(v) for v in values.to_numpy()]}
    return out, [p.to_json() for p in data.provenance]


@st.cache_data(ttl=300, show_spinner=False)
def expirations(symbol: str) -> list[date]:
    return _data().expirations(symbol)


@st.cache_data(ttl=300, show_spinner="Fetching the option chain…")
def option_chain(symbol: str, expiration: date | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    data = _data()
    chain = data.options_chain(symbol, expiration)
    return chain, [p.to_json() for p in data.provenance]


def spot_price(chain: pd.DataFrame) -> float | None:
    """The underlying price stamped on the chain (median over rows), if any."""
    prices = pd.to_numeric(chain.get("underlying_price"), errors="coerce").dropna() if "underlying_price" in chain else pd.Series(dtype=float)
    return round(float(prices.median()), 2) if not prices.empty else None


def smile_points(side: pd.DataFrame) -> dict[str, list[Any]]:
    """Strikes and implied vols of one side of a chain, missing vols as gaps."""
    iv = pd.to_numeric(side["iv"], errors="coerce")
    return {"strike": side["strike"].tolist(), "iv": [None if pd.isna(v) else float(v) for v in iv]}
