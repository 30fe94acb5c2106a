"""The embedded store: one sqlite file in WAL mode, migrated on open, every query parameterised.

One connection guarded by a lock serves every thread of the process (sqlite work here takes
microseconds); writes that must be atomic run in ``BEGIN IMMEDIATE`` transactions, which also
serialise them against other processes using the same file. Visibility rules mirror the RLS
policies of supabase/migrations: public models are listable, unlisted ones readable by slug,
private ones and drafts only by their author; runs and saves only by their owner.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contracts.artifact import ArtifactModel, ArtifactPayload, ArtifactRun, ArtifactVersion
from contracts.dsl import ModelMeta
from contracts.errors import AuthError, ConflictError, InputInvalid, NotFoundError, PermissionDenied, RateLimitExceeded, StoreUnavailable
from contracts.records import (
    Artifact,
    Model,
    ModelQuery,
    ModelSummary,
    ModelVersion,
    Rating,
    RatingSummary,
    RunRecord,
    User,
)
from contracts.rules import RUNS_PER_MINUTE_PER_MODEL, daily_limit
from store.common import CACHE_TTL, check_credentials, day_start, dt, like_pattern, new_id, now_utc, ts
from store.sqlite_schema import MIGRATIONS

log = logging.getLogger(__name__)


LISTING_SQL = """
SELECT m.*,
       COALESCE((SELECT SUM(u.runs) FROM model_usage_daily u WHERE u.model_id = m.id AND u.day >= ?), 0) AS runs_30d,
       (SELECT ROUND(AVG(r.rating), 2) FROM model_ratings r WHERE r.model_id = m.id) AS rating_avg,
       (SELECT COUNT(*) FROM model_ratings r WHERE r.model_id = m.id) AS rating_count
FROM models m
"""

ORDER = {
    "popular": "runs_30d DESC, rating_count DESC, m.created_at DESC",
    "top_rated": "rating_avg IS NULL, rating_avg DESC, rating_count DESC, m.created_at DESC",
    "newest": "m.created_at DESC",
}


@contextmanager
def _unavailable_as_sentence() -> Iterator[None]:
    """A database that is locked by another process past the busy timeout, or whose disk fails, is a
    ``StoreUnavailable`` (a sentence the pages show), not a traceback."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        log.warning("sqlite: %s", exc)
        raise StoreUnavailable("The database is busy or unavailable; try again in a moment.") from exc


class SqliteStore:
    """The embedded default backend."""

    kind = "sqlite"

    def __init__(self, path: str | Path, *, password_hasher: PasswordHasher | None = None, clock: Any = now_utc, busy_timeout_s: float = 10.0):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._hasher = password_hasher or PasswordHasher()
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=busy_timeout_s)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        self.migrate()

    # ----------------------------------------------------------------- plumbing
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the database lock up front (atomic across threads and processes)."""
        with self._lock, _unavailable_as_sentence():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:  # a failed COMMIT leaves it open too
                    self._conn.execute("ROLLBACK")
                raise

    def _all(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with self._lock, _unavailable_as_sentence():
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Row | None:
        with self._lock, _unavailable_as_sentence():
            return self._conn.execute(sql, params).fetchone()

    def migrate(self) -> int:
        """Apply every migration not yet applied; return how many ran."""
        with self._lock:
            self._conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {row[0] for row in self._conn.execute("SELECT version FROM schema_migrations")}
            ran = 0
            for version, sql in MIGRATIONS:
                if version in done:
                    continue
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in (s.strip() for s in sql.split(";")):
                        if statement:
                            self._conn.execute(statement)
                    self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, ts(self._clock())))
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                ran += 1
            return ran

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # ----------------------------------------------------------------- identity
    def _user(self, row: sqlite3.Row) -> User:
        return User(row["id"], row["email"], row["display_name"], row["tier"], row["role"], bool(row["is_guest"]))

    def _insert_user(self, conn: sqlite3.Connection, email: str | None, password_hash: str | None, display_name: str, guest: bool) -> str:
        user_id = new_id()
        stamp = ts(self._clock())
        conn.execute("INSERT INTO local_credentials VALUES (?, ?, ?, ?, ?)", (user_id, email, password_hash, int(guest), stamp))
        conn.execute(
            "INSERT INTO profiles (id, email, display_name, is_guest, created_at) VALUES (?, ?, ?, ?, ?)",
            (user_id, email, display_name, int(guest), stamp),
        )
        return user_id

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User:
        email = check_credentials(email, password)
        hashed = self._hasher.hash(password)
        try:
            with self._tx() as conn:
                user_id = self._insert_user(conn, email, hashed, (display_name or email.split("@")[0]).strip()[:80], False)
        except sqlite3.IntegrityError as exc:
            raise AuthError(f"An account with {email} already exists; sign in instead.") from exc
        return self.refresh_user(User(user_id, email, ""))

    def sign_in(self, email: str, password: str) -> User:
        email = (email or "").strip().lower()
        row = self._one("SELECT user_id, password_hash FROM local_credentials WHERE email = ?", (email,))
        refusal = AuthError("That email and password do not match an account; check them or sign up.")
        if row is None or row["password_hash"] is None:
            self._hasher.hash(password or "")  # same cost whether or not the account exists
            raise refusal
        try:
            self._hasher.verify(row["password_hash"], password or "")
        except (VerificationError, InvalidHashError) as exc:
            raise refusal from exc
        if self._hasher.check_needs_rehash(row["password_hash"]):
            with self._tx() as conn:
                conn.execute("UPDATE local_credentials SET password_hash = ? WHERE user_id = ?", (self._hasher.hash(password), row["user_id"]))
        return self.refresh_user(User(row["user_id"], email, ""))

    def guest(self) -> User:
        with self._tx() as conn:
            user_id = self._insert_user(conn, None, None, f"Guest {uuid.uuid4().hex[:4]}", True)
        return self.refresh_user(User(user_id, None, ""))

    def sign_out(self, user: User) -> None:
        return None

    def refresh_user(self, user: User) -> User:
        row = self._one("SELECT * FROM profiles WHERE id = ?", (user.id,))
        if row is None:
            raise AuthError("This account no longer exists; sign up or continue as a guest.")
        return self._user(row)

    def set_profile(self, email: str, *, tier: str | None = None, role: str | None = None) -> User:
        row = self._one("SELECT id FROM profiles WHERE email = ?", ((email or "").strip().lower(),))
        if row is None:
            raise NotFoundError(f"No account uses {email}.")
        with self._tx() as conn:
            if tier is not None:
                conn.execute("UPDATE profiles SET tier = ? WHERE id = ?", (tier, row["id"]))
            if role is not None:
                conn.execute("UPDATE profiles SET role = ? WHERE id = ?", (role, row["id"]))
        return self.refresh_user(User(row["id"], email, ""))

    def user_by_email(self, email: str) -> User | None:
        """Operator tasks (the CLI): the account with this email, without its password."""
        row = self._one("SELECT * FROM profiles WHERE email = ?", ((email or "").strip().lower(),))
        return self._user(row) if row else None

    def owner_of_run(self, run_id: str) -> User | None:
        """Operator tasks (the CLI): who made this run."""
        row = self._one("SELECT p.* FROM model_runs r JOIN profiles p ON p.id = r.user_id WHERE r.id = ?", (run_id,))
        return self._user(row) if row else None

    # ----------------------------------------------------------------- models
    def _summary(self, row: sqlite3.Row) -> ModelSummary:
        keys = row.keys()
        return ModelSummary(
            id=row["id"],
            slug=row["slug"],
            name=row["name"],
            description=row["description"],
            lab_scope=row["lab_scope"],
            tags=tuple(json.loads(row["tags"])),
            difficulty=row["difficulty"],
            visibility=row["visibility"],
            author_id=row["author_id"],
            forked_from_id=row["forked_from_id"],
            created_at=dt(row["created_at"]),
            updated_at=dt(row["updated_at"]),
            runs_30d=int(row["runs_30d"]) if "runs_30d" in keys else 0,
            rating_avg=row["rating_avg"] if "rating_avg" in keys else None,
            rating_count=int(row["rating_count"]) if "rating_count" in keys else 0,
        )

    @staticmethod
    def _version(row: sqlite3.Row) -> ModelVersion:
        return ModelVersion(
            id=row["id"],
            model_id=row["model_id"],
            version=row["version"],
            dsl=json.loads(row["dsl_json"]),
            input_schema=json.loads(row["input_schema"]),
            output_schema=json.loads(row["output_schema"]),
            changelog=row["changelog"],
            status=row["status"],
            created_by=row["created_by"],
            created_at=dt(row["created_at"]),
        )

    def list_models(self, viewer: User | None, query: ModelQuery) -> list[ModelSummary]:
        viewer_id = viewer.id if viewer else None
        since = (self._clock().astimezone(UTC).date() - timedelta(days=30)).isoformat()
        where = ["(m.visibility = 'public' OR m.author_id = ?)"]
        params: list[Any] = [since, viewer_id]
        if query.only_mine:
            where.append("m.author_id = ?")
            params.append(viewer_id)
        if query.saved_only:
            where.append("EXISTS (SELECT 1 FROM model_saves s WHERE s.model_id = m.id AND s.user_id = ?)")
            params.append(viewer_id)
        if query.lab_scope:
            where.append("m.lab_scope IN (?, 'both')")
            params.append(query.lab_scope)
        if query.difficulty:
            where.append("m.difficulty = ?")
            params.append(query.difficulty)
        for tag in query.tags:
            where.append("EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value = ?)")
            params.append(tag)
        for word in query.text.split():
            pattern = like_pattern(word)
            where.append(
                "(m.name LIKE ? ESCAPE '\\' OR m.description LIKE ? ESCAPE '\\' OR m.slug LIKE ? ESCAPE '\\'"
                " OR EXISTS (SELECT 1 FROM json_each(m.tags) t WHERE t.value = ?))"
            )
            params += [pattern, pattern, pattern, word.lower()]
        order = ORDER.get(query.sort)
        if order is None:
            raise InputInvalid({"sort": f"Sort by one of {', '.join(ORDER)}."})
        sql = f"{LISTING_SQL} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
        params.append(int(query.limit))
        return [self._summary(row) for row in self._all(sql, params)]

    def _model_row(self, slug: str, viewer: User | None) -> sqlite3.Row | None:
        since = (self._clock().astimezone(UTC).date() - timedelta(days=30)).isoformat()
        return self._one(
            f"{LISTING_SQL} WHERE m.slug = ? AND (m.visibility IN ('public', 'unlisted') OR m.author_id = ?)",
            (since, slug, viewer.id if viewer else None),
        )

    def get_model(self, slug: str, viewer: User | None) -> Model | None:
        row = self._model_row(slug, viewer)
        if row is None:
            return None
        latest = None
        if row["current_version_id"]:
            vrow = self._one("SELECT * FROM model_versions WHERE id = ?", (row["current_version_id"],))
            latest = self._version(vrow) if vrow else None
        return Model(self._summary(row), latest)

    def list_versions(self, slug: str, viewer: User | None) -> list[ModelVersion]:
        row = self._model_row(slug, viewer)
        if row is None:
            return []
        own = viewer is not None and row["author_id"] == viewer.id
        rows = self._all(
            "SELECT * FROM model_versions WHERE model_id = ? AND (status = 'published' OR ?) ORDER BY version DESC",
            (row["id"], int(own)),
        )
        return [self._version(r) for r in rows]

    def _insert_model(self, conn: sqlite3.Connection, author_id: str | None, meta: ModelMeta, visibility: str, forked_from: str | None, changelog: str) -> str:
        model_id, version_id = new_id(), new_id()
        stamp = ts(self._clock())
        try:
            conn.execute(
                "INSERT INTO models (id, slug, name, description, author_id, lab_scope, tags, difficulty, visibility, forked_from_id,"
                " current_version_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (model_id, meta.slug, meta.name, meta.description, author_id, meta.lab_scope, json.dumps(meta.tags), meta.difficulty, visibility, forked_from, stamp, stamp),
            )
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"The address '{meta.slug}' is taken; choose another slug.") from exc
        conn.execute(
            "INSERT INTO model_versions (id, model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by, created_at)"
            " VALUES (?, ?, 1, ?, ?, ?, ?, 'published', ?, ?)",
            (version_id, model_id, json.dumps(meta.dsl), json.dumps(meta.input_schema), json.dumps(meta.output_schema), changelog, author_id, stamp),
        )
        conn.execute("UPDATE models SET current_version_id = ? WHERE id = ?", (version_id, model_id))
        return model_id

    def create_model(self, owner: User | None, meta: ModelMeta, visibility: str = "private") -> Model:
        with self._tx() as conn:
            self._insert_model(conn, owner.id if owner else None, meta, visibility, None, "First version")
        model = self.get_model(meta.slug, owner)
        assert model is not None
        return model

    def _own_model(self, viewer: User, model_id: str) -> sqlite3.Row:
        row = self._one("SELECT * FROM models WHERE id = ?", (model_id,))
        if row is None or (row["author_id"] != viewer.id and row["visibility"] == "private"):
            raise NotFoundError("That model does not exist or is private.")
        if row["author_id"] != viewer.id:
            raise PermissionDenied("Only the author can change this model; fork it to make your own copy.")
        return row

    def add_version(
        self, viewer: User, model_id: str, dsl: dict[str, Any], input_schema: dict[str, Any], output_schema: dict[str, Any], changelog: str, status: str = "published"
    ) -> ModelVersion:
        self._own_model(viewer, model_id)
        version_id = new_id()
        stamp = ts(self._clock())
        with self._tx() as conn:
            number = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = ?", (model_id,)).fetchone()[0]
            conn.execute(
                "INSERT INTO model_versions (id, model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (version_id, model_id, number, json.dumps(dsl), json.dumps(input_schema), json.dumps(output_schema), changelog, status, viewer.id, stamp),
            )
            if status == "published":
                conn.execute("UPDATE models SET current_version_id = ?, updated_at = ? WHERE id = ?", (version_id, stamp, model_id))
        row = self._one("SELECT * FROM model_versions WHERE id = ?", (version_id,))
        assert row is not None
        return self._version(row)

    def set_visibility(self, viewer: User, model_id: str, visibility: str) -> None:
        self._own_model(viewer, model_id)
        with self._tx() as conn:
            conn.execute("UPDATE models SET visibility = ?, updated_at = ? WHERE id = ?", (visibility, ts(self._clock()), model_id))

    def fork_model(self, viewer: User, source_slug: str, new_slug: str, name: str | None) -> Model:
        source = self.get_model(source_slug, viewer)
        if source is None or source.latest is None:
            raise NotFoundError(f"No model '{source_slug}' is visible to you.")
        ver = source.latest
        meta = ModelMeta(
            slug=new_slug,
            name=name or source.name,
            description=source.description,
            lab_scope=source.lab_scope,
            tags=list(source.tags),
            difficulty=source.difficulty,
            dsl=ver.dsl,
            input_schema=ver.input_schema,
            output_schema=ver.output_schema,
        )
        with self._tx() as conn:
            self._insert_model(conn, viewer.id, meta, "private", source.id, f"Forked from {source.slug} v{ver.version}")
        model = self.get_model(new_slug, viewer)
        assert model is not None
        return model

    def get_setting(self, key: str) -> str | None:
        row = self._one("SELECT value FROM local_settings WHERE key = ?", (key,))
        return row[0] if row else None

    def put_setting(self, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO local_settings VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def load_seeds(self, metas: list[ModelMeta]) -> int:
        """Insert templates that are missing; add a version to a template whose file changed. Return the changes."""
        changed = 0
        for meta in metas:
            row = self._one("SELECT id, author_id, current_version_id FROM models WHERE slug = ?", (meta.slug,))
            if row is None:
                with self._tx() as conn:
                    self._insert_model(conn, None, meta, "public", None, "Template")
                changed += 1
                continue
            if row["author_id"] is not None:
                continue  # a user's model took this slug; leave it alone
            current = self._one("SELECT dsl_json, input_schema FROM model_versions WHERE id = ?", (row["current_version_id"],))
            if current and json.loads(current["dsl_json"]) == meta.dsl and json.loads(current["input_schema"]) == meta.input_schema:
                continue
            stamp = ts(self._clock())
            with self._tx() as conn:
                number = conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id = ?", (row["id"],)).fetchone()[0]
                version_id = new_id()
                conn.execute(
                    "INSERT INTO model_versions (id, model_id, version, dsl_json, input_schema, output_schema, changelog, status, created_by, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'Template updated', 'published', NULL, ?)",
                    (version_id, row["id"], number, json.dumps(meta.dsl), json.dumps(meta.input_schema), json.dumps(meta.output_schema), stamp),
                )
                conn.execute(
                    "UPDATE models SET current_version_id = ?, name = ?, description = ?, lab_scope = ?, tags = ?, difficulty = ?, updated_at = ? WHERE id = ?",
                    (version_id, meta.name, meta.description, meta.lab_scope, json.dumps(meta.tags), meta.difficulty, stamp, row["id"]),
                )
            changed += 1
        return changed

    # ----------------------------------------------------------------- runs
    def reserve_run(self, viewer: User, model_id: str, version_id: str, inputs: dict[str, Any], inputs_hash: str) -> str:
        now = self._clock()
        run_id = new_id()
        with self._tx() as conn:
            ok = conn.execute(
                "SELECT 1 FROM model_versions v JOIN models m ON m.id = v.model_id WHERE v.id = ? AND m.id = ?"
                " AND (m.author_id = ? OR (m.visibility IN ('public', 'unlisted') AND v.status = 'published'))",
                (version_id, model_id, viewer.id),
            ).fetchone()
            if ok is None:
                raise NotFoundError("That model does not exist or is private.")
            profile = conn.execute("SELECT tier FROM profiles WHERE id = ?", (viewer.id,)).fetchone()
            if profile is None:
                raise AuthError("Your session has ended; sign in again or continue as a guest.")
            limit = daily_limit(profile["tier"])
            used = conn.execute(
                "SELECT COUNT(*) FROM model_runs WHERE user_id = ? AND cached = 0 AND created_at >= ?", (viewer.id, ts(day_start(now)))
            ).fetchone()[0]
            if used >= limit:
                raise RateLimitExceeded("daily", limit, day_start(now) + timedelta(days=1), profile["tier"])
            recent = conn.execute(
                "SELECT COUNT(*), MIN(created_at) FROM model_runs WHERE user_id = ? AND model_id = ? AND cached = 0 AND created_at > ?",
                (viewer.id, model_id, ts(now - timedelta(minutes=1))),
            ).fetchone()
            if recent[0] >= RUNS_PER_MINUTE_PER_MODEL:
                raise RateLimitExceeded("minute", RUNS_PER_MINUTE_PER_MODEL, dt(recent[1]) + timedelta(minutes=1), profile["tier"])
            conn.execute(
                "INSERT INTO model_runs (id, model_id, version_id, user_id, inputs, inputs_hash, status, cached, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
                (run_id, model_id, version_id, viewer.id, json.dumps(inputs), inputs_hash, ts(now)),
            )
        return run_id

    def finish_run(self, viewer: User, run_id: str, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None) -> None:
        if status not in ("success", "error"):
            raise ValueError("status must be success or error")
        now = self._clock()
        body = json.dumps(outputs, allow_nan=False) if outputs is not None else None
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE model_runs SET status = ?, outputs = ?, runtime_ms = ?, error = ?, finished_at = ? WHERE id = ? AND user_id = ? AND status = 'pending'",
                (status, body, runtime_ms, error, ts(now), run_id, viewer.id),
            )
            if cur.rowcount != 1:
                raise NotFoundError("That run does not exist or is already finished.")
            model_id = conn.execute("SELECT model_id FROM model_runs WHERE id = ?", (run_id,)).fetchone()[0]
            seen = conn.execute(
                "SELECT 1 FROM model_runs WHERE user_id = ? AND model_id = ? AND id <> ? AND cached = 0 AND status <> 'pending' AND finished_at >= ? LIMIT 1",
                (viewer.id, model_id, run_id, ts(day_start(now))),
            ).fetchone()
            conn.execute(
                "INSERT INTO model_usage_daily (model_id, day, runs, unique_users) VALUES (?, ?, 1, ?)"
                " ON CONFLICT (model_id, day) DO UPDATE SET runs = runs + 1, unique_users = unique_users + excluded.unique_users",
                (model_id, now.astimezone(UTC).date().isoformat(), 0 if seen else 1),
            )

    def find_cached_run(self, viewer: User | None, version_id: str, inputs_hash: str) -> tuple[str, dict[str, Any]] | None:
        row = self._one(
            "SELECT r.id, r.outputs FROM model_runs r JOIN models m ON m.id = r.model_id"
            " WHERE r.version_id = ? AND r.inputs_hash = ? AND r.status = 'success' AND r.cached = 0 AND r.created_at > ?"
            " AND (m.visibility IN ('public', 'unlisted') OR m.author_id = ?) ORDER BY r.created_at DESC LIMIT 1",
            (version_id, inputs_hash, ts(self._clock() - CACHE_TTL), viewer.id if viewer else None),
        )
        return (row["id"], json.loads(row["outputs"])) if row else None

    def log_cached_run(self, viewer: User, source_run_id: str, inputs: dict[str, Any]) -> str:
        run_id = new_id()
        stamp = ts(self._clock())
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO model_runs (id, model_id, version_id, user_id, inputs, inputs_hash, outputs, runtime_ms, status, cached, created_at, finished_at)"
                " SELECT ?, model_id, version_id, ?, ?, inputs_hash, outputs, runtime_ms, 'success', 1, ?, ? FROM model_runs WHERE id = ? AND status = 'success'",
                (run_id, viewer.id, json.dumps(inputs), stamp, stamp, source_run_id),
            )
            if cur.rowcount != 1:
                raise NotFoundError("The cached run is gone.")
        return run_id

    def runs_today(self, viewer: User) -> int:
        row = self._one(
            "SELECT COUNT(*) FROM model_runs WHERE user_id = ? AND cached = 0 AND created_at >= ?", (viewer.id, ts(day_start(self._clock())))
        )
        return int(row[0]) if row else 0

    @staticmethod
    def _run(row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            model_id=row["model_id"],
            version_id=row["version_id"],
            user_id=row["user_id"],
            inputs=json.loads(row["inputs"]),
            outputs=json.loads(row["outputs"]) if row["outputs"] else None,
            runtime_ms=row["runtime_ms"],
            status=row["status"],
            error=row["error"],
            cached=bool(row["cached"]),
            created_at=dt(row["created_at"]),
            model_slug=row["model_slug"],
        )

    def list_runs(self, viewer: User, limit: int = 50) -> list[RunRecord]:
        rows = self._all(
            "SELECT r.*, m.slug AS model_slug FROM model_runs r JOIN models m ON m.id = r.model_id WHERE r.user_id = ? ORDER BY r.created_at DESC LIMIT ?",
            (viewer.id, int(limit)),
        )
        return [self._run(r) for r in rows]

    def get_run(self, viewer: User, run_id: str) -> RunRecord | None:
        row = self._one(
            "SELECT r.*, m.slug AS model_slug FROM model_runs r JOIN models m ON m.id = r.model_id WHERE r.id = ? AND r.user_id = ?", (run_id, viewer.id)
        )
        return self._run(row) if row else None

    def usage(self, model_id: str, since: datetime) -> list[dict[str, Any]]:
        rows = self._all("SELECT day, runs, unique_users FROM model_usage_daily WHERE model_id = ? AND day >= ? ORDER BY day", (model_id, since.date().isoformat()))
        return [dict(r) for r in rows]

    # ----------------------------------------------------------------- social
    def _visible_model(self, conn: sqlite3.Connection, viewer: User | None, model_id: str) -> None:
        row = conn.execute(
            "SELECT 1 FROM models WHERE id = ? AND (visibility IN ('public', 'unlisted') OR author_id = ?)", (model_id, viewer.id if viewer else None)
        ).fetchone()
        if row is None:
            raise NotFoundError("That model does not exist or is private.")

    def save(self, viewer: User, model_id: str) -> None:
        with self._tx() as conn:
            self._visible_model(conn, viewer, model_id)
            conn.execute("INSERT OR IGNORE INTO model_saves VALUES (?, ?, ?)", (viewer.id, model_id, ts(self._clock())))

    def unsave(self, viewer: User, model_id: str) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM model_saves WHERE user_id = ? AND model_id = ?", (viewer.id, model_id))

    def saved_ids(self, viewer: User) -> set[str]:
        return {r[0] for r in self._all("SELECT model_id FROM model_saves WHERE user_id = ?", (viewer.id,))}

    @staticmethod
    def _rating(row: sqlite3.Row) -> Rating:
        return Rating(row["user_id"], row["model_id"], row["rating"], row["review"], dt(row["created_at"]), dt(row["updated_at"]))

    def rate(self, viewer: User, model_id: str, rating: int, review: str) -> Rating:
        stamp = ts(self._clock())
        with self._tx() as conn:
            self._visible_model(conn, viewer, model_id)
            conn.execute(
                "INSERT INTO model_ratings VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, model_id)"
                " DO UPDATE SET rating = excluded.rating, review = excluded.review, updated_at = excluded.updated_at",
                (viewer.id, model_id, rating, review, stamp, stamp),
            )
            row = conn.execute("SELECT * FROM model_ratings WHERE user_id = ? AND model_id = ?", (viewer.id, model_id)).fetchone()
        return self._rating(row)

    def ratings(self, model_id: str, viewer: User | None) -> RatingSummary:
        rows = self._all(
            "SELECT r.* FROM model_ratings r JOIN models m ON m.id = r.model_id WHERE r.model_id = ?"
            " AND (m.visibility IN ('public', 'unlisted') OR m.author_id = ?) ORDER BY r.updated_at DESC",
            (model_id, viewer.id if viewer else None),
        )
        reviews = tuple(self._rating(r) for r in rows)
        mine = next((r for r in reviews if viewer and r.user_id == viewer.id), None)
        average = round(sum(r.rating for r in reviews) / len(reviews), 2) if reviews else None
        return RatingSummary(average, len(reviews), reviews, mine)

    # ----------------------------------------------------------------- artifacts
    @staticmethod
    def _artifact(row: sqlite3.Row) -> Artifact:
        return Artifact(
            id=row["id"],
            slug=row["slug"],
            title=row["title"],
            summary=row["summary"],
            visibility=row["visibility"],
            view_count=row["view_count"],
            run_id=row["run_id"],
            model_id=row["model_id"],
            version_id=row["version_id"],
            created_by=row["created_by"],
            created_at=dt(row["created_at"]),
            payload=json.loads(row["payload"]),
        )

    def publish(self, viewer: User, run_id: str, slug: str, title: str, summary: str, visibility: str) -> Artifact:
        artifact_id = new_id()
        with self._tx() as conn:
            run = conn.execute("SELECT * FROM model_runs WHERE id = ? AND user_id = ?", (run_id, viewer.id)).fetchone()
            if run is None:
                raise NotFoundError("That run does not exist or is not yours.")
            if run["status"] != "success":
                raise InputInvalid({"run_id": "Only a successful run can be published; run the model again."})
            model = conn.execute("SELECT * FROM models WHERE id = ?", (run["model_id"],)).fetchone()
            version = conn.execute("SELECT * FROM model_versions WHERE id = ?", (run["version_id"],)).fetchone()
            payload = ArtifactPayload(
                model=ArtifactModel(
                    id=model["id"], slug=model["slug"], name=model["name"], description=model["description"],
                    lab_scope=model["lab_scope"], tags=json.loads(model["tags"]), difficulty=model["difficulty"],
                ),
                version=ArtifactVersion(
                    id=version["id"], version=version["version"], dsl=json.loads(version["dsl_json"]),
                    input_schema=json.loads(version["input_schema"]), output_schema=json.loads(version["output_schema"]),
                    changelog=version["changelog"],
                ),
                inputs=json.loads(run["inputs"]),
                result=json.loads(run["outputs"]),
                run=ArtifactRun(id=run["id"], created_at=run["created_at"], runtime_ms=run["runtime_ms"], cached=bool(run["cached"])),
            ).to_json()
            try:
                conn.execute(
                    "INSERT INTO published_artifacts (id, slug, run_id, model_id, version_id, created_by, title, summary, visibility, view_count, payload, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                    (artifact_id, slug, run_id, run["model_id"], run["version_id"], viewer.id, title, summary, visibility, json.dumps(payload), ts(self._clock())),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"The address '{slug}' is taken.") from exc
        row = self._one("SELECT * FROM published_artifacts WHERE id = ?", (artifact_id,))
        assert row is not None
        return self._artifact(row)

    def get_artifact(self, slug: str, viewer: User | None) -> Artifact | None:
        row = self._one("SELECT * FROM published_artifacts WHERE slug = ?", (slug,))
        return self._artifact(row) if row else None

    def count_view(self, slug: str) -> int:
        with self._tx() as conn:
            row = conn.execute("UPDATE published_artifacts SET view_count = view_count + 1 WHERE slug = ? RETURNING view_count", (slug,)).fetchone()
        return int(row[0]) if row else 0

    def list_artifacts(self, viewer: User | None, mine: bool, limit: int = 50) -> list[Artifact]:
        if mine:
            if viewer is None:
                return []
            rows = self._all("SELECT * FROM published_artifacts WHERE created_by = ? ORDER BY created_at DESC LIMIT ?", (viewer.id, int(limit)))
        else:
            rows = self._all("SELECT * FROM published_artifacts WHERE visibility = 'public' ORDER BY created_at DESC LIMIT ?", (int(limit),))
        return [self._artifact(r) for r in rows]


__all__ = ["SqliteStore", "like_pattern"]
