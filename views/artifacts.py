"""/artifacts : the gallery of public artifacts."""

import streamlit as st

from components.artifact_view import artifact_card
from components.session import get_services
from components.text import escape
from contracts.errors import AusterError

st.title("Published artifacts")
st.caption("Runs that analysts published. Each one is stored as it was run: open it to see the numbers, then run the model yourself.")

try:
    artifacts = get_services().publishing.list_artifacts(None)
except AusterError as exc:
    st.error(escape(exc))
    st.stop()

if not artifacts:
    st.info("Nothing is published yet. Run a model and press Publish to share it here.")
for artifact in artifacts:
    artifact_card(artifact)
