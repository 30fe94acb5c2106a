"""The data providers' daily event counts and the admins' health report in the embedded store (the same answers
as Supabase's ``record_provider_events()`` and ``admin_health()``, migration 20250101000046)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from contracts.errors import PermissionDenied
from contracts.health import ProviderEventCount
from contracts.records import User
from store.common import HEALTH_REFUSED
from store.sqlite.db import Database


class SqliteHealth:
    """``provider_health_daily`` (added to in batches) and failed runs per operation, for admins."""

    def __init__(self, db: Database):
        self._db = db

    def record_provider_events(self, rows: list[ProviderEventCount]) -> None:
        if not rows:
            return
        with self._db.tx() as conn:
            conn.executemany(
                "INSERT INTO provider_health_daily AS h (provider, kind, date, event, code, count) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (provider, kind, date, event, code) DO UPDATE SET count = h.count + excluded.count",
                [(r.provider, r.kind, r.date, r.event, r.code, int(r.count)) for r in rows],
            )

    def admin_health(self, viewer: User, days: int = 30) -> dict[str, Any]:
        since = (self._db.now().astimezone(UTC).date() - timedelta(days=max(1, min(int(days), 366)) - 1)).isoformat()
        if self._db.one("SELECT 1 FROM profiles WHERE id = ? AND role = 'admin'", (viewer.id,)) is None:
            raise PermissionDenied(HEALTH_REFUSED)
        events = self._db.all(
            "SELECT provider, kind, date, event, code, count FROM provider_health_daily WHERE date >= ? ORDER BY date, provider, kind, event, code",
            (since,),
        )
        errors = self._db.all(
            "SELECT error_operation AS operation, error_code AS code, COUNT(*) AS errors, MAX(finished_at) AS last_at FROM model_runs"
            " WHERE status = 'error' AND finished_at >= ? GROUP BY error_operation, error_code ORDER BY errors DESC, operation, code",
            (since,),
        )
        return {"since": since, "events": [dict(r) for r in events], "errors": [dict(r) for r in errors]}
