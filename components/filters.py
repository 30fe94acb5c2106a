"""Registry filters: text search (as you type), lab scope, tags, difficulty and sort, all bound to the
address so a filtered view can be shared: ``/?q=spread&lab=econ&difficulty=basic&sort=newest&tags=rates``."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from components.lab_url import sync_query
from contracts.rules import DIFFICULTIES as RULE_DIFFICULTIES

SORT_LABELS = {"popular": "Most run", "top_rated": "Top rated", "newest": "Newest"}
SCOPE_LABELS = {"": "All labs", "econ": "Econ Lab", "derivatives": "Derivatives Lab"}
DIFFICULTIES = ["", *RULE_DIFFICULTIES]
# Widget keys double as the query parameter names (``bind="query-params"``).
QUERY_KEYS = ("q", "lab", "difficulty", "sort", "tags")


@dataclass(frozen=True)
class RegistryFilters:
    text: str = ""
    lab_scope: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    difficulty: str | None = None
    sort: str = "popular"


def _seed(key: str, options: list[str], many: bool = False) -> None:
    """A filter's first value comes from the address (``lab=econ``, ``tags=rates,inflation``) when it names an option."""
    if key in st.session_state or key not in st.query_params:
        return
    if many:
        st.session_state[key] = [t for t in st.query_params.get_all(key) for t in t.split(",") if t in options]
    elif st.query_params[key] in options:
        st.session_state[key] = st.query_params[key]


def registry_filters(all_tags: list[str]) -> RegistryFilters:
    """Render the filter bar; every filter lives in the URL and the search applies while typing."""
    _seed("lab", list(SCOPE_LABELS))
    _seed("difficulty", DIFFICULTIES)
    _seed("sort", list(SORT_LABELS))
    _seed("tags", all_tags, many=True)
    top = st.columns([3, 1.2, 1.2, 1.2])
    with top[0]:
        text = st.text_input("Search models", key="q", placeholder="yield curve, inflation, expected move…", live=True, bind="query-params", type="search")
    with top[1]:
        scope = st.selectbox("Lab", list(SCOPE_LABELS), format_func=SCOPE_LABELS.get, key="lab")
    with top[2]:
        difficulty = st.selectbox("Difficulty", DIFFICULTIES, format_func=lambda d: d or "Any difficulty", key="difficulty")
    with top[3]:
        sort = st.selectbox("Sort by", list(SORT_LABELS), format_func=SORT_LABELS.get, key="sort")
    tags = st.multiselect("Tags", all_tags, key="tags", placeholder="Any tag")
    sync_query(lab=scope or None, difficulty=difficulty or None, sort=None if sort == "popular" else sort, tags=list(tags))
    return RegistryFilters(text=(text or "").strip(), lab_scope=scope or None, tags=tuple(tags), difficulty=difficulty or None, sort=sort or "popular")
