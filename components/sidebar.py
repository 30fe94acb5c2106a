"""The sidebar shown on every page: who is signed in, and whether data is live or the sample snapshot."""

from __future__ import annotations

import streamlit as st

from components.session import current_user, display_name, get_services
from components.text import escape


@st.cache_data(ttl=60, show_spinner=False)
def data_mode_badge() -> tuple[bool, str]:
    """``(live, sentence)`` describing the data in use (cached: it reads files and settings)."""
    mode = get_services().labs.data_mode()
    return mode.live, mode.sentence


SLOT_KEY = "auster.identity_slot"


def identity() -> None:
    """Who is signed in."""
    user = current_user()
    if user is None:
        st.markdown("**Not signed in**: browsing only.")
        st.page_link("views/account.py", label="Sign in or sign up", icon=":material/login:")
    else:
        tier = getattr(user, "tier", "free")
        role = " · admin" if getattr(user, "is_admin", False) else ""
        st.markdown(f"Signed in as **{escape(display_name(user))}**")
        st.caption(escape(f"{tier} tier{role}"))


def data_badge() -> None:
    """Whether data is live or the sample snapshot, and its as-of date."""
    live, sentence = data_mode_badge()
    (st.success if live else st.info)(escape(sentence), icon=":material/cloud_done:" if live else ":material/inventory_2:")


def sidebar() -> None:
    """Identity and data-mode badge, in that order; the identity sits in a slot the page can redraw."""
    slot = st.sidebar.empty()
    with slot.container():
        identity()
    st.session_state[SLOT_KEY] = slot  # this run's slot (a page that starts a guest session redraws it)
    with st.sidebar:
        data_badge()


def refresh_identity() -> None:
    """Redraw who is signed in, after the page changed it during this run (a run started a guest session)."""
    slot = st.session_state.get(SLOT_KEY)
    if slot is not None:
        with slot.container():
            identity()
