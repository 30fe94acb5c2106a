"""``SqliteStore``: the embedded default backend, one aggregate per attribute over one sqlite file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher

from store.common import now_utc
from store.sqlite.artifacts import SqliteArtifacts
from store.sqlite.comments import SqliteComments
from store.sqlite.db import Database
from store.sqlite.drafts import SqliteDrafts
from store.sqlite.health import SqliteHealth
from store.sqlite.models import SqliteModels
from store.sqlite.reviews import SqliteReviews
from store.sqlite.runs import SqliteRuns
from store.sqlite.sessions import SqliteSessions
from store.sqlite.social import SqliteSocial
from store.sqlite.users import SqliteUsers


class SqliteStore:
    """The embedded backend: ``users``, ``sessions``, ``models``, ``runs``, ``artifacts``, ``social``, ``drafts``, ``reviews``, ``comments`` and ``health`` share one ``Database``.

    Visibility rules mirror the RLS policies of supabase/migrations: public models are listable,
    unlisted ones readable by slug, private ones and drafts only by their owner; runs and saves only
    by their owner. ``get_setting``/``put_setting`` keep the seed loader's fingerprint.
    """

    kind = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        password_hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = now_utc,
        busy_timeout_s: float = 10.0,
        hash_slots: int = 4,
    ):
        self.db = Database(path, clock=clock, busy_timeout_s=busy_timeout_s)
        self.path = self.db.path
        self.users = SqliteUsers(self.db, password_hasher or PasswordHasher(), hash_slots=hash_slots)
        self.sessions = SqliteSessions(self.db)
        self.models = SqliteModels(self.db)
        self.runs = SqliteRuns(self.db)
        self.artifacts = SqliteArtifacts(self.db)
        self.social = SqliteSocial(self.db)
        self.drafts = SqliteDrafts(self.db)
        self.reviews = SqliteReviews(self.db)
        self.comments = SqliteComments(self.db)
        self.health = SqliteHealth(self.db)

    def get_setting(self, key: str) -> str | None:
        """A value the store keeps for itself (the seeds' fingerprint), or None."""
        row = self.db.one("SELECT value FROM local_settings WHERE key = ?", (key,))
        return row[0] if row else None

    def put_setting(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key``, replacing any earlier one."""
        with self.db.tx() as conn:
            conn.execute("INSERT INTO local_settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def close(self) -> None:
        self.db.close()
