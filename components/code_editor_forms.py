"""The code editor's input schema and output mapping, edited with the builder's inputs editor and output
mapper over the editor's builder session; the JSON view as the advanced fallback; and one line above the
tabs counting the draft's errors by tab (each is shown on its field) with those no form shows.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.builder.inputs_editor import inputs_editor
from components.builder.outputs_editor import outputs_editor
from components.code_fetch_steps import fetch_step_ids
from components.code_session import DSL_TEXT, SCHEMA_TEXT
from components.text import escape
from services.authoring.session import BuilderSession, Checked

KEY = "editor"  # the builder components' own widgets on this page are under editor.*
UNREADABLE = "The JSON (advanced) tab does not hold a valid JSON object right now; fix it there (or undo your change) to use this form."


def status_line(session: BuilderSession | None, checked: Checked | None) -> None:
    """How many errors the draft has and in which tab; those no form shows (the code step, the document) as sentences."""
    if session is None or checked is None:
        st.warning("The model's JSON is not a valid JSON object: the fetch steps, inputs and outputs forms wait until it is fixed in the JSON (advanced) tab.",
                   icon=":material/data_object:")
        return
    if not checked.count:
        return
    fetch = set(fetch_step_ids(session))
    tabs = {"Fetch steps": 0, "Input schema": 0, "Outputs": 0}
    elsewhere = []
    for item in checked.located:
        if item.area == "step" and item.key in fetch:
            tabs["Fetch steps"] += 1
        elif item.area == "input":
            tabs["Input schema"] += 1
        elif item.area == "output" or (item.area == "document" and item.field.startswith("outputs")):
            tabs["Outputs"] += 1
        else:
            elsewhere.append(item)
    where = ", ".join(f"{tab}: {count}" for tab, count in tabs.items() if count)
    count = checked.count
    st.error(escape(f"{count} error{'s' if count != 1 else ''} to fix before saving" + (f", each shown on its field ({where})" if where else "") + "."),
             icon=":material/error:")
    for item in elsewhere:
        place = f"step '{item.key}'" + (f", {item.field}" if item.field else "") if item.area == "step" else item.field or "the model"
        st.error(escape(f"{place}: {item.text}"))


def inputs_panel(session: BuilderSession | None, checked: Checked | None) -> None:
    if session is None or checked is None:
        st.caption(escape(UNREADABLE))
        return
    inputs_editor(session, checked, key=KEY,
                  caption="The run form's fields, in order. run(inputs) gets their values under 'args'; a fetch step's parameter can take one (in its step editor).")


def outputs_panel(svc: Any, user: Any, session: BuilderSession | None, checked: Checked | None) -> None:
    if session is None or checked is None:
        st.caption(escape(UNREADABLE))
        return
    outputs_editor(svc, user, session, checked, key=KEY, instead_of_preview="To see them, test-run the model on sample data (below the tabs).")


def json_panel() -> None:
    """The DSL and the input schema as JSON: the same draft as the forms, kept in step both ways."""
    st.caption("The same draft as the forms, as JSON: a change here reaches the forms when you leave the field, and a change made with a form shows here.")
    st.text_area("The model's DSL: fetch steps run on the trusted side, the 'code' step runs your code, the outputs say what a run shows", key=DSL_TEXT, height=320)
    st.text_area("Input schema (the run form's fields)", key=SCHEMA_TEXT, height=200)
