"""Identity on Supabase Auth: email and password accounts, anonymous guests, profiles."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx

from contracts.errors import AuthError, NotFoundError, StoreUnavailable
from contracts.records import User
from store.common import check_credentials
from store.supabase.client import Clients, execute


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

    def _auth(self, call: Callable[[Any], Any], refusal: str) -> User:
        from supabase_auth.errors import AuthError as GoTrueError

        client = self._clients.new()
        try:
            response = call(client)
        except GoTrueError as exc:
            raise AuthError(refusal if "credentials" in str(exc).lower() else f"{refusal} ({exc})") from exc
        except httpx.HTTPError as exc:
            raise StoreUnavailable("The sign-in service did not answer; try again in a moment.") from exc
        if response.session is None or response.user is None:
            raise AuthError("Check your inbox and confirm your email address, then sign in.")
        return self._user_from(client, response.user.id)

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User:
        email = check_credentials(email, password)
        data = {"display_name": display_name} if display_name else {}
        return self._auth(lambda c: c.auth.sign_up({"email": email, "password": password, "options": {"data": data}}), "Could not create the account")

    def sign_in(self, email: str, password: str) -> User:
        email = (email or "").strip().lower()
        return self._auth(
            lambda c: c.auth.sign_in_with_password({"email": email, "password": password}),
            "That email and password do not match an account; check them or sign up.",
        )

    def guest(self) -> User:
        return self._auth(lambda c: c.auth.sign_in_anonymously(), "Guest sessions are turned off for this project; sign up instead")

    def sign_out(self, user: User) -> None:
        if user.session is not None:
            with contextlib.suppress(Exception):  # signing out locally is what matters
                user.session.auth.sign_out()

    def refresh_user(self, user: User) -> User:
        return self._user_from(self._clients.for_viewer(user), user.id)

    def set_profile(self, email: str, *, tier: str | None = None, role: str | None = None) -> User:
        changes = {k: v for k, v in (("tier", tier), ("role", role)) if v is not None}
        rows = execute(self._clients.admin().table("profiles").update(changes).eq("email", (email or "").strip().lower())).data
        if not rows:
            raise NotFoundError(f"No account uses {email}.")
        return user_from_row(rows[0])
