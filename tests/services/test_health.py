"""The data providers' health and the failing operations (issue 13): the process counts the cache's events in memory,
the store gets them in batches at most once a minute (and keeps them when it is down), failed runs keep the failing
step's operation, and only admins read the report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from contracts.errors import PermissionDenied, RunFailed
from contracts.health import ProviderEventCount
from contracts.records import User
from services.facade import Services
from services.health import NO_STEP, TALLY, EventTally, HealthReport, HealthService
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER, SPREAD_SEED, seed_meta


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admin_of(svc: Services) -> User:
    root = svc.auth.sign_up("root@example.com", "password1", "Root")
    svc.store.users.set_profile("root@example.com", role="admin")
    return svc.store.users.refresh_user(root)


def test_the_tally_counts_per_provider_kind_day_event_and_code() -> None:
    tally = EventTally(today=lambda: date(2026, 3, 2))
    for _ in range(3):
        tally.note("fred", "series", "hit", "ignored for a hit")
    tally.note("fred", "series", "error", "E_UPSTREAM_UNAVAILABLE")
    tally.note("fred", "series", "exploded")  # not an event: ignored, never raised
    assert tally.drain() == [
        ProviderEventCount("fred", "series", "2026-03-02", "error", "E_UPSTREAM_UNAVAILABLE", 1),
        ProviderEventCount("fred", "series", "2026-03-02", "hit", "", 3),
    ]
    assert tally.drain() == []


def test_counts_reach_the_store_at_most_once_a_minute_and_a_failed_flush_keeps_them(tmp_path: Path) -> None:
    ticks = Ticks()
    tally = EventTally(today=lambda: date(2026, 3, 2), clock=ticks)
    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    health = HealthService(store, tally, flush_every_s=60)
    tally.note("polygon", "quote", "miss")
    health.maybe_flush()
    assert len(tally) == 1  # too soon: nothing written
    ticks.now += 61
    health.maybe_flush()
    assert len(tally) == 0
    (row,) = store.db.all("SELECT provider, kind, date, event, count FROM provider_health_daily")
    assert tuple(row) == ("polygon", "quote", "2026-03-02", "miss", 1)
    tally.note("polygon", "quote", "miss")
    store.close()  # the database goes away
    ticks.now += 61
    health.maybe_flush()
    assert tally.drain() == [ProviderEventCount("polygon", "quote", "2026-03-02", "miss", "", 1)]  # kept for the next flush


def test_closing_the_services_writes_the_counts_of_the_last_minute(tmp_path: Path, sample) -> None:
    """A process that stops (the app, a queue worker) does not take its last minute of counts with it."""
    import services
    from services.config import Settings

    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    built = services.build(Settings(db_path=str(tmp_path / "auster.db")), store=store, data=sample, load_seeds=False)
    TALLY.drain()
    TALLY.note("fred", "series", "stale", "E_UPSTREAM_UNAVAILABLE")
    built.close()
    reopened = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    rows = [tuple(r) for r in reopened.db.all("SELECT provider, kind, event, code, count FROM provider_health_daily")]
    assert rows == [("fred", "series", "stale", "E_UPSTREAM_UNAVAILABLE", 1)]
    reopened.close()


def test_a_run_counts_its_data_fetches_and_the_admin_reads_them(svc: Services) -> None:
    TALLY.drain()
    ana = svc.auth.sign_up("ana@example.com", "password1", "Ana")
    svc.runs.run_model(ana, "spread-10y-2y", {"start": "2024-01-01", "end": "2024-06-30"})
    report = svc.health.report(admin_of(svc), 30)
    sample = next(p for p in report.providers() if p["provider"] == "sample")
    assert sample["hit"] + sample["miss"] >= 2  # the spread fetches two series
    assert report.events_csv().decode().splitlines()[0] == "date,provider,kind,event,code,count"
    with pytest.raises(PermissionDenied):
        svc.health.report(ana, 30)


def test_a_failed_step_is_recorded_with_its_operation_and_counted_per_operation(svc: Services) -> None:
    broken = dict(SPREAD_SEED["dsl"])
    broken["steps"] = [{**SPREAD_SEED["dsl"]["steps"][0], "params": {"series_id": "NOSUCHSERIES", "start": "$start", "end": "$end"}}, *SPREAD_SEED["dsl"]["steps"][1:]]
    ana = svc.auth.sign_up("ana@example.com", "password1", "Ana")
    svc.store.models.create_model(ana, seed_meta(slug="broken-spread", dsl=broken), "public")
    with pytest.raises(RunFailed) as failed:
        svc.runs.run_model(ana, "broken-spread", {"start": "2024-01-01", "end": "2024-06-30"})
    (run,) = [r for r in svc.store.runs.list_runs(ana, 5) if r.id == failed.value.run_id]
    stored = svc.store.db.one("SELECT error_code, error_operation FROM model_runs WHERE id = ?", (run.id,))
    assert tuple(stored) == ("E_DATA_NOT_FOUND", "fetch_series")
    report = svc.health.report(admin_of(svc), 30)
    assert [(e["operation"], e["code"], e["errors"]) for e in report.errors] == [("fetch_series", "E_DATA_NOT_FOUND", 1)]
    assert report.errors_csv().decode().splitlines()[1].startswith("fetch_series,E_DATA_NOT_FOUND,1,")


def test_the_report_sums_each_providers_events_and_lists_failures_most_frequent_first() -> None:
    rows = [("fred", "series", "hit", "", 90), ("fred", "series_info", "hit", "", 5), ("fred", "series", "miss", "", 5),
            ("fred", "series", "error", "E_UPSTREAM_UNAVAILABLE", 2), ("fred", "series", "stale", "E_UPSTREAM_UNAVAILABLE", 1),
            ("polygon", "quote", "miss", "", 3), ("polygon", "quote", "rate_limited", "E_UPSTREAM_RATE_LIMITED", 4)]
    report = HealthReport(date(2026, 3, 1), [{"provider": p, "kind": k, "date": "2026-03-02", "event": e, "code": c, "count": n} for p, k, e, c, n in rows],
                          [{"operation": NO_STEP, "code": "E_INPUT", "errors": 1, "last_at": "2026-03-02"}], until=date(2026, 3, 3))
    fred, polygon = report.providers()
    assert (fred["provider"], fred["hit"], fred["miss"], fred["error"], fred["stale"], fred["hit_share"]) == ("fred", 95, 5, 2, 1, 0.95)
    assert (polygon["hit_share"], polygon["rate_limited"]) == (0.0, 4)
    assert [(f["provider"], f["event"], f["count"]) for f in report.failures()] == [("polygon", "rate_limited", 4), ("fred", "error", 2), ("fred", "stale", 1)]
    assert [(d["date"], d["provider"], d["hit"]) for d in report.daily()] == [("2026-03-02", "fred", 95), ("2026-03-02", "polygon", 0)]
    assert report.days() == ["2026-03-01", "2026-03-02", "2026-03-03"]  # the chart's days, quiet ones included
