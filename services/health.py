"""The data providers' health and the failing operations, for admins (issue 13).

The gateways' cache reports each call (``contracts.health``): the process counts the events in memory in
``TALLY`` (a dictionary increment per event, never a database write per cache hit), per provider, kind of
call, UTC day, event and error code. ``HealthService.maybe_flush`` adds the counts to the store at most
once a minute (the run flow calls it after each run; the admin page flushes before reading); a failed
flush puts the counts back. Model workers count in their own process and send their counts back with each
run's answer (``services.runner``), which merges them here.

``HealthService.report`` reads, for an administrator, the providers' events and the failed runs per
operation (the step's operation and the error's code recorded with each failed run) over N days.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.errors import AusterError, PermissionDenied, StepFailed
from contracts.health import FAILURE_EVENTS, PROVIDER_EVENTS, ProviderEventCount
from contracts.records import User
from services.auth import require_user
from services.csv_cells import rows_csv
from store.base import Store

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 60.0
NO_STEP = "(before any step)"  # a failed run whose failure names no step: invalid inputs, an invalid document, a refusal


def failure_origin(exc: BaseException) -> tuple[str, str | None]:
    """The error code and the failing step's operation to record with a failed run (no operation when no step failed)."""
    if isinstance(exc, StepFailed):
        return exc.cause_code, exc.operation
    if isinstance(exc, AusterError):
        return exc.code, None
    return "E_INTERNAL", None


class EventTally:
    """In-memory counts of the cache's events, per (provider, kind, UTC day, event, code); safe between threads."""

    def __init__(self, today: Callable[[], date] = lambda: datetime.now(UTC).date(), clock: Callable[[], float] = time.monotonic):
        self._today = today
        self._clock = clock
        self._counts: Counter[tuple[str, str, str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._flushed_at = clock()

    def due(self, every_s: float) -> bool:
        """True (once) when the counts were last taken for the store ``every_s`` seconds ago or more."""
        with self._lock:
            if self._clock() - self._flushed_at < every_s:
                return False
            self._flushed_at = self._clock()
            return True

    def note(self, provider: str, kind: str, event: str, code: str = "") -> None:
        """Count one event (an unknown event is ignored: counting never fails a request)."""
        if event not in PROVIDER_EVENTS:
            return
        key = (provider or "unknown", kind or "unknown", self._today().isoformat(), event, code if event in FAILURE_EVENTS else "")
        with self._lock:
            self._counts[key] += 1

    def drain(self) -> list[ProviderEventCount]:
        """The counts so far, which are forgotten here."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return [ProviderEventCount(*key, count=n) for key, n in sorted(counts.items())]

    def merge(self, rows: Iterable[ProviderEventCount]) -> None:
        """Add counts (a worker's, or a flush's that failed)."""
        with self._lock:
            for row in rows:
                self._counts[row.key()] += row.count

    def __len__(self) -> int:
        with self._lock:
            return len(self._counts)


TALLY = EventTally()  # the process's counts (like the gateways' caches, it holds no user's state)


def counts_to_wire(rows: Iterable[ProviderEventCount]) -> list[list[Any]]:
    """Counts as plain lists (they cross the model worker's pipe)."""
    return [[r.provider, r.kind, r.date, r.event, r.code, r.count] for r in rows]


def counts_from_wire(wire: Iterable[Iterable[Any]]) -> list[ProviderEventCount]:
    return [ProviderEventCount(str(p), str(k), str(d), str(e), str(c), int(n)) for p, k, d, e, c, n in wire]


@dataclass(frozen=True)
class HealthReport:
    """Providers' events (``events``: provider, kind, date, event, code, count) and failed runs per operation
    (``errors``: operation, code, errors, last_at) since ``since``."""

    since: date
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    until: date | None = None  # the last day of the period (today, UTC); None: the last day with events

    def days(self) -> list[str]:
        """Every day of the period (ISO), those without events included."""
        last = self.until or max((date.fromisoformat(str(e["date"])[:10]) for e in self.events), default=self.since)
        return [(self.since + timedelta(days=i)).isoformat() for i in range((last - self.since).days + 1)]

    def providers(self) -> list[dict[str, Any]]:
        """One row per provider: hits, misses, stale copies served, errors, rate limited, and the hit share."""
        table: dict[str, dict[str, Any]] = {}
        for row in self.events:
            entry = table.setdefault(row["provider"], {"provider": row["provider"], **{e: 0 for e in PROVIDER_EVENTS}})
            entry[row["event"]] += int(row["count"])
        for entry in table.values():
            calls = entry["hit"] + entry["miss"]
            entry["hit_share"] = entry["hit"] / calls if calls else None
        return sorted(table.values(), key=lambda e: (-(e["hit"] + e["miss"]), e["provider"]))

    def failures(self) -> list[dict[str, Any]]:
        """Provider failures by provider, event and error code, the most frequent first."""
        counts: Counter[tuple[str, str, str]] = Counter()
        for row in self.events:
            if row["event"] in FAILURE_EVENTS:
                counts[(row["provider"], row["event"], row["code"])] += int(row["count"])
        return [{"provider": p, "event": e, "code": c, "count": n} for (p, e, c), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def daily(self) -> list[dict[str, Any]]:
        """Per day and provider, each event's count (days without events are left out)."""
        table: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.events:
            entry = table.setdefault((str(row["date"]), row["provider"]), {"date": str(row["date"]), "provider": row["provider"], **{e: 0 for e in PROVIDER_EVENTS}})
            entry[row["event"]] += int(row["count"])
        return [table[k] for k in sorted(table)]

    def events_csv(self) -> bytes:
        return rows_csv(("date", "provider", "kind", "event", "code", "count"), sorted(self.events, key=lambda r: (str(r["date"]), r["provider"], r["kind"], r["event"], r["code"])))

    def errors_csv(self) -> bytes:
        return rows_csv(("operation", "code", "errors", "last_at"), self.errors)


class HealthService:
    """Keeps the process's provider counts in the store and reads the health report for admins."""

    def __init__(self, store: Store, tally: EventTally = TALLY, *, flush_every_s: float = FLUSH_EVERY_S):
        self._store = store
        self.tally = tally
        self._every = flush_every_s

    def maybe_flush(self) -> None:
        """Flush if the process last flushed ``flush_every_s`` ago (one small write a minute at most, whatever the traffic)."""
        if self.tally.due(self._every):
            self.flush()

    def flush(self) -> int:
        """Add the counts so far to the store; on failure keep them for the next flush. Returns the rows written."""
        rows = self.tally.drain()
        if not rows:
            return 0
        try:
            self._store.health.record_provider_events(rows)
        except Exception as exc:  # the database is down or busy: count on, write later
            log.warning("could not record the providers' counts (%s); keeping them for the next flush", exc)
            self.tally.merge(rows)
            return 0
        return len(rows)

    def report(self, user: User | None, days: int = 30) -> HealthReport:
        """For admins: the providers' events and the failed runs per operation over ``days`` days up to today."""
        user = require_user(user, "see the data providers' health")
        if not user.is_admin:
            raise PermissionDenied("Only an administrator can see the data providers' health.")
        self.flush()
        days = max(1, min(int(days), 366))
        raw = self._store.health.admin_health(user, days)
        errors = [{**row, "operation": row.get("operation") or NO_STEP, "code": row.get("code") or ""} for row in raw.get("errors") or []]
        since = date.fromisoformat(str(raw["since"])[:10])
        return HealthReport(since, list(raw.get("events") or []), errors, until=since + timedelta(days=days - 1))
