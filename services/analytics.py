"""Usage analytics for a model's owner (issue 13): runs and unique users per day, cache-hit share, error rate,
runtime p50 and p95, the most used input values, and saves, forks and ratings over time, with CSV.

The numbers come from the store in one call (``runs.model_analytics``: Supabase's ``model_analytics()``,
walled to the owner and admins); this service fills the days without activity and derives the shares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from contracts.errors import PermissionDenied
from contracts.records import User
from services.auth import require_user
from services.csv_cells import rows_csv
from services.registry import RegistryService
from store.base import Store

DAILY_COLUMNS = ("date", "runs", "unique_users", "cache_hits", "errors", "saves", "forks", "ratings")


@dataclass(frozen=True)
class ModelDashboard:
    """A model's usage over ``days`` days up to today (UTC), one row per day in ``daily``."""

    slug: str
    name: str
    since: date
    daily: list[dict[str, Any]]
    runtime_p50_ms: float | None
    runtime_p95_ms: float | None
    runtime_runs: int
    top_inputs: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)

    def total(self, column: str) -> int:
        return int(sum(int(d.get(column) or 0) for d in self.daily))

    @property
    def cache_hit_share(self) -> float | None:
        """Cache hits among everything served (executed runs and hits); None before any."""
        served = self.total("runs") + self.total("cache_hits")
        return self.total("cache_hits") / served if served else None

    @property
    def error_rate(self) -> float | None:
        """Failed runs among executed runs; None before any."""
        runs = self.total("runs")
        return self.total("errors") / runs if runs else None

    def daily_csv(self) -> bytes:
        return rows_csv(DAILY_COLUMNS, self.daily)

    def inputs_csv(self) -> bytes:
        return rows_csv(("name", "value", "runs"), self.top_inputs)


def build_dashboard(slug: str, name: str, raw: dict[str, Any], today: date) -> ModelDashboard:
    """Fill every day from ``since`` to ``today`` (zeros where nothing happened) and merge saves, forks, ratings."""
    since = date.fromisoformat(str(raw.get("since") or today.isoformat()))
    by_day: dict[str, dict[str, Any]] = {}
    day = since
    while day <= today:
        by_day[day.isoformat()] = {c: (day.isoformat() if c == "date" else 0) for c in DAILY_COLUMNS}
        day += timedelta(days=1)
    for row in raw.get("daily") or []:
        entry = by_day.get(str(row["date"])[:10])
        if entry is not None:
            entry.update({k: int(row.get(k) or 0) for k in ("runs", "unique_users", "cache_hits", "errors")})
    for kind in ("saves", "forks", "ratings"):
        for row in raw.get(kind) or []:
            entry = by_day.get(str(row["date"])[:10])
            if entry is not None:
                entry[kind] = int(row.get("count") or 0)
    runtime = raw.get("runtime") or {}
    return ModelDashboard(
        slug=slug,
        name=name,
        since=since,
        daily=list(by_day.values()),
        runtime_p50_ms=runtime.get("p50"),
        runtime_p95_ms=runtime.get("p95"),
        runtime_runs=int(runtime.get("n") or 0),
        top_inputs=list(raw.get("top_inputs") or []),
        ratings=list(raw.get("ratings") or []),
    )


class AnalyticsService:
    """A model's usage, for its owner and for admins."""

    def __init__(self, store: Store, registry: RegistryService, today: Any = None):
        self._store = store
        self._registry = registry
        self._today = today or (lambda: date.today())

    def model_dashboard(self, user: User | None, slug: str, days: int = 30) -> ModelDashboard:
        user = require_user(user, "see a model's usage")
        model = self._registry.get_model(slug, user)
        if model.owner_id != user.id and not user.is_admin:
            raise PermissionDenied("Only the model's owner (or an administrator) can see its usage.")
        raw = self._store.runs.model_analytics(user, model.id, max(1, min(int(days), 366)))
        today = date.fromisoformat(str(raw.get("since"))) + timedelta(days=max(1, min(int(days), 366)) - 1) if raw.get("since") else self._today()
        return build_dashboard(model.slug, model.name, raw, today)

    def site_usage(self, user: User | None, days: int = 30) -> dict[str, Any]:
        """For admins: totals, top models and the most active users over ``days`` days."""
        user = require_user(user, "see the site's usage")
        if not user.is_admin:
            raise PermissionDenied("Only an administrator can see the site's usage.")
        return self._store.runs.admin_usage(user, max(1, min(int(days), 366)))
