"""Code models on their pages: the code itself, its review status and every review decision (issue 15)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.session import current_user, get_services
from components.text import escape
from contracts.errors import AusterError

LANGUAGE = {"python": "python", "js": "javascript"}
STATUS = {
    "pending": ("Waiting for review", ":material/hourglass_top:"),
    "approved": ("Approved", ":material/verified:"),
    "rejected": ("Rejected", ":material/block:"),
}


def review_badge(version: Any) -> None:
    """One line under the title: the runtime and where this version stands in review."""
    if version is None or not version.is_code:
        return
    label, _icon = STATUS.get(version.review_status or "pending", STATUS["pending"])
    note = {
        "pending": "Only you can see and run it until an admin approves it.",
        "rejected": "Only you can see it; read the review, change the code and save a new version.",
        "approved": "Runs isolated: no network, no files, limited time and memory.",
    }.get(version.review_status or "pending", "")
    st.caption(escape(f"{'Python' if version.runtime == 'python' else 'JavaScript'} model, version {version.version}: {label}. {note}"))


def code_tab(version: Any) -> None:
    """The version's code, language and dependencies."""
    st.code(version.code_bundle or "", language=LANGUAGE.get(version.runtime, "text"), line_numbers=True)
    deps = ", ".join(version.dependencies) or "none"
    st.caption(f"Dependencies: {escape(deps)}")


def review_history(model: Any) -> None:
    """Every decision on the model, newest first: who, when, which version and code, the note."""
    try:
        history = get_services().review.history(current_user(), model.slug)
    except AusterError as exc:
        st.error(escape(exc))
        return
    if not history:
        st.caption("No review decision yet.")
        return
    for review in history:
        label, _icon = STATUS[review.decision]
        when = review.created_at.strftime("%Y-%m-%d %H:%M UTC")
        st.markdown(f"**{escape(label)}**, " + escape(f"version {review.version}, by {review.reviewer_name} on {when} · code {review.code_sha256[:12]}"))
        if review.note:
            st.markdown(f"> {escape(review.note)}")
