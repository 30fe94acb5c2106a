"""The JSON tab: the same DSL (and input schema) as text, applied with the same validation as the canvas."""

from __future__ import annotations

import json

import streamlit as st

from components.builder.state import wkey
from components.text import escape
from services.authoring import edits as E
from services.authoring.checks import parse
from services.authoring.session import BuilderSession, Checked


def json_tab(session: BuilderSession, checked: Checked) -> None:
    with st.form(wkey(session, "json"), border=False):
        dsl_text = st.text_area("Model (DSL)", value=json.dumps(session.draft.dsl, indent=2), height=380, key=wkey(session, "json", "dsl"))
        schema_text = st.text_area("Input schema", value=json.dumps(session.draft.input_schema, indent=2), height=160, key=wkey(session, "json", "schema"))
        applied = st.form_submit_button("Apply", type="primary", help="The canvas, the lists and the errors follow; undo takes it back.")
    if applied:
        dsl, dsl_problems = parse(dsl_text)
        schema, schema_problems = parse(schema_text)
        if dsl_problems or schema_problems:
            for where, problems in (("Model", dsl_problems), ("Input schema", schema_problems)):
                for problem in problems:
                    st.error(f"{where}: {escape(problem.message)}")
        else:
            draft = E.replace_input_schema(E.replace_dsl(session.draft, dsl), schema)
            if draft != session.draft:
                session.replace(draft)
                st.rerun()
    if checked.problems:
        st.markdown(f"**{len(checked.problems)} error(s)**")
        for problem in checked.problems:
            st.markdown(f"- {escape(problem.path)} {escape(problem.code)}: {escape(problem.message)}" + (f" ({escape(problem.hint)})" if problem.hint else ""))
