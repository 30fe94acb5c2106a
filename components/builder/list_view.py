"""The Steps list: every action of the canvas with the keyboard alone (select, add, connect, disconnect,
delete with a choice for the steps that use it), each a small form: Tab to move, Enter to submit."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from components.builder.state import act
from services.authoring import edits as E
from services.authoring import graph
from services.authoring.palette import all_cards
from services.authoring.problems import by_step
from services.authoring.session import BuilderSession, Checked


def _select(session: BuilderSession) -> None:
    session.select(st.session_state["builder.list.select"])


def _add(session: BuilderSession) -> None:
    operation, new_id = st.session_state["builder.list.add.op"], st.session_state["builder.list.add.id"].strip()
    if operation:
        step_id = act(session, E.add_step, operation, new_id or None)
        if step_id:
            session.select(step_id)


def _connect(session: BuilderSession) -> None:
    act(session, E.connect, st.session_state["builder.list.connect.from"], st.session_state["builder.list.connect.to"])


def _disconnect(session: BuilderSession) -> None:
    chosen = st.session_state["builder.list.disconnect.edge"]
    if chosen:
        source, rest = chosen.split("->", 1)
        act(session, E.disconnect, source, rest.split("#", 1)[0])


def _delete(session: BuilderSession) -> None:
    act(session, E.remove_step, st.session_state["builder.list.delete.step"], st.session_state["builder.list.delete.choice"])


def list_view(session: BuilderSession, checked: Checked) -> None:
    ids = graph.step_ids(session.draft.dsl)
    problems = by_step(list(checked.located))
    if ids:
        rows = [{"step": sid, "operation": graph.find(session.draft.dsl, sid)[1].get("operation"), "output": checked.types.get(sid, "?"),
                 "inputs": ", ".join(graph.inputs_of(graph.find(session.draft.dsl, sid)[1])), "errors": len(problems.get(sid, []))} for sid in ids]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.session_state["builder.list.select"] = session.selected if session.selected in ids else None  # follows a click on the canvas too
        st.selectbox("Select a step to edit", ids, key="builder.list.select", on_change=_select, args=(session,), placeholder="choose a step",
                     help="The editor opens on the right.")
    cards = {c.name: c for c in all_cards()}
    with st.form("builder.list.add", border=True):
        st.markdown("**Add a step**")
        st.selectbox("Operation", list(cards), index=None, format_func=lambda n: f"{n} ({cards[n].family}: {cards[n].signature})",
                     placeholder="type to search", key="builder.list.add.op")
        st.text_input("Step id (optional)", key="builder.list.add.id", max_chars=40)
        st.form_submit_button("Add step", on_click=_add, args=(session,))
    if len(ids) >= 2:
        with st.form("builder.list.connect", border=True):
            st.markdown("**Connect: use one step as an input of another**")
            st.selectbox("From (its output)", ids, key="builder.list.connect.from")
            st.selectbox("Into (as its next input)", ids, index=1, key="builder.list.connect.to")
            st.form_submit_button("Connect", on_click=_connect, args=(session,))
    edges = graph.edges(session.draft.dsl)
    if edges:
        labels = {f"{s}->{t}#{p}": f"{s} → {t} (input {p + 1})" for s, t, p in edges}
        with st.form("builder.list.disconnect", border=True):
            st.markdown("**Disconnect**")
            st.selectbox("Edge", list(labels), format_func=labels.get, key="builder.list.disconnect.edge")
            st.form_submit_button("Disconnect", on_click=_disconnect, args=(session,))
    if ids:
        with st.form("builder.list.delete", border=True):
            st.markdown("**Delete a step**")
            st.selectbox("Step", ids, index=ids.index(session.selected) if session.selected in ids else 0, key="builder.list.delete.step")
            st.radio("The steps that use it", list(E.DEPENDENT_CHOICES), format_func=E.DEPENDENT_CHOICES.get, key="builder.list.delete.choice")
            st.form_submit_button("Delete step", on_click=_delete, args=(session,))
