"""Benchmark of the run flow on sqlite: overhead around the engine, cache hits, and concurrency.

    python bench/runs.py [--seconds 3] [--callers 1,4,16,64]

Prints a report (never a test):
1. run-flow overhead around the engine (validate inputs, limits, cache lookup, reserve, record), with
   an engine stub returning a real result at once; an execution-cache hit end to end; a full run with
   the real engine, inline and through the supervised process pool;
2. for 1, 4, 16 and 64 concurrent callers, as threads of one process and as separate processes over
   one sqlite file: distinct runs per second (real engine) and cache hits per second;
3. N identical simultaneous requests: how many times the engine ran, and the wall time.

It uses only ``services.build`` and ``svc.runs.run_model``, so the same file also measures an older
checkout (the closing note of issue 8 quotes both, side by side in one session).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SLUG = "yield-curve-10y-2y"


class SteppingClock:
    """Advances 15 minutes per reading so neither the daily nor the per-minute limit stops the bench."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            self.now += timedelta(minutes=15)
            return self.now


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered) * 1000:7.3f} ms, p90 {ordered[int(len(ordered) * 0.9)] * 1000:7.3f} ms (n={len(ordered)})"


def build(db: Path, engine: str) -> Any:
    """Services over ``db``: ``engine`` is "inline", "process" (the pool, where this checkout has one) or "stub"."""
    import services
    import services.runs as runs_module
    from services.config import Settings
    from store.sqlite import SqliteStore

    try:
        from services.data import sample_access
    except ImportError:  # an older checkout
        from engine.data import DataAccess

        sample_access = DataAccess.sample

    store = SqliteStore(db, clock=SteppingClock())
    settings = Settings(db_path=str(db))
    has_runner = hasattr(runs_module, "RunJob") or "runner" in services.build.__code__.co_varnames
    if engine == "process" and has_runner:
        svc = services.build(settings, store=store, load_seeds=False)
    else:
        svc = services.build(settings, store=store, data=sample_access(), load_seeds=False)
    svc.engine_calls = count_engine_calls(svc, stub=engine == "stub")
    return svc


def count_engine_calls(svc: Any, stub: bool) -> list[int]:
    """Wrap whatever executes models in this checkout (the runner, or the engine call) to count calls."""
    import services.runs as runs_module

    calls = [0]
    stub_result: list[Any] = []
    if hasattr(svc.runs, "runner"):
        runner = svc.runs.runner
        original_run = runner.run

        def run(job: Any) -> Any:
            calls[0] += 1
            if stub and stub_result:
                return stub_result[0]
            value = original_run(job)
            stub_result.append(value)
            return value

        runner.run = run
    else:
        original_execute = runs_module.execute

        def execute(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if stub and stub_result:
                return stub_result[0]
            value = original_execute(*args, **kwargs)
            stub_result.append(value)
            return value

        runs_module.execute = execute
    return calls


def paid_user(svc: Any, email: str) -> Any:
    user = svc.auth.sign_up(email, "benchmark-pw")
    store = svc.store
    users = getattr(store, "users", store)
    users.set_profile(email, tier="paid")
    return svc.auth.refresh(user)


def sequential(db: Path, seconds: float) -> None:
    start = datetime(1995, 1, 1)
    stub = build(db, "stub")
    user = paid_user(stub, "seq@example.com")
    stub.runs.run_model(user, SLUG, {"start": "2020-01-01"})  # warm, and the stub's result
    overhead, hits = [], []
    for i in range(300):
        t0 = time.perf_counter()
        stub.runs.run_model(user, SLUG, {"start": (start + timedelta(days=i)).date().isoformat()})
        overhead.append(time.perf_counter() - t0)
    for _ in range(300):
        t0 = time.perf_counter()
        assert stub.runs.run_model(user, SLUG, {"start": "2020-01-01"}).cached
        hits.append(time.perf_counter() - t0)
    print(f"run-flow overhead (stub engine):      {ms(overhead)}")
    print(f"execution-cache hit end to end:       {ms(hits)}")
    for engine in ("inline", "process"):
        svc = build(db, engine)
        other = paid_user(svc, f"{engine}@example.com")
        svc.runs.run_model(other, SLUG, {"start": "2019-01-01"})
        full = []
        t_end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < t_end:
            i += 1
            t0 = time.perf_counter()
            svc.runs.run_model(other, SLUG, {"start": (datetime(2005, 1, 1) + timedelta(days=i)).date().isoformat()})
            full.append(time.perf_counter() - t0)
        print(f"full run, real engine, {engine:<8}:     {ms(full)}")


def _loop(svc: Any, user: Any, index: int, seconds: float, distinct: bool) -> int:
    done = 0
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end:
        start = (datetime(1977, 1, 1) + timedelta(days=(index * 250 + done) % 16_000)).date().isoformat() if distinct else "2020-01-01"
        svc.runs.run_model(user, SLUG, {"start": start})
        done += 1
    return done


def _process_caller(db: str, engine: str, index: int, seconds: float, distinct: bool, start_at: float, queue: Any) -> None:
    svc = build(Path(db), engine)
    user = paid_user(svc, f"proc{index}-{distinct}-{time.time_ns()}@example.com")
    if not distinct:
        svc.runs.run_model(user, SLUG, {"start": "2020-01-01"})
    time.sleep(max(0.0, start_at - time.time()))
    queue.put(_loop(svc, user, index, seconds, distinct))


def concurrency(db: Path, callers: list[int], seconds: float, engine: str) -> None:
    print(f"\ncallers  threads: runs/s  hits/s   processes: runs/s  hits/s   (engine: {engine})")
    svc = build(db, engine)
    users = [paid_user(svc, f"t{i}@example.com") for i in range(max(callers))]
    svc.runs.run_model(users[0], SLUG, {"start": "2020-01-01"})
    ctx = multiprocessing.get_context("spawn")
    for count in callers:
        row = []
        for distinct in (True, False):
            row.append(threaded(count, lambda i, d=distinct: _loop(svc, users[i], i, seconds, d)) / seconds)
        for distinct in (True, False):
            queue = ctx.Queue()
            start_at = time.time() + 8 + count * 0.15
            procs = [ctx.Process(target=_process_caller, args=(str(db), engine, i, seconds, distinct, start_at, queue)) for i in range(count)]
            for proc in procs:
                proc.start()
            total = sum(queue.get(timeout=300) for _ in procs)
            for proc in procs:
                proc.join(60)
            row.append(total / seconds)
        print(f"{count:>7}  {row[0]:>15.1f} {row[1]:>7.0f}   {row[2]:>17.1f} {row[3]:>7.0f}")


def threaded(count: int, call: Callable[[int], int]) -> int:
    barrier = threading.Barrier(count)
    totals = [0] * count

    def work(i: int) -> None:
        barrier.wait()
        totals[i] = call(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(totals)


def identical(db: Path, count: int, engine: str) -> None:
    svc = build(db, engine)
    users = [paid_user(svc, f"same{i}@example.com") for i in range(count)]
    before = svc.engine_calls[0]
    started = time.perf_counter()
    threaded(count, lambda i: svc.runs.run_model(users[i], SLUG, {"start": "2003-03-03"}) and 1)
    print(f"{count} identical simultaneous requests ({engine}): the engine ran {svc.engine_calls[0] - before} time(s), {time.perf_counter() - started:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--callers", default="1,4,16,64")
    parser.add_argument("--engine", default="inline", choices=["inline", "process"], help="what the concurrency table runs on")
    args = parser.parse_args()
    callers = [int(c) for c in args.callers.split(",")]
    import services

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        import services.config

        seeded = services.build(services.config.Settings(db_path=str(db)))
        seeded.close()
        print(f"model {SLUG}, sqlite WAL, {multiprocessing.cpu_count()} cores")
        sequential(db, args.seconds)
        concurrency(db, callers, args.seconds, args.engine)
        print()
        identical(db, 64, args.engine)


if __name__ == "__main__":
    main()
