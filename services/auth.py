"""Identity: sign up / sign in with email and password, guest sessions, sessions that outlast a tab, tiers and roles.

Limits (``services.throttle``): sign-ins are throttled per account and per client address with
growing delays, checked before any password is hashed; guests are created only when a visitor first
needs an identity, at most so many per client address and in total per hour. A session started
here (``start_session``) is an opaque token for the browser's cookie; ``resume`` gives its user back
on a reload, a new tab or an opened link. Sign-out revokes it; a password change revokes the user's
other sessions; "sign out everywhere" revokes all of them.
"""

from __future__ import annotations

from contracts.errors import AuthError, AuthRequired, InputInvalid, PermissionDenied
from contracts.records import IssuedSession, User
from contracts.rules import ROLES, SESSION_TTL_S, TIERS
from services.throttle import GuestCaps, MemoryEvents, SignInThrottle
from store.base import Store


def require_user(user: User | None, action: str) -> User:
    """The user, or ``AuthRequired`` naming what they tried to do."""
    if user is None:
        raise AuthRequired(action)
    return user


class AuthService:
    def __init__(
        self,
        store: Store,
        *,
        throttle: SignInThrottle | None = None,
        guest_caps: GuestCaps | None = None,
        session_ttl_s: float = SESSION_TTL_S,
    ):
        self._store = store
        events = MemoryEvents()
        self.throttle = throttle or SignInThrottle(events)
        self.guest_caps = guest_caps or GuestCaps(events, per_address=5, total=60)
        self._session_ttl_s = session_ttl_s

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User:
        return self._store.users.sign_up(email, password, display_name)

    def sign_in(self, email: str, password: str, address: str | None = None) -> User:
        """Sign in, unless this account or address must wait after repeated failures (``TooManyAttempts``)."""
        account = (email or "").strip().lower()
        self.throttle.check(account, address)
        try:
            user = self._store.users.sign_in(email, password)
        except AuthError as exc:
            if type(exc) is AuthError:  # a refusal of the credentials, not an outage or a limit
                self.throttle.failed(account, address)
            raise
        self.throttle.succeeded(account)
        return user

    def guest(self, address: str | None = None) -> User:
        """An anonymous identity (free tier, a guest's daily runs), within the per-address and hourly caps."""
        self.guest_caps.check(address)
        user = self._store.users.guest()
        self.guest_caps.created(address)
        return user

    def sign_out(self, user: User | None, token: str | None = None, everywhere: bool = False) -> None:
        """Revoke this browser's session (``token``), or every session of the user (``everywhere``)."""
        if user is None:
            return
        try:
            if everywhere:
                self._store.sessions.end_all(user.id)
            elif token:
                self._store.sessions.end(token)
        finally:
            self._store.users.sign_out(user, everywhere)

    def change_password(self, user: User | None, current: str, new: str, token: str | None = None) -> None:
        """Change the password; every other session of the user ends (this browser's, ``token``, goes on)."""
        user = require_user(user, "change your password")
        self._store.users.change_password(user, current, new)
        self._store.sessions.end_all(user.id, keep_token=token)

    def start_session(self, user: User) -> IssuedSession:
        """A session for this browser's cookie (the token is returned once and stored only hashed)."""
        return self._store.sessions.start(user, self._session_ttl_s)

    def resume(self, token: str | None) -> User | None:
        """The user behind a browser's cookie, or None (unknown, expired or revoked)."""
        return self._store.sessions.resume(token) if token else None

    def session_is_live(self, token: str) -> bool:
        return self._store.sessions.is_live(token)

    def release(self, user: User | None) -> None:
        """Free what a browser session held for this user (its Supabase client's connections)."""
        if user is not None:
            self._store.users.release(user)

    def refresh(self, user: User) -> User:
        """The user with their current tier and role (an admin may have changed them)."""
        return self._store.users.refresh_user(user)

    def set_tier(self, admin: User | None, email: str, tier: str) -> User:
        self._require_admin(admin)
        if tier not in TIERS:
            raise InputInvalid({"tier": f"Choose a tier among {', '.join(TIERS)}."})
        return self._store.users.set_profile(email, tier=tier)

    def set_role(self, admin: User | None, email: str, role: str) -> User:
        self._require_admin(admin)
        if role not in ROLES:
            raise InputInvalid({"role": f"Choose a role among {', '.join(ROLES)}."})
        return self._store.users.set_profile(email, role=role)

    @staticmethod
    def _require_admin(user: User | None) -> None:
        if user is None or not user.is_admin:
            raise PermissionDenied("Only an administrator can change tiers and roles.")
