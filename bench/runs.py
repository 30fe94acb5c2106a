"""Benchmark of the run flow on sqlite: overhead around the engine, cache hits, sustained runs.

    python bench/runs.py [--runs 300]

Prints medians. Targets (issue 4): run-flow overhead (validate inputs, limits, cache lookup, reserve
and record on sqlite) under 5 ms median; an execution-cache hit end to end under 2 ms median;
sustained runs per second of the full flow with the real engine on one core. Never a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import services
import services.runs as runs_module
from engine.executor import RunResult
from services.config import Settings
from services.data import sample_access
from store.sqlite import SqliteStore

SLUG = "yield-curve-10y-2y"


class SteppingClock:
    """Advances 15 minutes per reading so neither the daily nor the per-minute limit stops the bench."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=15)
        return self.now


def ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.3f} ms, p90 {sorted(samples)[int(len(samples) * 0.9)] * 1000:.3f} ms (n={len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.db", clock=SteppingClock())
        svc = services.build(Settings(db_path=str(Path(tmp) / "bench.db")), store=store, data=sample_access())
        svc.auth.sign_up("bench@example.com", "benchmark-pw")
        user = svc.store.users.set_profile("bench@example.com", tier="paid")
        model = svc.registry.get_model(SLUG, user)
        real = svc.runs.run_model(user, SLUG, {"start": "2020-01-01"}).result  # warm the engine and the data

        # 1. overhead: the engine replaced by a stub returning a real result instantly
        stub = RunResult.from_json(real.to_json())
        original = runs_module.execute
        runs_module.execute = lambda *a, **k: stub
        overhead = []
        start_day = datetime(2000, 1, 1)
        for i in range(args.runs):
            inputs = {"start": (start_day + timedelta(days=i)).date().isoformat()}
            t0 = time.perf_counter()
            svc.runs.run_model(user, SLUG, inputs)
            overhead.append(time.perf_counter() - t0)
        runs_module.execute = original

        # 2. cache hits end to end (same canonical inputs; logged as cached runs)
        hits = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            outcome = svc.runs.run_model(user, SLUG, {"start": "2020-01-01"})
            hits.append(time.perf_counter() - t0)
            assert outcome.cached

        # 3. sustained full runs with the real engine, distinct inputs (no cache)
        engine_only, full = [], []
        done, i = 0, 0
        t_start = time.perf_counter()
        while time.perf_counter() - t_start < args.seconds:
            inputs = {"start": (datetime(2010, 1, 1) + timedelta(days=i)).date().isoformat()}
            i += 1
            t0 = time.perf_counter()
            outcome = svc.runs.run_model(user, SLUG, inputs)
            full.append(time.perf_counter() - t0)
            engine_only.append(outcome.result.runtime_ms / 1000)
            done += 1
        elapsed = time.perf_counter() - t_start

    print(f"model {SLUG} v{model.latest.version}, sqlite WAL, one core")
    print(f"run-flow overhead around the engine (stub engine): {ms(overhead)}  [target < 5 ms]")
    print(f"execution-cache hit end to end:                    {ms(hits)}  [target < 2 ms]")
    print(f"full run with the real engine:                     {ms(full)}; engine alone {ms(engine_only)}")
    print(f"sustained: {done / elapsed:.1f} runs/s over {elapsed:.1f} s ({done} runs)")


if __name__ == "__main__":
    main()
