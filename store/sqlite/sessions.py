"""Sessions on sqlite: an opaque token per browser (in its cookie), kept here only as its SHA-256 with an expiry."""

from __future__ import annotations

from datetime import timedelta

from contracts.records import IssuedSession, User
from store.common import new_id, new_session_token, session_token_hash, ts
from store.sqlite.db import Database
from store.sqlite.users import user_from_row

LIVE = "s.revoked_at IS NULL AND s.expires_at > ?"


class SqliteSessions:
    """Start, resume and revoke sessions; nothing here can turn the stored hash back into a token."""

    def __init__(self, db: Database):
        self._db = db

    def start(self, user: User, ttl_s: float) -> IssuedSession:
        token, session_id, now = new_session_token(), new_id(), self._db.now()
        expires = now + timedelta(seconds=ttl_s)
        with self._db.tx() as conn:
            conn.execute(
                "INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, user.id, session_token_hash(token), ts(now), ts(expires), ts(now)),
            )
        return IssuedSession(session_id, user.id, token, expires)

    def resume(self, token: str) -> User | None:
        if not token:
            return None
        now = ts(self._db.now())
        row = self._db.one(
            f"SELECT p.*, s.id AS session_id FROM sessions s JOIN profiles p ON p.id = s.user_id WHERE s.token_hash = ? AND {LIVE}",
            (session_token_hash(token), now),
        )
        if row is None:
            return None
        with self._db.tx() as conn:
            conn.execute("UPDATE sessions SET last_used_at = ? WHERE id = ?", (now, row["session_id"]))
        return user_from_row(row)

    def is_live(self, token: str) -> bool:
        row = self._db.one(f"SELECT 1 FROM sessions s WHERE s.token_hash = ? AND {LIVE}", (session_token_hash(token), ts(self._db.now())))
        return row is not None

    def end(self, token: str) -> None:
        with self._db.tx() as conn:
            conn.execute("UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL", (ts(self._db.now()), session_token_hash(token)))

    def end_all(self, user_id: str, keep_token: str | None = None) -> int:
        now = ts(self._db.now())
        keep = session_token_hash(keep_token) if keep_token else ""
        with self._db.tx() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND token_hash <> ? AND revoked_at IS NULL AND expires_at > ?",
                (now, user_id, keep, now),
            )
            return cursor.rowcount
