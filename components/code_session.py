"""The code editor's builder session: its DSL and input schema as one ``BuilderSession``, kept in step with the
JSON texts of the advanced view (``editor.dsl``, ``editor.schema``) both ways on every run.

The forms (the fetch steps' palette and step editor, the inputs editor, the output mapper) edit the session;
the JSON view edits the texts. ``synced_session`` is called once per run, before any of them is drawn, so both
show the same draft and what is saved or test-run is that draft.
"""

from __future__ import annotations

import json

import streamlit as st

from services.authoring.document import Draft
from services.authoring.session import BuilderSession

SESSION = "editor.builder"
SYNCED = "editor.builder.synced"  # the JSON texts and the session's revision when they last agreed
DSL_TEXT, SCHEMA_TEXT = "editor.dsl", "editor.schema"


def forget() -> None:
    """Drop the builder session (a new draft was loaded into the JSON texts)."""
    st.session_state.pop(SESSION, None)
    st.session_state.pop(SYNCED, None)


def synced_session() -> BuilderSession | None:
    """The builder session over the editor's DSL and input schema, after this run's edits on either side.

    JSON typed by hand replaces the session's draft; an edit made with a form (its callback ran before this)
    is written back into the JSON texts. None while either text is not a JSON object.
    """
    texts = st.session_state[DSL_TEXT], st.session_state[SCHEMA_TEXT]
    session: BuilderSession | None = st.session_state.get(SESSION)
    synced = st.session_state.get(SYNCED)
    if session is None or synced is None or texts != synced[0]:
        try:
            dsl, schema = json.loads(texts[0]), json.loads(texts[1])
        except ValueError:
            return None
        if not isinstance(dsl, dict) or not isinstance(schema, dict):
            return None
        draft = Draft(dsl=dsl, input_schema=schema)
        if session is None:
            session = BuilderSession("editor", draft)
            st.session_state[SESSION] = session
        else:
            session.replace(draft)
    elif session.revision != synced[1]:
        texts = json.dumps(session.draft.dsl, indent=2), json.dumps(session.draft.input_schema, indent=2)
        st.session_state[DSL_TEXT], st.session_state[SCHEMA_TEXT] = texts
    st.session_state[SYNCED] = (texts, session.revision)
    return session
