"""The Supabase backend's plumbing: one supabase-py client per browser session, requests, and errors.

Each signed-in user or guest gets their own ``supabase.Client`` (carried on ``User.session``) holding
that user's JWT, so every read and every request a user makes runs under their RLS policies;
anonymous visitors share one client that never signs in. What must be trusted is written by the
server with the service-role key (``Clients.server``): recording runs with their outputs and daily
usage, counting views. That client calls only fixed SQL functions with typed arguments (never a
query shaped by user text), and the key never leaves the app process. Operator tasks (loading
templates, changing a profile) use the same key (``Clients.admin``). PostgREST's silent GET retries
are turned off (``postgrest_client_retry=False``) and every request has a timeout.

No client keeps a refresh timer (``auto_refresh_token`` is off): a user's access token is refreshed
on demand, when a request comes back with PostgREST's expired-JWT error (``PGRST303``, or ``PGRST301``
from older PostgREST). ``execute`` then calls the refresher registered for that client's HTTP
connection pool (``on_expired``: the sessions store's, which rotates the refresh token kept behind
the browser's cookie, or the client's own refresh token) and sends the request once more with the
new token; if the refresh fails, ``SessionExpired`` says so in a sentence. ``release`` closes a
client's HTTP connections when its browser session ends.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contracts.errors import (
    AuthRequired,
    CommentLimitExceeded,
    ConflictError,
    InputInvalid,
    NotFoundError,
    PermissionDenied,
    RateLimitExceeded,
    SessionExpired,
    StoreUnavailable,
)
from contracts.records import User
from contracts.rules import COMMENT_WINDOW_S
from store.common import day_start

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SERVER_KEY_MISSING = (
    "Running models on this Supabase deployment needs the server-side key: set SUPABASE_SERVICE_ROLE_KEY in the app server's "
    "environment or .streamlit/secrets.toml (never in a browser), then restart the app."
)
# PostgREST's JWT errors (docs.postgrest.org, references/errors.rst, "Group 3 - JWT"): PGRST301 "Provided
# JWT couldn't be decoded or it is invalid" (also the code older PostgREST used for an expired JWT),
# PGRST303 "JWT claims validation or parsing failed" (current PostgREST's "JWT expired"); both 401.
SESSION_EXPIRED_CODES = ("PGRST301", "PGRST303")


def parse_time(value: str | None) -> datetime:
    """A PostgREST timestamp as a datetime (the epoch when missing)."""
    if not value:
        return datetime.fromtimestamp(0, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def raise_for(exc: Exception) -> None:
    """Turn a PostgREST / auth / transport failure into a typed store error.

    The SQL functions raise ``'AUSTER:<code>:<detail>'`` for refusals the app explains in a sentence.
    """
    from postgrest.exceptions import APIError

    if isinstance(exc, httpx.HTTPError):
        raise StoreUnavailable("The database did not answer; try again in a moment.") from exc
    if isinstance(exc, APIError):
        message = exc.message or ""
        if message.startswith("AUSTER:"):
            _, code, *rest = message.split(":", 3)
            detail = rest[0] if rest else ""
            if code == "auth_required":
                raise AuthRequired(detail or "do this") from exc
            if code == "not_found":
                raise NotFoundError(f"That {detail or 'item'} does not exist or is not visible to you.") from exc
            if code == "rate_limit_daily":
                limit, _, tier = ":".join(rest).partition(":")
                now = datetime.now(UTC)
                raise RateLimitExceeded("daily", int(limit), day_start(now) + timedelta(days=1), tier or "free") from exc
            if code == "rate_limit_minute":
                limit, _, when = ":".join(rest).partition(":")
                raise RateLimitExceeded("minute", int(limit), datetime.fromisoformat(when).replace(tzinfo=UTC)) from exc
            if code == "rate_limit_comments":
                limit, _, when = ":".join(rest).partition(":")
                raise CommentLimitExceeded(int(limit), COMMENT_WINDOW_S, datetime.fromisoformat(when).replace(tzinfo=UTC)) from exc
            if code == "invalid":
                raise InputInvalid({"request": detail[:1].upper() + detail[1:] + "."}) from exc
            if code == "permission":
                raise PermissionDenied(detail) from exc
            if code == "conflict":
                raise ConflictError(detail) from exc
        if exc.code == "23505":
            raise ConflictError("That address is taken; choose another.") from exc
        if exc.code in SESSION_EXPIRED_CODES:
            raise SessionExpired() from exc
        if exc.code == "PGRST302":  # anonymous access is disabled and no JWT was sent
            raise AuthRequired("do this") from exc
        if exc.code == "42501":  # a signed-in user's request that RLS or a grant refused
            raise PermissionDenied("You may not change that; only its owner can.") from exc
        raise StoreUnavailable(f"The database refused the request ({exc.code}).") from exc
    raise exc


# The refresher of each user's client, keyed by that client's own HTTP connection pool (weakly: a
# client released or dropped with its browser session takes its entry with it).
_REFRESHERS: weakref.WeakKeyDictionary[httpx.Client, Callable[[], str]] = weakref.WeakKeyDictionary()


def on_expired(client: Any, refresher: Callable[[], str]) -> None:
    """When a request of ``client`` meets an expired JWT, call ``refresher`` (it returns the new access token)."""
    http = getattr(client.options, "httpx_client", None)
    if http is not None:
        _REFRESHERS[http] = refresher


def _refresher_for(request: Any) -> Callable[[], str] | None:
    config = getattr(request, "request", None)
    session = getattr(config, "session", None)
    return _REFRESHERS.get(session) if session is not None else None


def _expired_jwt(exc: Exception) -> bool:
    from postgrest.exceptions import APIError

    return isinstance(exc, APIError) and exc.code in SESSION_EXPIRED_CODES


def execute(request: Any) -> Any:
    """Send a prepared PostgREST request; failures become typed store errors.

    An expired JWT is refreshed once through the client's refresher and the request sent again.
    """
    try:
        return request.execute()
    except Exception as exc:
        refresh = _refresher_for(request) if _expired_jwt(exc) else None
        if refresh is None:
            raise_for(exc)
            raise
    request.request.headers["Authorization"] = f"Bearer {refresh()}"
    try:
        return request.execute()
    except Exception as exc:
        raise_for(exc)
        raise


def release_client(client: Any) -> None:
    """Stop what a user's client holds: any refresh timer, and its HTTP connections."""
    if client is None:
        return
    auth = getattr(client, "auth", None)
    timer = getattr(auth, "_refresh_token_timer", None)
    if timer is not None:
        with contextlib.suppress(Exception):
            timer.cancel()
    http = getattr(getattr(client, "options", None), "httpx_client", None)
    if http is not None:
        _REFRESHERS.pop(http, None)
        with contextlib.suppress(Exception):
            http.close()


class Clients:
    """Hands out the right client: the viewer's own, the shared anonymous one, or the admin's."""

    def __init__(
        self,
        url: str,
        anon_key: str,
        *,
        service_role_key: str | None = None,
        http_client_factory: Callable[[], httpx.Client] | None = None,
        auto_refresh_token: bool = False,
    ):
        self.url = url.rstrip("/")
        self._anon_key = anon_key
        self._service_key = service_role_key
        self._http = http_client_factory or (lambda: httpx.Client(timeout=TIMEOUT))
        self._auto_refresh = auto_refresh_token
        self._anon_client: Any = None
        self._admin_client: Any = None
        self._lock = threading.Lock()

    @property
    def has_server_key(self) -> bool:
        """Whether this process holds the service-role key (needed to record runs and views)."""
        return bool(self._service_key)

    def new(self, key: str | None = None) -> Any:
        """A fresh supabase client (one per browser session) with retries off and a timeout."""
        from supabase.lib.client_options import SyncClientOptions

        from supabase import create_client

        options = SyncClientOptions(
            httpx_client=self._http(),
            postgrest_client_retry=False,
            postgrest_client_timeout=TIMEOUT,
            persist_session=False,
            auto_refresh_token=self._auto_refresh,
        )
        return create_client(self.url, key or self._anon_key, options)

    def for_viewer(self, viewer: User | None) -> Any:
        """The viewer's own client, or the shared anonymous one for a visitor."""
        if viewer is not None and viewer.session is not None:
            return viewer.session
        if viewer is not None:
            raise AuthRequired("do this (your session has ended)")
        with self._lock:
            if self._anon_client is None:
                self._anon_client = self.new()
            return self._anon_client

    def close(self) -> None:
        """Close the shared clients (the anonymous one and the server's)."""
        with self._lock:
            for client in (self._anon_client, self._admin_client):
                release_client(client)
            self._anon_client = self._admin_client = None

    def _service_client(self) -> Any:
        with self._lock:
            if self._admin_client is None:
                self._admin_client = self.new(self._service_key)
            return self._admin_client

    def server(self) -> Any:
        """The service-role client that records runs, usage and views: fixed SQL functions only, never user text."""
        if not self._service_key:
            raise StoreUnavailable(SERVER_KEY_MISSING)
        return self._service_client()

    def admin(self) -> Any:
        """The service-role client, for operator tasks (loading templates, changing tiers)."""
        if not self._service_key:
            raise StoreUnavailable("This admin task needs SUPABASE_SERVICE_ROLE_KEY in the environment of the operator running it.")
        return self._service_client()
