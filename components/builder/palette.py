"""The palette (in the sidebar): every operation by family, searchable by name and help text; each shows
its inputs and output and its help, and adding one places a step with its default parameters."""

from __future__ import annotations

import streamlit as st

from components.builder.state import act
from components.text import escape
from services.authoring import edits as E
from services.authoring.palette import palette
from services.authoring.session import BuilderSession


def _add(session: BuilderSession, operation: str) -> None:
    step_id = act(session, E.add_step, operation)
    if step_id:
        session.select(step_id)


def palette_panel(session: BuilderSession) -> None:
    st.subheader("Add a step")
    query = st.text_input("Search operations", key="builder.palette.query", placeholder="name or help text, e.g. z-score, spread",
                          help="Every word must appear in the operation's name or help.")
    groups = palette(query)
    if not groups:
        st.caption("No operation matches; try fewer words.")
    for family, cards in groups.items():
        with st.expander(escape(f"{family} ({len(cards)})"), expanded=bool(query.strip())):
            for card in cards:
                st.button(escape(card.name), key=f"builder.add.{card.name}", icon=":material/add:", help=escape(card.doc) if card.doc else None, on_click=_add, args=(session, card.name), width="stretch")
                st.caption(f"{escape(card.signature)} · {escape(card.summary)}")
