"""Identical concurrent runs make one execution: in one process, across processes, and through the run flow."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contracts.errors import RateLimitExceeded
from services.coalesce import Coalescer, FileLocks, RedisLocks
from services.runner import InlineRunner, RunJob

SLUG = "spread-10y-2y"


def together(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(i)`` in ``count`` threads released at the same instant; return results in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = call(index)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_sixteen_identical_calls_make_one_execution() -> None:
    coalescer = Coalescer()

    def lead() -> str:
        time.sleep(0.3)
        return "value"

    results = together(16, lambda i: coalescer.once("k", lead, lookup=lambda: None, wait_s=10))
    assert coalescer.executions == 1
    assert [value for value, _ in results] == ["value"] * 16
    assert sorted(origin for _, origin in results).count("led") == 1


def test_a_refusal_of_the_leader_is_not_passed_on() -> None:
    coalescer = Coalescer()
    calls: list[int] = []

    def lead() -> str:
        calls.append(1)
        time.sleep(0.2)
        if len(calls) == 1:
            raise RateLimitExceeded("minute", 3, __import__("datetime").datetime.now())
        return "ran"

    results = together(4, lambda i: coalescer.once("k", lead, lookup=lambda: None, wait_s=10, shareable=lambda exc: False))
    assert sum(isinstance(r, RateLimitExceeded) for r in results) == 1
    assert [r[0] for r in results if isinstance(r, tuple)] == ["ran"] * 3
    assert coalescer.executions == 2  # the refused leader, then one of the others led for the rest


def test_file_locks_exclude_other_holders_and_say_when_released(tmp_path: Path) -> None:
    mine, theirs = FileLocks(tmp_path), FileLocks(tmp_path)  # separate open files behave like separate processes
    handle = mine.try_acquire("k", ttl_s=5)
    assert handle is not None and theirs.try_acquire("k", ttl_s=5) is None
    assert theirs.wait_released("k", timeout_s=0.1) is False
    mine.release(handle)
    assert theirs.wait_released("k", timeout_s=1) is True
    again = theirs.try_acquire("k", ttl_s=5)
    assert again is not None
    theirs.release(again)
    assert not list(tmp_path.glob("*.lock"))  # released locks leave no files behind


@pytest.mark.services
def test_redis_locks_exclude_other_holders_and_expire(redis_url: str) -> None:
    mine, theirs = RedisLocks(redis_url, prefix="auster:test-lock:"), RedisLocks(redis_url, prefix="auster:test-lock:")
    handle = mine.try_acquire("k", ttl_s=5)
    assert handle is not None and theirs.try_acquire("k", ttl_s=5) is None
    mine.release(handle)
    assert theirs.wait_released("k", timeout_s=1)
    short = theirs.try_acquire("k", ttl_s=0.2)
    assert short is not None and mine.wait_released("k", timeout_s=2)  # a crashed holder's lock expires


def test_redis_that_does_not_answer_means_no_coalescing_not_a_hang() -> None:
    dead = RedisLocks("redis://127.0.0.1:9/0")  # nothing listens on port 9
    started = time.monotonic()
    handle = dead.try_acquire("k", ttl_s=5)
    assert handle is not None and time.monotonic() - started < 2
    dead.release(handle)


class SlowRunner(InlineRunner):
    """Inline over the sample data, pausing first so concurrent callers overlap."""

    def __init__(self, seconds: float):
        from services.data import sample_access

        super().__init__(sample_access)
        self.seconds = seconds
        self.jobs = 0

    def run(self, job: RunJob) -> dict[str, Any]:
        self.jobs += 1
        time.sleep(self.seconds)
        return super().run(job)


def test_identical_runs_by_sixteen_users_run_the_engine_once(tmp_path: Path) -> None:
    import services
    from services.config import Settings
    from store.sqlite import SqliteStore
    from tests.store.conftest import FAST_HASHER, seed_meta

    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    store.models.load_seeds([seed_meta()])
    runner = SlowRunner(0.5)
    svc = services.build(Settings(db_path=str(tmp_path / "auster.db")), store=store, runner=runner, load_seeds=False)
    users = [svc.auth.guest() for _ in range(16)]
    outcomes = together(16, lambda i: svc.runs.run_model(users[i], SLUG, {"start": "2024-01-01"}))
    assert runner.jobs == 1
    assert sum(not o.cached for o in outcomes) == 1
    assert len({o.run_id for o in outcomes}) == 16  # every user has their own run in their history
    fresh = next(o for o in outcomes if not o.cached)
    assert all(o.result.outputs == fresh.result.outputs for o in outcomes)
    svc.close()


def _child(db: str, start_at: float, queue: Any) -> None:
    import services
    from services.config import Settings

    svc = services.build(Settings(db_path=db, runner="inline"), runner=SlowRunner(1.0), load_seeds=False)
    user = svc.auth.guest()
    time.sleep(max(0.0, start_at - time.time()))
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-01-01"})
    queue.put((outcome.cached, svc.runs.runner.jobs))
    svc.close()


def test_identical_runs_in_two_processes_run_the_engine_once(tmp_path: Path) -> None:
    from store.sqlite import SqliteStore
    from tests.store.conftest import FAST_HASHER, seed_meta

    db = tmp_path / "auster.db"
    SqliteStore(db, password_hasher=FAST_HASHER).models.load_seeds([seed_meta()])
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.time() + 6  # both children are imported and ready by then
    children = [ctx.Process(target=_child, args=(str(db), start_at, queue)) for _ in range(2)]
    for child in children:
        child.start()
    results = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(30)
    assert sorted(cached for cached, _ in results) == [False, True]
    assert sum(jobs for _, jobs in results) == 1
