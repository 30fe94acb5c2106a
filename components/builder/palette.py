"""The palette (in the sidebar): every operation by family, searchable by name and help text; each shows
its inputs and output and its help, and adding one places a step with its default parameters."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.builder.state import act
from components.text import escape
from services.authoring import edits as E
from services.authoring.palette import palette
from services.authoring.session import BuilderSession


def _add(session: BuilderSession, operation: str, on_added: Callable[[BuilderSession, str], None] | None) -> None:
    step_id = act(session, E.add_step, operation)
    if step_id:
        session.select(step_id)
        if on_added is not None:
            on_added(session, step_id)


def palette_panel(session: BuilderSession, families: tuple[str, ...] | None = None, key: str = "builder",
                  on_added: Callable[[BuilderSession, str], None] | None = None, title: str = "Add a step") -> None:
    """The palette; ``families`` keeps only those families (the code editor offers the fetch ones), ``key`` namespaces its widgets."""
    st.subheader(escape(title))
    query = st.text_input("Search operations", key=f"{key}.palette.query", placeholder="name or help text, e.g. z-score, spread",
                          help="Every word must appear in the operation's name or help.")
    groups = {family: cards for family, cards in palette(query).items() if families is None or family in families}
    if not groups:
        st.caption("No operation matches; try fewer words.")
    for family, cards in groups.items():
        with st.expander(escape(f"{family} ({len(cards)})"), expanded=bool(query.strip()) or families is not None):
            for card in cards:
                st.button(escape(card.name), key=f"{key}.add.{card.name}", icon=":material/add:", help=escape(card.doc) if card.doc else None, on_click=_add,
                          args=(session, card.name, on_added), width="stretch")
                st.caption(f"{escape(card.signature)} · {escape(card.summary)}")
