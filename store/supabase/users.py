"""Identity on Supabase Auth: email and password accounts, anonymous guests, profiles.

GoTrue's answers become sentences (``gotrue_refusal``): a wrong password only for its
``invalid_credentials``; its rate limits (HTTP 429) say which limit and what to do; an outage
(connection refused, a timeout, a 5xx) is ``AuthUnavailable``, never a wrong password.
"Sign out" ends this browser's GoTrue session (scope ``local``); "sign out everywhere" every
session of the user (scope ``global``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx

from contracts.errors import AuthError, AuthUnavailable, InputInvalid, NotFoundError, SessionExpired, TooManyAttempts
from contracts.records import User
from store.common import check_credentials, check_new_password
from store.supabase.client import Clients, execute, on_expired, release_client

WRONG_PASSWORD = "That email and password do not match an account; check them or sign up."
# GoTrue's 429 error codes (supabase/auth, internal/api/apierrors/errorcode.go) and what each means here.
RATE_LIMITED = {
    "guest": "Too many guest sessions were started on this site in the last hour (the sign-in service's limit); sign up for a free "
    "account (Account page) to go on, or try again later.",
    "sign_in": "Too many sign-in attempts reached the sign-in service from this site just now; wait a few minutes and try again.",
    "sign_up": "Too many accounts or confirmation emails were asked for from this site in the last hour (the sign-in service's limit); "
    "try again later.",
    "password": "Too many requests reached the sign-in service just now; wait a few minutes and try again.",
}


def gotrue_refusal(exc: Exception, action: str, email: str = "") -> Exception:
    """A GoTrue or transport failure of ``action`` ("sign_in", "sign_up", "guest", "password") as one of our errors."""
    from supabase_auth.errors import AuthApiError, AuthRetryableError, AuthWeakPasswordError
    from supabase_auth.errors import AuthError as GoTrueError

    if isinstance(exc, httpx.HTTPError | AuthRetryableError):
        return AuthUnavailable()
    if not isinstance(exc, GoTrueError):
        return exc
    status = getattr(exc, "status", 0) or 0
    code = getattr(exc, "code", None) or ""
    if status == 429 or code.startswith("over_"):
        return TooManyAttempts(RATE_LIMITED[action])
    if status >= 500 or status == 0:
        return AuthUnavailable()
    if isinstance(exc, AuthWeakPasswordError) or code == "weak_password":
        return InputInvalid({"password": "Choose a longer or less common password."})
    known = {
        "invalid_credentials": WRONG_PASSWORD,
        "user_already_exists": f"An account with {email} already exists; sign in instead.",
        "email_exists": f"An account with {email} already exists; sign in instead.",
        "email_not_confirmed": "Confirm your email address first (look for the message in your inbox), then sign in.",
        "anonymous_provider_disabled": "Guest sessions are turned off for this site; sign up for a free account instead.",
        "signup_disabled": "New accounts are turned off for this site.",
        "email_provider_disabled": "Signing in with an email address is turned off for this site.",
        "same_password": "The new password is the same as the old one; choose another.",
    }
    if code in known:
        return AuthError(known[code])
    if isinstance(exc, AuthApiError) and action == "sign_in" and status == 400:
        return AuthError(WRONG_PASSWORD)  # GoTrue before error codes answered a wrong password with a bare 400
    return AuthError(f"The sign-in service refused the request ({code or status}).")


def user_from_row(row: dict[str, Any], session: Any = None) -> User:
    """A ``profiles`` row as a ``User`` carrying its session's client."""
    return User(row["id"], row.get("email"), row.get("display_name") or "", row["tier"], row["role"], bool(row["is_guest"]), session=session)


class SupabaseUsers:
    """Sign up, sign in and guests through Supabase Auth; each session keeps its own client."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def _user_from(self, client: Any, user_id: str) -> User:
        rows = execute(client.table("profiles").select("*").eq("id", user_id).limit(1)).data
        if not rows:
            raise AuthError("Your account has no profile yet; try signing in again in a moment.")
        return user_from_row(rows[0], session=client)

    def user_of(self, client: Any, refresher: Callable[[], str] | None = None) -> User:
        """The user a signed-in client belongs to; an expired JWT is refreshed by ``refresher`` (else the client's own refresh token)."""
        session = client.auth.get_session()
        if session is None or session.user is None:
            raise AuthError("Your session has ended; sign in again.")
        on_expired(client, refresher or (lambda: own_refresh(client)))
        try:
            return self._user_from(client, session.user.id)
        except Exception:
            release_client(client)
            raise

    def _auth(self, call: Callable[[Any], Any], action: str, email: str = "") -> User:
        client = self._clients.new()
        try:
            response = call(client)
        except Exception as exc:
            release_client(client)
            raise gotrue_refusal(exc, action, email) from exc
        if response.session is None or response.user is None:
            release_client(client)
            raise AuthError("Check your inbox and confirm your email address, then sign in.")
        return self.user_of(client)

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User:
        email = check_credentials(email, password)
        data = {"display_name": display_name} if display_name else {}
        return self._auth(lambda c: c.auth.sign_up({"email": email, "password": password, "options": {"data": data}}), "sign_up", email)

    def sign_in(self, email: str, password: str) -> User:
        email = (email or "").strip().lower()
        return self._auth(lambda c: c.auth.sign_in_with_password({"email": email, "password": password}), "sign_in", email)

    def guest(self) -> User:
        return self._auth(lambda c: c.auth.sign_in_anonymously(), "guest")

    def sign_out(self, user: User, everywhere: bool = False) -> None:
        """Scope ``local`` (this browser's GoTrue session) or ``global`` (every session of the user)."""
        client = user.session
        if client is None:
            return
        try:
            client.auth.sign_out({"scope": "global" if everywhere else "local"})
        except Exception as exc:
            if everywhere:  # the other devices stay signed in: say so rather than pretend
                raise gotrue_refusal(exc, "password") from exc
        finally:
            release_client(client)

    def change_password(self, user: User, current: str, new: str) -> None:
        check_new_password(new)
        if user.is_guest or not user.email or user.session is None:
            raise AuthError("A guest has no password; sign up to choose one.")
        checker = self._clients.new()
        try:  # GoTrue changes a password without the old one; the app asks for it, as people expect
            checker.auth.sign_in_with_password({"email": user.email, "password": current or ""})
            with contextlib.suppress(Exception):
                checker.auth.sign_out({"scope": "local"})
        except Exception as exc:
            refusal = gotrue_refusal(exc, "sign_in", user.email)
            if isinstance(refusal, AuthError) and str(refusal) == WRONG_PASSWORD:
                raise AuthError("Your current password is not right; nothing was changed.") from exc
            raise refusal from exc
        finally:
            release_client(checker)
        try:
            user.session.auth.update_user({"password": new})
            user.session.auth.sign_out({"scope": "others"})  # the user's other devices sign in again
        except Exception as exc:
            raise gotrue_refusal(exc, "password") from exc

    def refresh_user(self, user: User) -> User:
        return self._user_from(self._clients.for_viewer(user), user.id)

    def set_profile(self, email: str, *, tier: str | None = None, role: str | None = None) -> User:
        changes = {k: v for k, v in (("tier", tier), ("role", role)) if v is not None}
        rows = execute(self._clients.admin().table("profiles").update(changes).eq("email", (email or "").strip().lower())).data
        if not rows:
            raise NotFoundError(f"No account uses {email}.")
        return user_from_row(rows[0])

    def release(self, user: User) -> None:
        release_client(user.session)


def own_refresh(client: Any) -> str:
    """Refresh ``client``'s access token with its own refresh token; ``SessionExpired`` when GoTrue refuses."""
    try:
        response = client.auth.refresh_session()
    except Exception as exc:
        refusal = gotrue_refusal(exc, "password")
        if isinstance(refusal, AuthUnavailable | TooManyAttempts):
            raise refusal from exc
        raise SessionExpired() from exc
    if response.session is None:
        raise SessionExpired()
    return response.session.access_token
