"""Shareable lab links: the lab context lives in the page's query string (canonical names).

``/econ-lab?series_ids=DGS10,UNRATE&start=2000-01-01&end=2026-08-21`` and
``/derivatives-lab?symbol=AAPL&expiration=2026-08-28`` open the labs on that context; as the analyst
changes the sidebar, the address follows, so copying it shares the view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import streamlit as st


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def seed_widget(key: str, param: str, parse: Callable[[str], Any], allowed: Iterable[Any] | None = None) -> None:
    """Before the widget is drawn for the first time, take its value from the query string (if valid)."""
    if key in st.session_state or param not in st.query_params:
        return
    value = parse(st.query_params[param])
    if value is None or value == []:
        return
    if allowed is not None:
        options = list(allowed)
        if isinstance(value, list):
            value = [v for v in value if v in options]
            if not value:
                return
        elif value not in options:
            return
    st.session_state[key] = value


def sync_query(**values: Any) -> None:
    """Write the current context back to the address bar (dates ISO, lists comma-separated)."""
    for name, value in values.items():
        if value is None or value == []:
            st.query_params.pop(name, None)
            continue
        if isinstance(value, date):
            text = value.isoformat()
        elif isinstance(value, (list, tuple)):
            text = ",".join(map(str, value))
        else:
            text = str(value)
        if st.query_params.get(name) != text:
            st.query_params[name] = text
