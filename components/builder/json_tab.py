"""The JSON tab: the same DSL (and input schema) as text, applied with the same validation as the canvas."""

from __future__ import annotations

import json

import streamlit as st

from components.builder.state import wkey
from components.text import escape
from services.authoring import edits as E
from services.authoring.checks import parse
from services.authoring.session import BuilderSession, Checked

UNREADABLE = "builder.json.unreadable"


def _apply(session: BuilderSession, dsl_key: str, schema_key: str) -> None:
    dsl, dsl_problems = parse(st.session_state[dsl_key])
    schema, schema_problems = parse(st.session_state[schema_key])
    if dsl_problems or schema_problems:
        st.session_state[UNREADABLE] = session.revision, [f"{where}: {p.message}" for where, found in (("Model", dsl_problems), ("Input schema", schema_problems)) for p in found]
        return
    st.session_state.pop(UNREADABLE, None)
    draft = E.replace_input_schema(E.replace_dsl(session.draft, dsl), schema)
    if draft != session.draft:
        session.replace(draft)


def json_tab(session: BuilderSession, checked: Checked) -> None:
    dsl_key, schema_key = wkey(session, "json", "dsl"), wkey(session, "json", "schema")
    with st.form(wkey(session, "json"), border=False):
        st.text_area("Model (DSL)", value=json.dumps(session.draft.dsl, indent=2), height=380, key=dsl_key)
        st.text_area("Input schema", value=json.dumps(session.draft.input_schema, indent=2), height=160, key=schema_key)
        st.form_submit_button("Apply", type="primary", help="The canvas, the lists and the errors follow; undo takes it back.",
                              on_click=_apply, args=(session, dsl_key, schema_key))
    revision, messages = st.session_state.get(UNREADABLE, (None, []))
    for message in messages if revision == session.revision else []:
        st.error(escape(message))
    if checked.problems:
        st.markdown(f"**{len(checked.problems)} error(s)**")
        for problem in checked.problems:
            st.markdown(f"- {escape(problem.path)} {escape(problem.code)}: {escape(problem.message)}" + (f" ({escape(problem.hint)})" if problem.hint else ""))
