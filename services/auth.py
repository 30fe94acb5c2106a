"""Identity: sign up / sign in with email and password, guest sessions, tiers and roles."""

from __future__ import annotations

from contracts.errors import AuthRequired, InputInvalid, PermissionDenied
from contracts.records import User
from contracts.rules import ROLES, TIERS
from store.base import Store


def require_user(user: User | None, action: str) -> User:
    """The user, or ``AuthRequired`` naming what they tried to do."""
    if user is None:
        raise AuthRequired(action)
    return user


class AuthService:
    def __init__(self, store: Store):
        self._store = store

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User:
        return self._store.users.sign_up(email, password, display_name)

    def sign_in(self, email: str, password: str) -> User:
        return self._store.users.sign_in(email, password)

    def guest(self) -> User:
        """An anonymous session: can run (free tier), save and publish; upgrade by signing up."""
        return self._store.users.guest()

    def sign_out(self, user: User | None) -> None:
        if user is not None:
            self._store.users.sign_out(user)

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
