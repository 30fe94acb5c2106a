"""Shareable links: the lab context and the model page's inputs live in the page's query string.

``/econ-lab?series_ids=DGS10,UNRATE&start=2000-01-01&end=2026-08-21&units=UNRATE:chg`` and
``/derivatives-lab?symbol=AAPL&expiration=2026-08-28`` open the labs on that context; as the analyst
changes the sidebar, the address follows, so copying it shares the view. A link that names something
the data does not have says so (``seed_widget`` returns the sentence) instead of quietly showing the
default. ``/model?slug=...&start=...`` names the inputs of the run on screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import streamlit as st


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_list(text: str) -> list[str]:
    """``"dgs10, unrate"`` -> ``["DGS10", "UNRATE"]``."""
    return [s.strip().upper() for s in text.split(",") if s.strip()]


def parse_units(text: str) -> dict[str, str]:
    """``"UNRATE:chg,CPIAUCSL:pc1"`` -> ``{"UNRATE": "chg", "CPIAUCSL": "pc1"}``."""
    pairs = (part.split(":", 1) for part in text.split(",") if ":" in part)
    return {sid.strip().upper(): code.strip().lower() for sid, code in pairs if sid.strip() and code.strip()}


def units_text(units: Mapping[str, str]) -> str:
    return ",".join(f"{sid}:{code}" for sid, code in units.items() if code and code != "lin")


def seed_widget(
    key: str, param: str, parse: Callable[[str], Any], allowed: Iterable[Any] | None = None, what: str = "value", fallback: str = "the default"
) -> str | None:
    """Before the widget is drawn for the first time, take its value from the query string; return a
    sentence when the link names something that is not offered (it is left out, or the fallback shown)."""
    if key in st.session_state or param not in st.query_params:
        return None
    raw = st.query_params[param]
    value = parse(raw)
    if value is None or value == []:
        return f"The link's {param} '{raw}' is not a {what}; showing {fallback}." if raw.strip() else None
    if allowed is not None:
        options = list(allowed)
        if isinstance(value, list):
            unknown = [v for v in value if v not in options]
            value = [v for v in value if v in options]
            message = f"The link names {what} {', '.join(map(str, unknown))}, which {'is' if len(unknown) == 1 else 'are'} not available here; left out." if unknown else None
            if value:
                st.session_state[key] = value
            return message
        if value not in options:
            return f"The link asks for {what} {value}, which is not available here; showing {fallback}."
    st.session_state[key] = value
    return None


def sync_query(**values: Any) -> None:
    """Write the current context back to the address bar (dates ISO, lists comma-separated)."""
    for name, value in values.items():
        if value is None or value == [] or value == "":
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


def run_query(slug: str, inputs: Mapping[str, Any], version: int | None = None) -> None:
    """The model page's address: its slug (and the earlier ``version`` shown) and the inputs of the run shown
    (blank inputs left out)."""
    wanted = {"slug": slug} | ({"version": str(version)} if version is not None else {})
    for name, value in inputs.items():
        if value is None or value == "" or isinstance(value, dict):
            continue
        if name in ("slug", "version"):
            continue
        wanted[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
