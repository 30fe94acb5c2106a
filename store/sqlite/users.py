"""Identity on sqlite: accounts with argon2id password hashes, guest sessions, tiers and roles.

``local_credentials`` stands in for Supabase's ``auth.users``; ``profiles`` is the same table as in
the Supabase migrations.

argon2id with its default parameters takes 64 MiB per hash, so at most ``hash_slots`` (default 4,
``AUSTER_HASH_SLOTS``) hashes run at once: 16 concurrent sign-ins cost 256 MiB, not a gigabyte; the
others wait their turn (up to ``HASH_WAIT_S``), then are told the service is busy. A database that
is locked or cannot be read during a sign-in is "unavailable", never a wrong password.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contracts.errors import AuthError, AuthUnavailable, NotFoundError, StoreUnavailable
from contracts.records import User
from store.common import check_credentials, check_new_password, new_id, ts
from store.sqlite.db import Database

HASH_WAIT_S = 20.0
BUSY_HASHING = "Many people are signing in at this moment; try again in a few seconds."


def user_from_row(row: sqlite3.Row) -> User:
    """A ``profiles`` row as a ``User``."""
    return User(row["id"], row["email"], row["display_name"], row["tier"], row["role"], bool(row["is_guest"]))


class SqliteUsers:
    """Sign up, sign in, guests and profiles."""

    def __init__(self, db: Database, hasher: PasswordHasher, hash_slots: int = 4):
        self._db = db
        self._hasher = hasher
        self._slots = threading.BoundedSemaphore(max(1, hash_slots))

    @contextlib.contextmanager
    def _hash_slot(self) -> Iterator[None]:
        """One of the bounded slots for an argon2 hash (64 MiB each with the default parameters)."""
        if not self._slots.acquire(timeout=HASH_WAIT_S):
            raise AuthUnavailable(BUSY_HASHING)
        try:
            yield
        finally:
            self._slots.release()

    def _hash(self, password: str) -> str:
        with self._hash_slot():
            return self._hasher.hash(password)

    def _verify(self, stored: str, password: str) -> bool:
        with self._hash_slot():
            try:
                return self._hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False

    def _insert_user(self, conn: sqlite3.Connection, email: str | None, password_hash: str | None, display_name: str, guest: bool) -> str:
        user_id = new_id()
        stamp = ts(self._db.now())
        conn.execute("INSERT INTO local_credentials VALUES (?, ?, ?, ?, ?)", (user_id, email, password_hash, int(guest), stamp))
        conn.execute(
            "INSERT INTO profiles (id, email, display_name, is_guest, created_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, email, display_name, int(guest), stamp),
        )
        return user_id

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User:
        email = check_credentials(email, password)
        hashed = self._hash(password)
        try:
            with self._db.tx() as conn:
                user_id = self._insert_user(conn, email, hashed, (display_name or email.split("@")[0]).strip()[:80], False)
        except sqlite3.IntegrityError as exc:
            raise AuthError(f"An account with {email} already exists; sign in instead.") from exc
        return self.refresh_user(User(user_id, email, ""))

    def sign_in(self, email: str, password: str) -> User:
        email = (email or "").strip().lower()
        try:
            row = self._db.one("SELECT user_id, password_hash FROM local_credentials WHERE email = ?", (email,))
            if row is None or row["password_hash"] is None or not self._verify(row["password_hash"], password or ""):
                if row is None or row["password_hash"] is None:
                    self._hash(password or "")  # same cost whether or not the account exists
                raise AuthError("That email and password do not match an account; check them or sign up.")
            if self._hasher.check_needs_rehash(row["password_hash"]):
                rehashed = self._hash(password)
                with self._db.tx() as conn:
                    conn.execute("UPDATE local_credentials SET password_hash = ? WHERE user_id = ?", (rehashed, row["user_id"]))
            return self.refresh_user(User(row["user_id"], email, ""))
        except StoreUnavailable as exc:
            if isinstance(exc, AuthUnavailable):
                raise
            raise AuthUnavailable() from exc

    def guest(self) -> User:
        with self._db.tx() as conn:
            user_id = self._insert_user(conn, None, None, f"Guest {uuid.uuid4().hex[:4]}", True)
        return self.refresh_user(User(user_id, None, ""))

    def sign_out(self, user: User, everywhere: bool = False) -> None:
        return None  # the embedded store's sessions are the sessions store's rows, revoked by the services

    def change_password(self, user: User, current: str, new: str) -> None:
        check_new_password(new)
        row = self._db.one("SELECT password_hash FROM local_credentials WHERE user_id = ?", (user.id,))
        if row is None or row["password_hash"] is None:
            raise AuthError("A guest has no password; sign up to choose one.")
        if not self._verify(row["password_hash"], current or ""):
            raise AuthError("Your current password is not right; nothing was changed.")
        hashed = self._hash(new)
        with self._db.tx() as conn:
            conn.execute("UPDATE local_credentials SET password_hash = ? WHERE user_id = ?", (hashed, user.id))

    def release(self, user: User) -> None:
        return None

    def refresh_user(self, user: User) -> User:
        row = self._db.one("SELECT * FROM profiles WHERE id = ?", (user.id,))
        if row is None:
            raise AuthError("This account no longer exists; sign up or continue as a guest.")
        return user_from_row(row)

    def set_profile(self, email: str, *, tier: str | None = None, role: str | None = None) -> User:
        row = self._db.one("SELECT id FROM profiles WHERE email = ?", ((email or "").strip().lower(),))
        if row is None:
            raise NotFoundError(f"No account uses {email}.")
        with self._db.tx() as conn:
            if tier is not None:
                conn.execute("UPDATE profiles SET tier = ? WHERE id = ?", (tier, row["id"]))
            if role is not None:
                conn.execute("UPDATE profiles SET role = ? WHERE id = ?", (role, row["id"]))
        return self.refresh_user(User(row["id"], email, ""))

    def user_by_email(self, email: str) -> User | None:
        """Operator tasks (the CLI): the account with this email, without its password."""
        row = self._db.one("SELECT * FROM profiles WHERE email = ?", ((email or "").strip().lower(),))
        return user_from_row(row) if row else None

    def owner_of_run(self, run_id: str) -> User | None:
        """Operator tasks (the CLI): who made this run."""
        row = self._db.one("SELECT p.* FROM model_runs r JOIN profiles p ON p.id = r.user_id WHERE r.id = ?", (run_id,))
        return user_from_row(row) if row else None
