"""Runs on sqlite: reserving within the limits, finishing with daily usage, the execution cache.

Failed runs do not use the daily quota; every run, failed or served from the cache, counts against
the per-minute limit. A run left pending longer than the run budget (its recording failed) is
failed before its user's next reservation, so it never counts for ever.

A cache hit is recorded as a run of its own (``cached = 1``) that points at the run it reuses
(``cached_from_run_id``) and stores no outputs; reads resolve the outputs through that reference
(``RESOLVED_RUNS``). The reference always names a run that holds its own outputs, and if that run is
ever deleted the trigger ``model_runs_keep_reused_outputs`` copies its outputs into the runs that
pointed at it first, so a hit never loses its result.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.errors import AuthError, InputInvalid, NotFoundError, PermissionDenied, RateLimitExceeded
from contracts.records import RunRecord, User
from contracts.rules import DAILY_QUOTA_STATUSES, RUNS_PER_MINUTE_PER_MODEL, daily_limit
from store.common import ANALYTICS_REFUSED, CACHE_TTL, STALE_AFTER_S, STALE_RUN_MESSAGE, day_start, dt, new_id, percentile_cont, ts
from store.sqlite.db import Database
from store.sqlite.visibility import VISIBLE, viewer_id

# Every run with its outputs resolved through the reference of a cache hit, and its model's slug.
RESOLVED_RUNS = """
SELECT r.*, COALESCE(r.outputs_json, src.outputs_json) AS resolved_outputs, m.slug AS model_slug
FROM model_runs r
JOIN models m ON m.id = r.model_id
LEFT JOIN model_runs src ON src.id = r.cached_from_run_id
"""
IN_DAILY_QUOTA = f"status IN ({', '.join(repr(s) for s in DAILY_QUOTA_STATUSES)})"


def check_minute_limit(conn: sqlite3.Connection, viewer: User, model_id: str, now: datetime, tier: str) -> None:
    """``RateLimitExceeded`` when the viewer started the per-minute number of runs of this model (any run, cached or failed)."""
    recent = conn.execute(
        "SELECT COUNT(*), MIN(created_at) FROM model_runs WHERE user_id = ? AND model_id = ? AND created_at > ?",
        (viewer.id, model_id, ts(now - timedelta(minutes=1))),
    ).fetchone()
    if recent[0] >= RUNS_PER_MINUTE_PER_MODEL:
        raise RateLimitExceeded("minute", RUNS_PER_MINUTE_PER_MODEL, dt(recent[1]) + timedelta(minutes=1), tier)


def run_from_row(row: sqlite3.Row) -> RunRecord:
    """A row of ``RESOLVED_RUNS`` as a ``RunRecord``."""
    return RunRecord(
        id=row["id"],
        model_id=row["model_id"],
        model_version_id=row["model_version_id"],
        user_id=row["user_id"],
        inputs=json.loads(row["inputs_json"]),
        outputs=json.loads(row["resolved_outputs"]) if row["resolved_outputs"] else None,
        runtime_ms=row["runtime_ms"],
        status=row["status"],
        error_message=row["error_message"],
        cached=bool(row["cached"]),
        created_at=dt(row["created_at"]),
        model_slug=row["model_slug"],
        cached_from_run_id=row["cached_from_run_id"],
        queued=bool(row["queued"]),
    )


INPUT_TEXT = "substr(CASE kv.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(kv.value AS TEXT) END, 1, 200)"


def bump_usage(
    conn: sqlite3.Connection, model_id: str, user_id: str, now: datetime, *, runs: int, errors: int, cache_hits: int, inputs_json: str | None = None
) -> None:
    """Count a run (or a cache hit) in the model's usage of the day, in the run's own transaction; the user counts
    among the day's unique users once, when their ``model_usage_users`` row is first inserted."""
    day = now.astimezone(UTC).date().isoformat()
    new_user = conn.execute(
        "INSERT INTO model_usage_users (model_id, date, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (model_id, day, user_id)
    ).rowcount
    conn.execute(
        "INSERT INTO model_usage_daily (id, model_id, date, runs, unique_users, errors, cache_hits) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (model_id, date) DO UPDATE SET runs = runs + excluded.runs, unique_users = unique_users + excluded.unique_users,"
        " errors = errors + excluded.errors, cache_hits = cache_hits + excluded.cache_hits",
        (new_id(), model_id, day, runs, max(new_user, 0), errors, cache_hits),
    )
    conn.execute(
        f"INSERT INTO model_input_daily (model_id, date, name, value, runs) SELECT ?, ?, kv.key, {INPUT_TEXT}, 1 FROM json_each(?) kv WHERE kv.type <> 'null'"
        " ON CONFLICT (model_id, date, name, value) DO UPDATE SET runs = runs + 1",
        (model_id, day, inputs_json or "{}"),
    )


class SqliteRuns:
    """The run flow's persistence: limits, records, usage and the execution cache."""

    def __init__(self, db: Database):
        self._db = db

    def reserve_run(
        self, viewer: User, model_id: str, version_id: str, inputs: dict[str, Any], inputs_hash: str, stale_after_s: float = STALE_AFTER_S,
        *, queued: bool = False,
    ) -> str:
        now = self._db.now()
        run_id = new_id()
        with self._db.tx() as conn:
            ok = conn.execute(
                "SELECT 1 FROM model_versions v JOIN models m ON m.id = v.model_id WHERE v.id = ? AND m.id = ?"
                " AND (m.owner_id = ? OR (m.visibility IN ('public', 'unlisted') AND v.status = 'published'"
                " AND (v.runtime = 'dsl' OR v.review_status = 'approved')))",
                (version_id, model_id, viewer.id),
            ).fetchone()
            if ok is None:
                raise NotFoundError("That model does not exist or is private.")
            profile = conn.execute("SELECT tier, is_guest FROM profiles WHERE id = ?", (viewer.id,)).fetchone()
            if profile is None:
                raise AuthError("Your session has ended; sign in again or continue as a guest.")
            conn.execute(
                "UPDATE model_runs SET status = 'error', error_message = ?, finished_at = ? WHERE user_id = ? AND status = 'pending' AND created_at < ?",
                (STALE_RUN_MESSAGE, ts(now), viewer.id, ts(now - timedelta(seconds=max(float(stale_after_s), 0.0)))),
            )
            limit = daily_limit(profile["tier"], bool(profile["is_guest"]))
            used = conn.execute(
                f"SELECT COUNT(*) FROM model_runs WHERE user_id = ? AND cached = 0 AND {IN_DAILY_QUOTA} AND created_at >= ?", (viewer.id, ts(day_start(now)))
            ).fetchone()[0]
            if used >= limit:
                raise RateLimitExceeded("daily", limit, day_start(now) + timedelta(days=1), "guest" if profile["is_guest"] else profile["tier"])
            check_minute_limit(conn, viewer, model_id, now, profile["tier"])
            conn.execute(
                "INSERT INTO model_runs (id, model_id, model_version_id, user_id, inputs_json, inputs_hash, status, cached, queued, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                (run_id, model_id, version_id, viewer.id, json.dumps(inputs), inputs_hash, int(queued), ts(now)),
            )
        return run_id

    def finish_run(
        self, viewer: User, run_id: str, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None,
        *, error_code: str | None = None, error_operation: str | None = None,
    ) -> None:
        if status not in ("success", "error"):
            raise ValueError("status must be success or error")
        now = self._db.now()
        body = json.dumps(outputs, allow_nan=False) if outputs is not None else None
        failed = status == "error"
        with self._db.tx() as conn:
            cur = conn.execute(
                "UPDATE model_runs SET status = ?, outputs_json = ?, runtime_ms = ?, error_message = ?, error_code = ?, error_operation = ?, finished_at = ?"
                " WHERE id = ? AND user_id = ? AND status = 'pending'",
                (status, body, runtime_ms, error, (error_code or None) if failed else None, (error_operation or None) if failed else None, ts(now), run_id, viewer.id),
            )
            if cur.rowcount != 1:
                raise NotFoundError("That run does not exist or is already finished.")
            model_id, inputs_json = conn.execute("SELECT model_id, inputs_json FROM model_runs WHERE id = ?", (run_id,)).fetchone()
            bump_usage(conn, model_id, viewer.id, now, runs=1, errors=int(status == "error"), cache_hits=0, inputs_json=inputs_json)

    def find_cached_run(self, viewer: User | None, version_id: str, inputs_hash: str) -> tuple[str, dict[str, Any]] | None:
        row = self._db.one(
            "SELECT r.id, r.outputs_json FROM model_runs r JOIN models m ON m.id = r.model_id"
            " WHERE r.model_version_id = ? AND r.inputs_hash = ? AND r.cached = 0 AND r.status = 'success' AND r.created_at > ?"
            f" AND {VISIBLE} ORDER BY r.created_at DESC LIMIT 1",
            (version_id, inputs_hash, ts(self._db.now() - CACHE_TTL), viewer_id(viewer)),
        )
        return (row["id"], json.loads(row["outputs_json"])) if row else None

    def log_cached_run(self, viewer: User, source_run_id: str, inputs_hash: str) -> str:
        """Record a cache hit for the viewer: a reference to the run that holds the outputs (and its canonical inputs), not a copy."""
        run_id = new_id()
        now = self._db.now()
        stamp = ts(now)
        with self._db.tx() as conn:
            source = conn.execute(
                "SELECT r.model_id, r.inputs_hash FROM model_runs r JOIN models m ON m.id = r.model_id"
                f" WHERE r.id = ? AND r.status = 'success' AND r.created_at > ? AND {VISIBLE}",
                (source_run_id, ts(now - CACHE_TTL), viewer.id),
            ).fetchone()
            if source is None:
                raise NotFoundError("The cached run is gone.")
            if source["inputs_hash"] != inputs_hash:
                raise InputInvalid({"request": "The cached result was computed for other inputs."})
            profile = conn.execute("SELECT tier FROM profiles WHERE id = ?", (viewer.id,)).fetchone()
            if profile is None:
                raise AuthError("Your session has ended; sign in again or continue as a guest.")
            check_minute_limit(conn, viewer, source["model_id"], now, profile["tier"])
            conn.execute(
                "INSERT INTO model_runs (id, model_id, model_version_id, user_id, inputs_json, inputs_hash, runtime_ms, status, cached,"
                " cached_from_run_id, created_at, finished_at)"
                " SELECT ?, model_id, model_version_id, ?, inputs_json, inputs_hash, runtime_ms, 'success', 1, COALESCE(cached_from_run_id, id), ?, ?"
                " FROM model_runs WHERE id = ?",
                (run_id, viewer.id, stamp, stamp, source_run_id),
            )
            inputs_json = conn.execute("SELECT inputs_json FROM model_runs WHERE id = ?", (run_id,)).fetchone()[0]
            bump_usage(conn, source["model_id"], viewer.id, now, runs=0, errors=0, cache_hits=1, inputs_json=inputs_json)
        return run_id

    def runs_today(self, viewer: User) -> int:
        row = self._db.one(
            f"SELECT COUNT(*) FROM model_runs WHERE user_id = ? AND cached = 0 AND {IN_DAILY_QUOTA} AND created_at >= ?",
            (viewer.id, ts(day_start(self._db.now()))),
        )
        return int(row[0]) if row else 0

    def list_runs(self, viewer: User, limit: int = 50) -> list[RunRecord]:
        rows = self._db.all(f"{RESOLVED_RUNS} WHERE r.user_id = ? ORDER BY r.created_at DESC LIMIT ?", (viewer.id, int(limit)))
        return [run_from_row(r) for r in rows]

    def get_run(self, viewer: User, run_id: str) -> RunRecord | None:
        row = self._db.one(f"{RESOLVED_RUNS} WHERE r.id = ? AND r.user_id = ?", (run_id, viewer.id))
        return run_from_row(row) if row else None

    def pending_queued_runs(self, older_than_s: float, limit: int = 100) -> list[RunRecord]:
        before = ts(self._db.now() - timedelta(seconds=max(float(older_than_s), 0.0)))
        rows = self._db.all(
            f"{RESOLVED_RUNS} WHERE r.status = 'pending' AND r.queued = 1 AND r.created_at < ? ORDER BY r.created_at LIMIT ?",
            (before, min(max(int(limit), 1), 1000)),
        )
        return [run_from_row(r) for r in rows]

    def usage(self, model_id: str, since: datetime) -> list[dict[str, Any]]:
        rows = self._db.all(
            "SELECT date, runs, unique_users, errors, cache_hits FROM model_usage_daily WHERE model_id = ? AND date >= ? ORDER BY date", (model_id, since.date().isoformat())
        )
        return [dict(r) for r in rows]

    def model_analytics(self, viewer: User, model_id: str, days: int = 30) -> dict[str, Any]:
        """A model's usage for its owner or an admin (the same answer as Supabase's ``model_analytics()``)."""
        now = self._db.now().astimezone(UTC)
        since = now.date() - timedelta(days=max(1, min(int(days), 366)) - 1)
        start = ts(datetime(since.year, since.month, since.day, tzinfo=UTC))
        allowed = self._db.one(
            "SELECT 1 FROM models m WHERE m.id = ? AND (m.owner_id = ? OR EXISTS (SELECT 1 FROM profiles p WHERE p.id = ? AND p.role = 'admin'))",
            (model_id, viewer.id, viewer.id),
        )
        if allowed is None:
            raise PermissionDenied(ANALYTICS_REFUSED)
        daily = self._db.all(
            "SELECT date, runs, unique_users, errors, cache_hits FROM model_usage_daily WHERE model_id = ? AND date >= ? ORDER BY date",
            (model_id, since.isoformat()),
        )
        runtimes = [r[0] for r in self._db.all(
            "SELECT runtime_ms FROM model_runs WHERE model_id = ? AND created_at >= ? AND cached = 0 AND status = 'success' AND runtime_ms IS NOT NULL",
            (model_id, start),
        )]
        top = self._db.all(
            "SELECT name, value, SUM(runs) AS n FROM model_input_daily WHERE model_id = ? AND date >= ? GROUP BY name, value ORDER BY n DESC, name, value LIMIT 20",
            (model_id, since.isoformat()),
        )

        def per_day(sql: str) -> list[dict[str, Any]]:
            return [dict(r) for r in self._db.all(sql, (model_id, start))]

        return {
            "since": since.isoformat(),
            "daily": [dict(r) for r in daily],
            "runtime": {"p50": percentile_cont(runtimes, 0.5), "p95": percentile_cont(runtimes, 0.95), "n": len(runtimes)},
            "top_inputs": [{"name": r["name"], "value": r["value"], "runs": r["n"]} for r in top],
            "saves": per_day("SELECT substr(created_at, 1, 10) AS date, COUNT(*) AS count FROM model_saves WHERE model_id = ? AND created_at >= ? GROUP BY 1 ORDER BY 1"),
            "forks": per_day("SELECT substr(created_at, 1, 10) AS date, COUNT(*) AS count FROM models WHERE forked_from_id = ? AND created_at >= ? GROUP BY 1 ORDER BY 1"),
            "ratings": per_day(
                "SELECT substr(created_at, 1, 10) AS date, COUNT(*) AS count, ROUND(AVG(rating), 2) AS average FROM model_ratings"
                " WHERE model_id = ? AND created_at >= ? GROUP BY 1 ORDER BY 1"
            ),
        }

    def admin_usage(self, viewer: User, days: int = 30) -> dict[str, Any]:
        """The site's usage for an admin (the same answer as Supabase's ``admin_usage()``)."""
        since = (self._db.now().astimezone(UTC).date() - timedelta(days=max(1, min(int(days), 366)) - 1)).isoformat()
        if self._db.one("SELECT 1 FROM profiles WHERE id = ? AND role = 'admin'", (viewer.id,)) is None:
            raise PermissionDenied("Only an administrator can see the site's usage.")
        totals = self._db.one(
            "SELECT COALESCE(SUM(runs), 0) AS runs, COALESCE(SUM(cache_hits), 0) AS cache_hits, COALESCE(SUM(errors), 0) AS errors,"
            " (SELECT COUNT(DISTINCT user_id) FROM model_usage_users WHERE date >= ?) AS active_users FROM model_usage_daily WHERE date >= ?",
            (since, since),
        )
        top_models = self._db.all(
            "SELECT m.slug, m.name, SUM(u.runs) AS runs, SUM(u.cache_hits) AS cache_hits, SUM(u.errors) AS errors, SUM(u.unique_users) AS user_days"
            " FROM model_usage_daily u JOIN models m ON m.id = u.model_id WHERE u.date >= ? GROUP BY m.id ORDER BY SUM(u.runs) DESC, m.slug LIMIT 10",
            (since,),
        )
        top_users = self._db.all(
            "SELECT p.display_name AS name, COUNT(DISTINCT uu.date) AS days, COUNT(DISTINCT uu.model_id) AS models FROM model_usage_users uu"
            " JOIN profiles p ON p.id = uu.user_id WHERE uu.date >= ? GROUP BY p.id ORDER BY days DESC, name LIMIT 10",
            (since,),
        )
        return {"since": since, "totals": dict(totals), "top_models": [dict(r) for r in top_models], "top_users": [dict(r) for r in top_users]}
