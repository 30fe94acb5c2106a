"""Sessions on Supabase: the browser's cookie holds an opaque token; behind it, GoTrue's own refresh token.

A row of ``public.sessions`` (20250101000010, the server's alone) keeps the SHA-256 of the token,
the expiry, and the user's current GoTrue refresh token sealed with AES-GCM under a key derived from
the token (``seal``): whoever reads the table without a browser's cookie opens nothing. A browser
that comes back (a reload, a new tab, a shared link) presents its token; ``resume`` opens the
refresh token, asks GoTrue for a new session with it (GoTrue rotates the refresh token: the old one
is spent) and stores the new one, conditionally on the row's ``generation`` so that two tabs
refreshing at once cannot both write: the loser reads the winner's token and refreshes with it.
The same happens on demand when a request meets an expired JWT (``execute``'s refresher); nothing
refreshes on a timer.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from datetime import timedelta
from typing import Any

from contracts.errors import AuthError, AuthUnavailable, SessionExpired, StoreUnavailable, TooManyAttempts
from contracts.records import IssuedSession, User
from store.common import new_id, new_session_token, now_utc, session_token_hash, ts
from store.supabase.client import Clients, execute, on_expired, release_client
from store.supabase.users import SupabaseUsers, gotrue_refusal

ROTATION_TRIES = 5
NO_SERVER_KEY = "Keeping sessions across visits on Supabase needs SUPABASE_SERVICE_ROLE_KEY on the app server; this sign-in lasts until the tab closes."


def _key(token: str) -> bytes:
    return hashlib.sha256(b"auster-session-key:" + token.encode()).digest()


def seal(refresh_token: str, token: str, session_id: str) -> str:
    """The refresh token encrypted (AES-256-GCM) under a key only the browser's token gives, bound to the session's id."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(_key(token)).encrypt(nonce, refresh_token.encode(), session_id.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(sealed: str, token: str, session_id: str) -> str | None:
    """The refresh token, or None when the token does not open it."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(_key(token)).decrypt(raw[:12], raw[12:], session_id.encode()).decode()
    except (InvalidTag, ValueError):
        return None


class SupabaseSessions:
    """Start, resume (refresh on demand), and revoke sessions kept behind browsers' cookies."""

    def __init__(self, clients: Clients, users: SupabaseUsers):
        self._clients = clients
        self._users = users
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _table(self) -> Any:
        if not self._clients.has_server_key:
            raise StoreUnavailable(NO_SERVER_KEY)
        return self._clients.server().table("sessions")

    def _lock(self, session_id: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(session_id, threading.Lock())

    def _live_row(self, token: str) -> dict[str, Any] | None:
        rows = execute(
            self._table().select("*").eq("token_hash", session_token_hash(token)).is_("revoked_at", "null").gt("expires_at", ts(now_utc())).limit(1)
        ).data
        return rows[0] if rows else None

    def start(self, user: User, ttl_s: float) -> IssuedSession:
        client = user.session
        current = client.auth.get_session() if client is not None else None
        if current is None or not current.refresh_token:
            raise AuthError("Your session has ended; sign in again.")
        token, expires, session_id = new_session_token(), now_utc() + timedelta(seconds=ttl_s), new_id()
        execute(self._table().insert({
            "id": session_id, "user_id": user.id, "token_hash": session_token_hash(token), "expires_at": ts(expires),
            "refresh_token_sealed": seal(current.refresh_token, token, session_id), "last_used_at": ts(now_utc()),
        }))
        on_expired(client, lambda: self._rotate(token, client))
        return IssuedSession(session_id, user.id, token, expires)

    def resume(self, token: str) -> User | None:
        if not token or not self._clients.has_server_key:
            return None
        client = self._clients.new()
        try:
            self._rotate(token, client)
            return self._users.user_of(client, lambda: self._rotate(token, client))
        except SessionExpired:
            release_client(client)
            return None
        except Exception:
            release_client(client)
            raise

    def _rotate(self, token: str, client: Any) -> str:
        """Refresh ``client`` with the session's refresh token, store the rotated one; return the new access token."""
        row = self._live_row(token)
        if row is None:
            raise SessionExpired()
        with self._lock(row["id"]):
            for attempt in range(ROTATION_TRIES):
                if attempt:
                    row = self._live_row(token)
                    if row is None:
                        raise SessionExpired()
                refresh_token = unseal(row.get("refresh_token_sealed") or "", token, row["id"])
                if refresh_token is None:
                    raise SessionExpired()
                try:
                    session = client.auth.refresh_session(refresh_token).session
                except Exception as exc:
                    refusal = gotrue_refusal(exc, "password")
                    if isinstance(refusal, AuthUnavailable | TooManyAttempts):
                        raise refusal from exc
                    if getattr(exc, "code", "") == "refresh_token_already_used":
                        time.sleep(0.05 * (attempt + 1))  # another tab rotated it: read its token and go again
                        continue
                    self.end(token)  # revoked by GoTrue (sign-out everywhere, a password change): this session is over
                    raise SessionExpired() from exc
                if session is None:
                    raise SessionExpired()
                execute(
                    self._table().update({
                        "refresh_token_sealed": seal(session.refresh_token, token, row["id"]), "generation": row["generation"] + 1,
                        "last_used_at": ts(now_utc()),
                    }).eq("id", row["id"]).eq("generation", row["generation"])
                )
                return session.access_token
        raise SessionExpired()

    def is_live(self, token: str) -> bool:
        if not self._clients.has_server_key:
            return True  # nothing is kept, nothing can be revoked here: the tab's own session decides
        return self._live_row(token) is not None

    def end(self, token: str) -> None:
        execute(self._table().update({"revoked_at": ts(now_utc())}).eq("token_hash", session_token_hash(token)).is_("revoked_at", "null"))

    def end_all(self, user_id: str, keep_token: str | None = None) -> int:
        request = self._table().update({"revoked_at": ts(now_utc())}).eq("user_id", user_id).is_("revoked_at", "null").gt("expires_at", ts(now_utc()))
        if keep_token:
            request = request.neq("token_hash", session_token_hash(keep_token))
        return len(execute(request).data or [])
