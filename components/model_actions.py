"""Model actions: save, fork, rate and review (the versions tab is components/versions.py)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.model_card import MODEL_PAGE, rating_text
from components.session import current_user, get_services, require_user
from components.text import escape
from contracts.errors import AusterError

STARS = {5: "★★★★★", 4: "★★★★☆", 3: "★★★☆☆", 2: "★★☆☆☆", 1: "★☆☆☆☆"}


def _flash(slug: str) -> None:
    """Show the outcome of the last action (kept across the rerun that the action caused)."""
    message = st.session_state.pop(f"{slug}.flash", None)
    if message:
        kind, text = message
        (st.success if kind == "ok" else st.error)(escape(text))


def action_bar(model: Any, bar: Any) -> None:
    """Save or unsave and fork, as buttons in ``bar`` (a horizontal container the page's other actions share);
    results show as one sentence below it."""
    svc, user, slug = get_services(), current_user(), model.slug
    saved = False
    if user is not None:
        try:
            saved = svc.social.is_saved(user, slug)
        except AusterError:
            saved = False
    with bar:
        if st.button("Saved ✓" if saved else "Save", key=f"{slug}.save", icon=":material/bookmark:", width="content"):
            acting = require_user("save models")
            if acting is not None:
                try:
                    (svc.social.unsave if saved else svc.social.save)(acting, slug)
                    st.session_state[f"{slug}.flash"] = ("ok", "Removed from your saved models." if saved else "Saved to your workspace.")
                except AusterError as exc:
                    st.session_state[f"{slug}.flash"] = ("error", str(exc))
                st.rerun()
    with bar:
        if st.button("Fork", key=f"{slug}.fork", icon=":material/fork_right:", width="content", help="Copy this model into your workspace as a private model."):
            acting = require_user("fork models")
            if acting is not None:
                try:
                    fork = svc.models.fork(acting, slug)
                    st.session_state[f"{slug}.forked"] = fork.slug
                    st.session_state[f"{slug}.flash"] = ("ok", f"Forked into your workspace as '{fork.slug}' (private).")
                except AusterError as exc:
                    st.session_state[f"{slug}.flash"] = ("error", str(exc))
                st.rerun()
    _flash(slug)
    forked = st.session_state.get(f"{slug}.forked")
    if forked:
        st.page_link(MODEL_PAGE, label="Open your fork", query_params={"slug": forked}, icon=":material/fork_right:")


def reviews_tab(model: Any) -> None:
    """Average rating, the user's own rating form, and the reviews (shown as text)."""
    svc, user, slug = get_services(), current_user(), model.slug
    try:
        summary = svc.social.ratings(slug, user)
    except AusterError as exc:
        st.error(escape(exc))
        return
    st.subheader(escape(rating_text(summary.average, summary.count)))
    _flash(f"{slug}.rating")
    mine = summary.mine
    with st.form(f"{slug}.rate_form"):
        rating = st.radio("Your rating", list(STARS), index=list(STARS).index(mine.rating) if mine else 0, format_func=STARS.get, horizontal=True, key=f"{slug}.rating")
        review = st.text_area("Review (optional)", value=mine.review if mine else "", max_chars=2000, key=f"{slug}.review")
        submitted = st.form_submit_button("Update your rating" if mine else "Rate this model")
    if submitted:
        acting = require_user("rate models")
        if acting is not None:
            try:
                svc.social.rate(acting, slug, int(rating), review.strip())
                st.session_state[f"{slug}.rating.flash"] = ("ok", "Thanks: your rating is saved.")
            except AusterError as exc:
                st.session_state[f"{slug}.rating.flash"] = ("error", str(exc))
            st.rerun()
    for item in summary.reviews:
        with st.container(border=True):
            st.caption(escape(f"{STARS.get(item.rating, item.rating)} · {item.updated_at:%Y-%m-%d}"))
            if item.review:
                st.markdown(escape(item.review))
