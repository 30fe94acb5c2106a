"""The code editor's fetch steps, edited with the builder's palette and step editor (issue 15).

A code model's DSL runs its fetch steps on the trusted side and hands their values to the ``code`` step.
Here those steps are added from the builder's palette (only the data-fetch family is offered), and edited
and removed with the builder's step editor (parameters as widgets, bound to run inputs or not, with their
errors and a preview), over the editor's builder session (``components.code_session``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.builder.palette import palette_panel
from components.builder.state import act, show_notice
from components.builder.step_editor import step_editor
from components.text import escape
from services.authoring import edits as E
from services.authoring import graph
from services.authoring.palette import family_of
from services.authoring.session import BuilderSession

FETCH = "fetch"


def fetch_step_ids(session: BuilderSession) -> list[str]:
    ids = graph.step_ids(session.draft.dsl)
    return [sid for sid in ids if family_of(str(graph.find(session.draft.dsl, sid)[1].get("operation"))) == FETCH]


def code_step_ids(session: BuilderSession) -> list[str]:
    return [sid for sid in graph.step_ids(session.draft.dsl) if graph.find(session.draft.dsl, sid)[1].get("operation") == "code"]


def _added(session: BuilderSession, step_id: str) -> None:
    """A new fetch step feeds the code step (when there is one), so ``run(inputs)`` gets it under its id."""
    session.select(step_id)
    codes = code_step_ids(session)
    if len(codes) == 1:
        act(session, E.connect, step_id, codes[0])


def _select(session: BuilderSession) -> None:
    session.select(st.session_state["editor.fetch.select"])


def fetch_steps_panel(svc: Any, user: Any, session: BuilderSession) -> None:
    """Fetch steps through the builder's palette (on the left) and step editor (on the right)."""
    show_notice(session)
    ids = fetch_step_ids(session)
    codes = code_step_ids(session)
    fed = set(graph.inputs_of(graph.find(session.draft.dsl, codes[0])[1])) if len(codes) == 1 else set()
    st.caption("Fetch steps run on the trusted side before your code; run(inputs) gets each value under its step id"
               + (" (those feeding the code step)." if codes else "."))
    left, right = st.columns([2, 3], gap="medium")
    with left:
        palette_panel(session, families=(FETCH,), key="editor", on_added=_added, title="Add a fetch step")
    with right:
        if not ids:
            st.info("No fetch step yet: add one from the list on the left.", icon=":material/download:")
            return
        if session.selected not in ids:
            session.select(ids[0])
        st.session_state["editor.fetch.select"] = session.selected
        st.selectbox("Fetch step to edit", ids, key="editor.fetch.select", on_change=_select, args=(session,),
                     format_func=lambda sid: sid + ("" if not codes or sid in fed else " (not read by the code step)"))
        step_editor(svc, user, session, session.check())
        if codes and session.selected not in fed:
            st.caption(escape(f"'{session.selected}' does not feed the code step '{codes[0]}'; connect it in the JSON (advanced) tab to read it in run(inputs)."))
