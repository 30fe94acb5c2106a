"""The labs' data (series, chains), through the labs service, cached per process at the page boundary.

``st.cache_data`` keeps these for the gateways' own freshness (15 minutes for series, 5 for chains):
they are market data, the same for every user.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from components.session import get_services
from services.labs import LabSeries


@st.cache_data(ttl=900, show_spinner=False)
def fred_catalogue() -> pd.DataFrame:
    """Series the data source can search (id, title, units, frequency, observation_start, observation_end)."""
    return get_services().labs.catalogue()


@st.cache_data(ttl=900, show_spinner=False)
def observation_span(series_id: str) -> tuple[date | None, date | None]:
    """The first and last observations' dates of a series outside the catalogue (typed in with live data)."""
    return get_services().labs.observation_span(series_id)


@st.cache_data(ttl=900, show_spinner="Fetching series…")
def lab_series(series_ids: tuple[str, ...], start: date, end: date, units: tuple[tuple[str, str], ...] = ()) -> LabSeries:
    """Each chosen FRED series on its own dates and in its chosen units, its provenance, and a sentence per series that failed."""
    return get_services().labs.series(series_ids, start, end, dict(units))


@st.cache_data(ttl=300, show_spinner=False)
def expirations(symbol: str) -> list[date]:
    return get_services().labs.expirations(symbol)


@st.cache_data(ttl=300, show_spinner="Fetching the option chain…")
def option_chain(symbol: str, expiration: date | None) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One expiration's chain with greeks on every contract (the vendor's, else the engine's) and its provenance."""
    return get_services().labs.chain_with_greeks(symbol, expiration)


@st.cache_data(ttl=900, show_spinner=False)
def symbols() -> list[str]:
    return get_services().labs.symbols()
