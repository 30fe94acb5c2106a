"""The sidebar shown on every page: who is signed in, and whether data is live or the sample snapshot."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.session import current_user, display_name, get_services
from components.text import escape


@st.cache_data(show_spinner=False)
def sample_as_of() -> str:
    """The newest date in the bundled sample snapshot (FRED observations and daily bars)."""
    from gateways.sample import SampleGateway

    gateway = SampleGateway()
    fred = gateway.series_info("DGS10").value["observation_end"]
    bars = gateway.quote("SPY").value["as_of"]
    return max(fred, bars)


def data_mode(svc: Any) -> tuple[bool, str]:
    """``(live, sentence)`` describing the data in use: providers per kind, and the sample's as-of date."""
    try:
        from gateways.factory import describe_mode

        providers = {k: v for k, v in describe_mode(svc.settings.data_mode).items() if k in ("macro", "market", "derivatives")}
    except ImportError:
        providers = svc.data.describe()
    live = {kind: name for kind, name in providers.items() if name != "sample"}
    if not live:
        return False, f"Sample data (bundled snapshot), as of {sample_as_of()}. Set FRED_API_KEY or MASSIVE_API_KEY for live data."
    parts = ", ".join(f"{kind}: {name}" for kind, name in providers.items())
    rest = "" if len(live) == len(providers) else f" The rest is sample data as of {sample_as_of()}."
    return True, f"Live data ({parts}).{rest}"


def sidebar() -> None:
    """Identity and data-mode badge."""
    user = current_user()
    with st.sidebar:
        if user is None:
            st.markdown("**Not signed in**: browsing only.")
            st.page_link("views/account.py", label="Sign in or sign up", icon=":material/login:")
        else:
            tier = getattr(user, "tier", "free")
            role = " · admin" if getattr(user, "is_admin", False) else ""
            st.markdown(f"Signed in as **{escape(display_name(user))}**")
            st.caption(f"{tier} tier{role}")
        live, sentence = data_mode(get_services())
        (st.success if live else st.info)(sentence, icon=":material/cloud_done:" if live else ":material/inventory_2:")
