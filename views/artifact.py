"""/artifact?slug= : a published run, rendered from what was stored; works for anonymous visitors."""

import streamlit as st

from components.artifact_view import artifact_view
from components.discussion import discussion
from components.session import browser_key, current_user, get_services
from components.text import escape
from contracts.errors import AusterError, NotFoundError

slug = st.query_params.get("slug", "").strip()
if not slug:
    st.title("Artifact")
    st.info("No artifact was named in the link. Browse the published artifacts instead.")
    st.page_link("views/artifacts.py", label="Published artifacts", icon=":material/collections_bookmark:")
    st.stop()

# Count one view per artifact per browser session, not one per rerun.
viewed = st.session_state.setdefault("auster.viewed_artifacts", set())
try:
    artifact = get_services().publishing.get_artifact(slug, current_user(), count_view=slug not in viewed, browser_key=browser_key())
except NotFoundError:
    st.title("Artifact not found")
    st.info("There is no published artifact at this link. It may have been mistyped, or it is not shared with you.")
    st.page_link("views/artifacts.py", label="Browse published artifacts", icon=":material/collections_bookmark:")
    st.stop()
except AusterError as exc:
    st.error(escape(exc))
    st.stop()
viewed.add(slug)
artifact_view(artifact)
st.subheader("Discussion")
discussion("artifact", artifact.slug)
