"""The session cookie: HttpOnly, SameSite=Lax, Secure over https, set by an HTTP response of our own.

Streamlit reads cookies natively (``st.context.cookies``, from the request that opened the browser
session) but offers no call that sets one from a script: a script talks to the browser over its
WebSocket, and only an HTTP response can set an HttpOnly cookie. Streamlit 1.67's ``st.App``
(serve.py) mounts extra Starlette routes beside the app, so the cookie is set that way:

1. the script starts a session (``svc.auth.start_session``) and files its token here under a
   one-time code (``HANDOFFS``, in this process, for two minutes);
2. a small component with fixed JavaScript and no user data (``bridge``) makes the page POST that code to
   ``/api/session`` on the same origin;
3. the route (``session_endpoint``) swaps the code for the token and answers with ``Set-Cookie:
   auster_session=<token>; HttpOnly; SameSite=Lax; Path=/; Max-Age=<30 days>`` (+ ``Secure`` when the
   request came over https). The token itself never travels over the WebSocket or through
   JavaScript, and no script on the page can read it afterwards.

Sign-out revokes the session in the store first (a stale cookie then opens nothing), then asks the
route to clear the cookie. The route refuses cross-site requests (``Sec-Fetch-Site`` / ``Origin``),
so another site cannot plant a session (login CSRF) or clear one.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.rules import SESSION_TTL_S

COOKIE = "auster_session"
ROUTE = "/api/session"
HANDOFF_TTL_S = 120.0
ACTION_KEY = "auster.cookie_action"
SHOWN_KEY = "auster.cookie_action_shown"

BRIDGE_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  if (!data || !data.id) return;
  const done = (window.__austerCookieDone = window.__austerCookieDone || new Set());
  if (done.has(data.id)) return;
  done.add(data.id);
  fetch(data.url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ action: data.action, code: data.code || "" }),
  })
    .then((response) => setTriggerValue("done", { id: data.id, status: response.status }))
    .catch(() => setTriggerValue("done", { id: data.id, status: 0 }));
}
"""


class Handoffs:
    """One-time codes for session tokens on their way into a cookie (this process, a couple of minutes)."""

    def __init__(self, ttl_s: float = HANDOFF_TTL_S):
        self._ttl_s = ttl_s
        self._pending: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(code: str) -> str:
        return hashlib.sha256(code.encode()).hexdigest()

    def put(self, token: str) -> str:
        code = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._pending = {k: v for k, v in self._pending.items() if v[1] > now}
            self._pending[self._key(code)] = (token, now + self._ttl_s)
        return code

    def take(self, code: str) -> str | None:
        with self._lock:
            found = self._pending.pop(self._key(code or ""), None)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]


HANDOFFS = Handoffs()


@functools.cache
def _trusted_proxies() -> int:
    from services.config import Settings

    try:
        return Settings.load().trusted_proxies
    except Exception:
        return 0


def _over_https(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return _trusted_proxies() > 0 and forwarded == "https"


def _same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc == request.headers.get("host", "")


def cookie_path() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else "/"


async def session_endpoint(request: Request) -> Response:
    """POST {"action": "set", "code": ...} sets the session cookie; {"action": "clear"} removes it."""
    if not _same_origin(request):
        return JSONResponse({"error": "cross-site request refused"}, status_code=403)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("action") not in ("set", "clear"):
        return JSONResponse({"error": "expected {action: set|clear}"}, status_code=400)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    secure = _over_https(request)
    if body["action"] == "clear":
        response.delete_cookie(COOKIE, path=cookie_path(), secure=secure, httponly=True, samesite="lax")
        return response
    token = HANDOFFS.take(str(body.get("code") or ""))
    if token is None:
        return JSONResponse({"error": "unknown or expired code"}, status_code=410)
    response.set_cookie(COOKIE, token, max_age=int(SESSION_TTL_S), path=cookie_path(), secure=secure, httponly=True, samesite="lax")
    return response


def session_routes() -> list[Route]:
    """The routes serve.py mounts beside the app."""
    return [Route(ROUTE, session_endpoint, methods=["POST"])]


def cookie_token() -> str | None:
    """The session token this browser sent when it opened this browser session, if any."""
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this run (bare mode)
        return None
    return value if isinstance(value, str) and value else None


def queue(action: str, token: str | None = None) -> None:
    """Ask this browser to store ``token`` in its cookie ("set") or to drop the cookie ("clear")."""
    base = cookie_path().rstrip("/")
    pending: dict[str, Any] = {"id": secrets.token_hex(8), "action": action, "url": f"{base}{ROUTE}", "queued_at": time.monotonic()}
    if action == "set" and token:
        pending["code"] = HANDOFFS.put(token)
    st.session_state[ACTION_KEY] = pending


@functools.cache
def _bridge() -> Any:
    return st.components.v2.component("auster_session_cookie", js=BRIDGE_JS)


def bridge(before_page: bool) -> None:
    """Carry out a queued cookie action in the browser (renders nothing visible).

    Called before the page (an action queued by an earlier run: a sign-in followed by ``st.rerun``,
    whatever the page does next, ``st.stop`` included) and after it (an action the page queued in this
    run: a guest made by Run); each action is drawn once per run, under its own key, until the
    browser acknowledges it or its code expires.
    """
    pending = st.session_state.get(ACTION_KEY)
    if not pending:
        return
    if time.monotonic() - pending.get("queued_at", 0.0) > HANDOFF_TTL_S:
        st.session_state.pop(ACTION_KEY, None)
        return
    if before_page:
        st.session_state[SHOWN_KEY] = pending["id"]
    elif st.session_state.get(SHOWN_KEY) == pending["id"]:
        return
    result = _bridge()(data=pending, key=f"auster.cookie_bridge.{pending['id']}", height=0, on_done_change=lambda: None)
    done = getattr(result, "done", None) if result is not None else None
    if isinstance(done, dict) and done.get("id") == pending["id"]:
        st.session_state.pop(ACTION_KEY, None)
