"""Registry filters: text search, lab scope, tags, difficulty and sort, bound to the URL's query string."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from contracts.rules import DIFFICULTIES as RULE_DIFFICULTIES

SORT_LABELS = {"popular": "Most run", "top_rated": "Top rated", "newest": "Newest"}
SCOPE_LABELS = {"": "All labs", "econ": "Econ Lab", "derivatives": "Derivatives Lab"}
DIFFICULTIES = ["", *RULE_DIFFICULTIES]


@dataclass(frozen=True)
class RegistryFilters:
    text: str = ""
    lab_scope: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    difficulty: str | None = None
    sort: str = "popular"


def registry_filters(all_tags: list[str], key: str = "registry") -> RegistryFilters:
    """Render the filter bar; the initial text comes from ``?q=`` so searches can be linked."""
    if f"{key}.text" not in st.session_state:
        st.session_state[f"{key}.text"] = st.query_params.get("q", "")
    top = st.columns([3, 1.2, 1.2, 1.2])
    with top[0]:
        text = st.text_input("Search models", key=f"{key}.text", placeholder="yield curve, inflation, expected move…")
    with top[1]:
        scope = st.selectbox("Lab", list(SCOPE_LABELS), format_func=SCOPE_LABELS.get, key=f"{key}.scope")
    with top[2]:
        difficulty = st.selectbox("Difficulty", DIFFICULTIES, format_func=lambda d: d or "Any difficulty", key=f"{key}.difficulty")
    with top[3]:
        sort = st.selectbox("Sort by", list(SORT_LABELS), format_func=SORT_LABELS.get, key=f"{key}.sort")
    tags = st.multiselect("Tags", all_tags, key=f"{key}.tags", placeholder="Any tag")
    return RegistryFilters(text=text.strip(), lab_scope=scope or None, tags=tuple(tags), difficulty=difficulty or None, sort=sort)
