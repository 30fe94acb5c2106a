"""Per-browser-session state: the signed-in user, the session cookie behind it, and the process-wide services handle.

Every browser session runs in the same Streamlit process, so the user lives in ``st.session_state``
(with Supabase the ``User`` carries that session's own client and JWT); ``st.cache_resource`` holds
only what every session may share: the services factory over the configured store and the data.

A sign-in, a sign-up or a guest identity starts a session whose token goes into an HttpOnly cookie
(components/cookies.py); a reload, a new tab or an opened shared link presents it and the user comes
back (``current_user``). Guests are created only when a visitor first needs an identity
(``require_user``: running, saving, forking, publishing), within the caps per client address. Signing
out revokes the session, drops the cookie and clears everything this browser session held, results
included. When the browser session ends, its Supabase client's connections are closed.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import weakref
from typing import Any

import streamlit as st

import services
from components import cookies
from components.text import escape
from contracts.errors import AusterError, SessionExpired

log = logging.getLogger(__name__)

USER_KEY = "auster.user"
BROWSER_KEY = "auster.browser"
TOKEN_KEY = "auster.session_token"
HELD_KEY = "auster.held"
RESUMED_KEY = "auster.resumed"
CHECKED_KEY = "auster.session_checked_at"
NOTICE_KEY = "auster.session_notice"
KEEP_ON_SIGN_OUT = (BROWSER_KEY, RESUMED_KEY, cookies.ACTION_KEY, cookies.SHOWN_KEY, NOTICE_KEY)
CHECK_EVERY_S = 30.0
# Environment that selects the store and data; the cached services are keyed on it, so tests (and a
# changed configuration) get their own handle instead of another configuration's.
_CONFIG_NAMES = ("AUSTER_DB_PATH", "AUSTER_DATA_MODE", "SUPABASE_URL", "FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "REDIS_URL", "KV_URL")


@st.cache_resource(show_spinner="Opening the model store…")
def _services(config: tuple[tuple[str, str], ...]) -> Any:
    threading.Thread(target=_warm_charts, name="auster-warm-charts", daemon=True).start()
    built = services.build()
    built.queue.start_sweeping(built.settings.queue_sweep_s)  # the embedded queue's lost runs, swept by the app that hosts it
    return built


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


class _Held:
    """What this browser session holds for its user; released (Supabase: the client closed) when the session is dropped."""

    def __init__(self, user: Any, release: Any):
        self.user = user
        self._finalizer = weakref.finalize(self, release, user)

    def release(self) -> None:
        self._finalizer()


def client_address() -> str | None:
    """The visitor's address: the connection's, or behind ``AUSTER_TRUSTED_PROXIES`` proxies the one the outermost saw."""
    try:
        hops = int(get_services().settings.trusted_proxies)
        if hops > 0:
            forwarded = [part.strip() for part in (st.context.headers.get("X-Forwarded-For") or "").split(",") if part.strip()]
            if len(forwarded) >= hops:
                return forwarded[-hops]
        return st.context.ip_address
    except Exception:  # no browser behind this run
        return None


def _hold(user: Any, token: str | None) -> None:
    previous = st.session_state.get(HELD_KEY)
    if previous is not None and previous.user is not user:
        previous.release()
    st.session_state[USER_KEY] = user
    st.session_state[HELD_KEY] = _Held(user, get_services().auth.release)
    if token:
        st.session_state[TOKEN_KEY] = token
    st.session_state[CHECKED_KEY] = time.monotonic()


def remember(user: Any) -> None:
    """Make ``user`` this browser's user, in this tab and (through the cookie) in its next ones."""
    token = None
    try:
        issued = get_services().auth.start_session(user)
        token = issued.token
        cookies.queue("set", token)
    except AusterError as exc:  # the sign-in still holds for this tab
        log.warning("session not kept across visits: %s", exc)
    _hold(user, token)


def _forget(notice: str | None = None) -> None:
    """Drop the user and everything this browser session showed them (results, forms, dialogs)."""
    held = st.session_state.get(HELD_KEY)
    if held is not None:
        held.release()
    for key in list(st.session_state.keys()):
        if key not in KEEP_ON_SIGN_OUT:
            del st.session_state[key]
    cookies.queue("clear")
    if notice:
        st.session_state[NOTICE_KEY] = notice


def sign_out(everywhere: bool = False) -> None:
    """Revoke this browser's session (or every session of the user), drop the cookie, clear what was on screen."""
    user = st.session_state.get(USER_KEY)
    try:
        get_services().auth.sign_out(user, token=st.session_state.get(TOKEN_KEY), everywhere=everywhere)
    finally:
        _forget()


def expire(message: str = str(SessionExpired())) -> None:
    """The session ended elsewhere (revoked, expired, refresh refused): sign out here with ``message``."""
    _forget(message)


def current_user() -> Any | None:
    """The user of this browser session (resumed from its cookie on the first run), or ``None`` for an anonymous visitor."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        if not st.session_state.get(RESUMED_KEY):
            st.session_state[RESUMED_KEY] = True
            user = _resume()
        return user
    token = st.session_state.get(TOKEN_KEY)
    if token and time.monotonic() - st.session_state.get(CHECKED_KEY, 0.0) > CHECK_EVERY_S:
        st.session_state[CHECKED_KEY] = time.monotonic()
        try:
            live = get_services().auth.session_is_live(token)
        except AusterError:
            live = True  # the store is unreachable: keep the session rather than sign out on an outage
        if not live:
            expire("You were signed out (from this or another device, or your password changed); sign in again.")
            return None
    return user


def _resume() -> Any | None:
    token = cookies.cookie_token()
    if not token:
        return None
    try:
        user = get_services().auth.resume(token)
    except AusterError as exc:
        log.warning("could not resume a session: %s", exc)
        st.session_state[NOTICE_KEY] = str(exc)
        return None
    if user is None:
        cookies.queue("clear")
        return None
    _hold(user, token)
    return user


def browser_key() -> str:
    """A random key for this browser session: an anonymous visitor's views are counted once a day by its hash."""
    return str(st.session_state.setdefault(BROWSER_KEY, secrets.token_hex(16)))


def set_user(user: Any | None) -> None:
    """Sign ``user`` in for this browser (``None``: sign out)."""
    if user is None:
        sign_out()
    else:
        remember(user)


def sign_in(email: str, password: str) -> Any:
    """Sign in with throttling by account and by this visitor's address; the session goes into the cookie."""
    user = get_services().auth.sign_in(email, password, address=client_address())
    _replace_guest()
    remember(user)
    return user


def sign_up(email: str, password: str, display_name: str | None = None) -> Any:
    user = get_services().auth.sign_up(email, password, display_name=display_name)
    _replace_guest()
    remember(user)
    return user


def _replace_guest() -> None:
    """A guest who signs in or up leaves the guest session (its cookie is replaced)."""
    user, token = st.session_state.get(USER_KEY), st.session_state.get(TOKEN_KEY)
    if user is not None and token:
        try:
            get_services().auth.sign_out(user, token=token)
        except AusterError as exc:
            log.warning("guest session not revoked: %s", exc)
    held = st.session_state.get(HELD_KEY)
    if held is not None:
        held.release()
    st.session_state.pop(TOKEN_KEY, None)


def start_guest() -> Any:
    """A guest identity for this browser (within the caps per address and per hour), kept by the cookie."""
    user = get_services().auth.guest(address=client_address())
    remember(user)
    return user


def require_user(action: str) -> Any | None:
    """The session's user, starting a guest session on first need; ``None`` (with a message) if that fails."""
    user = current_user()
    if user is not None:
        return user
    try:
        return start_guest()
    except AusterError as exc:
        st.error(escape(f"Could not start a guest session to {action}: {exc}"))
        return None


def session_notice() -> None:
    """A sentence about the session, shown once (signed out elsewhere, the sign-in service unavailable)."""
    message = st.session_state.pop(NOTICE_KEY, None)
    if message:
        st.sidebar.warning(escape(message), icon=":material/logout:")


def cookie_bridge(before_page: bool) -> None:
    """Carry out a queued cookie action: one queued by an earlier run (before the page), or by this run's page (after it)."""
    with st.sidebar:
        cookies.bridge(before_page)


def display_name(user: Any | None) -> str:
    """How the sidebar names the user."""
    if user is None:
        return "Not signed in"
    name = getattr(user, "display_name", None) or getattr(user, "email", None)
    if getattr(user, "is_guest", False) or not name:
        return "Guest"
    return str(name)
