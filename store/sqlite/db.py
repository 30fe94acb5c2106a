"""The embedded store's plumbing: one sqlite connection in WAL mode, its lock, transactions and migrations.

One connection guarded by a lock serves every thread of the process (sqlite work here takes
microseconds); writes that must be atomic run in ``BEGIN IMMEDIATE`` transactions, which also
serialise them against other processes using the same file. Every aggregate of the backend
(``store.sqlite.users``, ``models``, ``runs``, ``artifacts``, ``social``) shares one ``Database``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.errors import StoreUnavailable
from store.common import now_utc, ts
from store.sqlite.schema import MIGRATIONS

log = logging.getLogger(__name__)

Params = tuple[Any, ...] | list[Any]


READ_ONLY = (
    "The app cannot write to its database (the file or its folder is read-only), so nothing can be saved; "
    "give the app write access to both, or set AUSTER_DB_PATH to a writable place."
)
BUSY = "The database is busy or unavailable; try again in a moment."


def sentence_for(exc: sqlite3.Error) -> str:
    """What a failed sqlite call means to the person using the app (no path, no traceback)."""
    text = str(exc).lower()
    if "readonly" in text or "read-only" in text or "unable to open database" in text:
        return READ_ONLY
    return BUSY


@contextmanager
def unavailable_as_sentence() -> Iterator[None]:
    """A database that is locked by another process past the busy timeout, read-only, or whose disk
    fails, is a ``StoreUnavailable`` (a sentence the pages show), not a traceback."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        log.warning("sqlite: %s", exc)
        raise StoreUnavailable(sentence_for(exc)) from exc


def statements(script: str) -> Iterator[str]:
    """The complete SQL statements of ``script`` in order (a trigger body's semicolons stay inside its statement)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending.strip()
            pending = ""
    if pending.strip(" \n;"):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending.strip()[:80]}")


class Database:
    """The connection every aggregate of the sqlite backend uses, migrated on open."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], datetime] = now_utc,
        busy_timeout_s: float = 10.0,
        migrations: list[tuple[int, str]] | None = None,
    ):
        self.path = str(path)
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.warning("sqlite: cannot create the folder of %s: %s", self.path, exc)
                raise StoreUnavailable(READ_ONLY) from exc
        self.clock = clock
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_s)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            self.migrate(MIGRATIONS if migrations is None else migrations)
        except sqlite3.OperationalError as exc:
            log.warning("sqlite: opening %s: %s", self.path, exc)
            raise StoreUnavailable(sentence_for(exc)) from exc

    def now(self) -> datetime:
        """The backend's clock (tests pass a fake one)."""
        return self.clock()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the database lock up front (atomic across threads and processes)."""
        with self._lock, unavailable_as_sentence():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # a failed COMMIT leaves it open too
                    self._conn.execute("ROLLBACK")
                raise

    def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Every row of one read."""
        with self._lock, unavailable_as_sentence():
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row of one read, or None."""
        with self._lock, unavailable_as_sentence():
            return self._conn.execute(sql, params).fetchone()

    def migrate(self, migrations: list[tuple[int, str]]) -> int:
        """Apply every migration not yet applied, each in one transaction; return how many ran.

        Foreign keys are off while a migration runs (sqlite ignores the pragma inside a transaction,
        so it is set around it) and checked before it commits: a table rebuild drops and renames
        tables that others reference, which must neither cascade nor leave a dangling reference.
        """
        with self._lock:
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row[0] for row in self._conn.execute("SELECT version FROM schema_migrations")}
            return sum(self._apply(version, sql) for version, sql in migrations if version not in done)

    def _apply(self, version: int, sql: str) -> bool:
        """Apply one migration in one transaction; False when another process applied it first."""
        self._conn.execute("PRAGMA foreign_keys=OFF")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if self._conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                    self._conn.execute("ROLLBACK")  # another process applied it while this one waited for the lock
                    return False
                for statement in statements(sql):
                    self._conn.execute(statement)
                broken = self._conn.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise sqlite3.IntegrityError(f"Migration {version} would leave {len(broken)} dangling reference(s), the first in table {broken[0][0]}.")
                self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, ts(self.clock())))
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return True
        finally:
            self._conn.execute("PRAGMA foreign_keys=ON")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
