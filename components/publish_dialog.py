"""Publish a run as an artifact: title, summary, public or unlisted; then show its URL to copy."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.links import page_url
from components.session import get_services, require_user
from components.text import escape
from contracts.errors import AusterError

VISIBILITY_LABELS = {"public": "Public: listed in the gallery", "unlisted": "Unlisted: only people with the link"}


def artifact_url(slug: str) -> str:
    return page_url("artifact", {"slug": slug})


def show_artifact_link(slug: str, title: str) -> None:
    """The artifact's URL with a copy button (``st.code``) and a link to open it."""
    st.success(f"Published “{escape(title)}”.")
    st.code(artifact_url(slug), language=None)
    st.page_link("views/artifact.py", label="Open the artifact", query_params={"slug": slug}, icon=":material/open_in_new:")


def publish_form(run_id: str, slug: str, default_title: str) -> None:
    """The publishing form (inside the dialog, or inline where dialogs are not wanted)."""
    published = st.session_state.get(f"{slug}.published")
    if published and published.get("run_id") == run_id:
        show_artifact_link(published["slug"], published["title"])
        return
    with st.form(f"{slug}.publish_form", border=False):
        title = st.text_input("Title", value=default_title, max_chars=120, key=f"{slug}.publish.title")
        summary = st.text_area("Summary", max_chars=2000, key=f"{slug}.publish.summary", placeholder="What does this run show?")
        visibility = st.radio("Visibility", list(VISIBILITY_LABELS), format_func=VISIBILITY_LABELS.get, key=f"{slug}.publish.visibility")
        submitted = st.form_submit_button("Publish", type="primary")
    if not submitted:
        return
    if not title.strip():
        st.error("Give the artifact a title.")
        return
    user = require_user("publish")
    if user is None:
        return
    try:
        artifact = get_services().publishing.publish(user, run_id, title=title.strip(), summary=summary.strip(), visibility=visibility)
    except AusterError as exc:
        st.error(escape(exc))
        return
    st.session_state[f"{slug}.published"] = {"run_id": run_id, "slug": artifact.slug, "title": artifact.title}
    show_artifact_link(artifact.slug, artifact.title)


OPEN_SUFFIX = ".publish_open"


def _closed() -> None:
    """The user dismissed the dialog: stop reopening it on later reruns."""
    for key in [k for k in st.session_state if str(k).endswith(OPEN_SUFFIX)]:
        del st.session_state[key]


@st.dialog("Publish this run", width="medium", on_dismiss=_closed)
def _dialog(run_id: str, slug: str, default_title: str) -> None:
    publish_form(run_id, slug, default_title)


def open_publish_dialog(slug: str) -> None:
    """Ask for the dialog; it stays open across reruns until dismissed (``publish_dialog`` renders it)."""
    st.session_state[f"{slug}{OPEN_SUFFIX}"] = True


def close_publish_dialog(slug: str) -> None:
    st.session_state.pop(f"{slug}{OPEN_SUFFIX}", None)


def publish_dialog(run_id: str, slug: str, default_title: str) -> None:
    """Render the publishing dialog if it was opened for this model."""
    if st.session_state.get(f"{slug}{OPEN_SUFFIX}"):
        _dialog(run_id, slug, default_title)


def published_notice(slug: str, run_id: str | None) -> dict[str, Any] | None:
    """The artifact published from this run in this session, if any."""
    published = st.session_state.get(f"{slug}.published")
    return published if published and published.get("run_id") == run_id else None


def publish_controls(slug: str, run_id: str | None, default_title: str) -> None:
    """Under a run's results (model page and the labs' Models tabs): "Publish this run", or the link once published."""
    if not run_id:
        st.caption("This run could not be saved, so it cannot be published.")
        return
    published = published_notice(slug, run_id)
    if published:
        close_publish_dialog(slug)
        show_artifact_link(published["slug"], published["title"])
        return
    if st.button("Publish this run", icon=":material/publish:", key=f"{slug}.publish", type="primary"):
        open_publish_dialog(slug)
    publish_dialog(run_id, slug, default_title)
