"""A model card for the registry, the labs and the workspace: name, description, tags, rating, runs, scope."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.text import escape

LAB_NAMES = {"econ": "Econ Lab", "derivatives": "Derivatives Lab", "both": "Both labs"}
MODEL_PAGE = "views/model.py"


def rating_text(average: float | None, count: int) -> str:
    """``★ 4.3 (12)`` or ``no ratings yet``."""
    if not count or average is None:
        return "no ratings yet"
    return f"★ {average:.1f} ({count})"


def facts_line(summary: Any) -> str:
    """Scope, difficulty, rating and recent runs on one line (no user text)."""
    parts = [
        LAB_NAMES.get(summary.lab_scope, summary.lab_scope),
        summary.difficulty,
        rating_text(summary.rating_avg, summary.rating_count),
        f"{summary.runs_30d:,} run{'s' if summary.runs_30d != 1 else ''} in 30 days",
    ]
    if summary.visibility != "public":
        parts.append(summary.visibility)
    return " · ".join(parts)


def tags_line(tags: tuple[str, ...] | list[str]) -> str:
    """Tags as grey badges, each escaped (a tag is user text: in a code span a blank line or a backtick
    would end the span and let what follows be read as markup)."""
    return " ".join(f":gray-badge[{escape(' '.join(str(t).split()))}]" for t in tags)


def model_card(summary: Any, key: str, query: dict[str, Any] | None = None, description_chars: int = 220) -> None:
    """One bordered card linking to ``/model?slug=...`` (plus any prefill ``query``)."""
    with st.container(border=True, key=f"card.{key}.{summary.slug}"):
        st.page_link(MODEL_PAGE, label=f"**{escape(summary.name)}**", query_params={"slug": summary.slug, **(query or {})}, icon=":material/insights:")
        text = summary.description or ""
        if len(text) > description_chars:
            text = text[: description_chars - 1].rstrip() + "…"
        st.markdown(escape(text))
        if summary.tags:
            st.markdown(tags_line(summary.tags))
        st.caption(escape(facts_line(summary)))


def card_grid(summaries: list[Any], key: str, columns: int = 3, query: dict[str, Any] | None = None) -> None:
    """Cards in rows of ``columns``."""
    for start in range(0, len(summaries), columns):
        cells = st.columns(columns)
        for cell, summary in zip(cells, summaries[start : start + columns], strict=False):
            with cell:
                model_card(summary, key, query)
