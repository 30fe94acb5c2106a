"""Auster Models: the Streamlit entry point. Pages live in views/ (not pages/: see docs/app.md), reusable pieces in components/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components.session import cookie_bridge, current_user, expire, get_services, session_notice
from components.sidebar import sidebar
from components.text import escape
from contracts.errors import AusterError, SessionExpired

# url_path values are part of every shared link: never rename them.
STATIC = Path(__file__).parent / "components" / "static"
FAVICON = STATIC / "favicon.png"
STYLES = STATIC / "app.css"  # the few rules Streamlit has no option for
PAGES = {
    "Discover": [
        st.Page("views/registry.py", title="Model registry", icon=":material/apps:", default=True),
        st.Page("views/artifacts.py", title="Published artifacts", icon=":material/collections_bookmark:", url_path="artifacts"),
    ],
    "Labs": [
        st.Page("views/econ_lab.py", title="Econ Lab", icon=":material/monitoring:", url_path="econ-lab"),
        st.Page("views/derivatives_lab.py", title="Derivatives Lab", icon=":material/candlestick_chart:", url_path="derivatives-lab"),
    ],
    "You": [
        st.Page("views/workspace.py", title="Workspace", icon=":material/work:", url_path="workspace"),
        st.Page("views/builder.py", title="Model builder", icon=":material/account_tree:", url_path="builder"),
        st.Page("views/editor.py", title="Code editor", icon=":material/code:", url_path="editor"),
        st.Page("views/account.py", title="Account", icon=":material/person:", url_path="account"),
    ],
    "": [
        st.Page("views/model.py", title="Model", icon=":material/insights:", url_path="model", visibility="hidden"),
        st.Page("views/artifact.py", title="Artifact", icon=":material/article:", url_path="artifact", visibility="hidden"),
        st.Page("views/analytics.py", title="Model usage", icon=":material/query_stats:", url_path="usage", visibility="hidden"),
    ],
}


ADMIN_PAGE = st.Page("views/admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path="admin")
REVIEW_PAGE = st.Page("views/review.py", title="Code review", icon=":material/rule:", url_path="review")


def pages() -> dict[str, list[st.Page]]:
    """The navigation; the Admin page exists only for administrators (for anyone else /admin is not found)."""
    user = current_user()
    if user is not None and getattr(user, "is_admin", False):
        return {**PAGES, "You": [*PAGES["You"], ADMIN_PAGE, REVIEW_PAGE]}
    return PAGES


def run() -> None:
    # A file, not a material icon: Streamlit fetches a material favicon from a font host on the internet.
    st.set_page_config(page_title="Auster Models", page_icon=str(FAVICON), layout="wide")
    st.html(STYLES)
    try:
        get_services()  # opens the store: a database the app cannot write to is a sentence, not a traceback
    except AusterError as exc:
        st.error(escape(exc), icon=":material/database:")
        st.stop()
    page = st.navigation(pages())
    sidebar()
    session_notice()
    cookie_bridge(before_page=True)
    try:
        page.run()
    except SessionExpired as exc:  # a refresh was refused: sign out here cleanly, with the sentence
        expire(str(exc))
        st.rerun()
    cookie_bridge(before_page=False)  # a session the page started (a guest made by Run) reaches the cookie in this run


run()
