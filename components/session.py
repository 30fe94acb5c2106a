"""Per-browser-session state: the signed-in user and the process-wide services handle.

Every browser session runs in the same Streamlit process, so the user lives in ``st.session_state``
(with Supabase the ``User`` carries that session's own client and JWT); ``st.cache_resource`` holds
only what every session may share: the services factory over the configured store and the data.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from typing import Any

import streamlit as st

import services
from contracts.errors import AusterError

USER_KEY = "auster.user"
BROWSER_KEY = "auster.browser"
# Environment that selects the store and data; the cached services are keyed on it, so tests (and a
# changed configuration) get their own handle instead of another configuration's.
_CONFIG_NAMES = ("AUSTER_DB_PATH", "AUSTER_DATA_MODE", "SUPABASE_URL", "FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "REDIS_URL", "KV_URL")


@st.cache_resource(show_spinner="Opening the model store…")
def _services(config: tuple[tuple[str, str], ...]) -> Any:
    threading.Thread(target=_warm_charts, name="auster-warm-charts", daemon=True).start()
    return services.build()


def _warm_charts() -> None:
    """Load Plotly's validators once per process, off the request path (the first figure built paid ~0.2 s)."""
    from components.charts import heatmap_figure, series_figure

    dates = ["2026-01-02", "2026-01-05"]
    series_figure([{"id": kind, "label": kind, "chart": kind, "x": dates, "y": [1.0, 2.0]} for kind in ("line", "bar", "area", "scatter")])
    series_figure([{"id": "b.low", "column": "min", "chart": "band", "x": dates, "y": [1.0, 2.0]}, {"id": "b.high", "column": "max", "chart": "band", "x": dates, "y": [2.0, 3.0]}])
    heatmap_figure([{"id": "m.a", "column": "a", "chart": "heatmap", "x": ["a"], "y": [1.0]}])


def get_services() -> Any:
    """The process-wide services for the current configuration."""
    config = tuple((name, os.environ.get(name, "")) for name in _CONFIG_NAMES)
    return _services(config)


def current_user() -> Any | None:
    """The user of this browser session, or ``None`` for an anonymous visitor."""
    return st.session_state.get(USER_KEY)


def browser_key() -> str:
    """A random key for this browser session: an anonymous visitor's views are counted once a day by its hash."""
    return str(st.session_state.setdefault(BROWSER_KEY, secrets.token_hex(16)))


def set_user(user: Any | None) -> None:
    if user is None:
        st.session_state.pop(USER_KEY, None)
    else:
        st.session_state[USER_KEY] = user


def sign_out() -> None:
    """End the session's sign-in and clear everything on screen that belonged to it (results, errors,
    published links, open dialogs, form values): the next person at this browser starts clean."""
    user = current_user()
    if user is not None:
        with contextlib.suppress(AusterError):  # signing out locally is enough: the session is dropped below
            get_services().auth.sign_out(user)
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def require_user(action: str) -> Any | None:
    """The session's user, starting a guest session on first need; ``None`` (with a message) if that fails."""
    user = current_user()
    if user is not None:
        return user
    try:
        user = get_services().auth.guest()
    except AusterError as exc:
        st.error(f"Could not start a guest session to {action}: {exc}")
        return None
    set_user(user)
    return user


def display_name(user: Any | None) -> str:
    """How the sidebar names the user."""
    if user is None:
        return "Not signed in"
    name = getattr(user, "display_name", None) or getattr(user, "email", None)
    if getattr(user, "is_guest", False) or not name:
        return "Guest"
    return str(name)
