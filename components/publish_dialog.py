"""Publish a run as an artifact: title, summary, public or unlisted; then show its URL to copy."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from components.session import get_services, require_user
from components.text import escape
from contracts.errors import AusterError

VISIBILITY_LABELS = {"public": "Public: listed in the gallery", "unlisted": "Unlisted: only people with the link"}


def app_base_url() -> str:
    """The app's address as the browser sees it (``st.context.url``), for links people can share."""
    url = getattr(st.context, "url", None) or ""
    base_path = (st.get_option("server.baseUrlPath") or "").strip("/")
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        root = f"{parts.scheme}://{parts.netloc}"
    else:
        root = f"http://localhost:{st.get_option('server.port') or 8501}"
    return f"{root}/{base_path}" if base_path else root


def artifact_url(slug: str) -> str:
    return f"{app_base_url()}/artifact?{urlencode({'slug': slug})}"


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
        st.error(str(exc))
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
