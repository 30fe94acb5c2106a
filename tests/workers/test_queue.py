"""Queued runs (issue 15): submitted, followed (queued, running, done or failed, with elapsed time, read back
after a reload), cancelled, capped per user; with Redis, two real worker processes share the queue and one
killed mid-run leaves its run failed with a sentence, its quota given back and never run twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import services
from contracts.code import CodeBundle
from contracts.errors import QueueFull
from contracts.records import User
from services.code_templates import TEMPLATES
from services.config import Settings
from services.data import sample_access
from services.facade import Services
from services.queue import CANCELLED, WORKER_LOST, LocalQueue
from services.runner import RunJob, execute_job
from store.sqlite import SqliteStore
from store.supabase import SupabaseStore
from tests.conftest import missing_service
from tests.store.conftest import FAST_HASHER, seed_meta, supabase_loopback  # noqa: F401  (the loopback PostgREST/GoTrue, shared with tests/store)

ROOT = Path(__file__).resolve().parents[2]
INPUTS = {"start": "2024-01-01", "end": "2024-12-31"}
SEED = "yield-curve-10y-2y"


def person(svc: Services) -> User:
    return svc.store.users.sign_up(f"u{uuid.uuid4().hex[:10]}@example.com", "password1")


class Gate:
    """An executor that holds every job until opened, so tests can see a job queued and running."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.started = threading.Semaphore(0)

    def __call__(self, job: RunJob) -> dict[str, Any]:
        self.started.release()
        self.opened.wait(30)
        return execute_job(job, sample_access())


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[Services, Gate]]:
    """Services whose queue is the embedded one: one local worker thread behind a gate."""
    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    built = services.build(Settings(db_path=str(tmp_path / "auster.db"), seeds_dir=str(ROOT / "seeds"), queue_cap=2), store=store, data=sample_access())
    yield from gated(built)


def gated(built: Services) -> Iterator[tuple[Services, Gate]]:
    """``built`` with its embedded queue's one worker thread behind a gate (opened and closed at the end)."""
    gate = Gate()
    built.queue.backend.close()
    built.queue.backend = LocalQueue(built.queue.backend._recorder, built.queue._secret, threads=1, execute=gate)
    yield built, gate
    gate.opened.set()
    built.close()


def test_without_redis_a_local_worker_thread_runs_the_job_queued_then_running_then_done(local):
    svc, gate = local
    ana = person(svc)
    first = svc.queue.submit(ana, SEED, INPUTS)
    assert gate.started.acquire(timeout=10)
    assert svc.queue.status(ana, first.run_id).state == "running"
    second = svc.queue.submit(ana, SEED, {"start": "2023-01-01", "end": "2023-12-31"})
    assert svc.queue.status(ana, second.run_id).state == "queued"  # the only thread is busy
    gate.opened.set()
    done = svc.queue.wait(ana, first.run_id, 30)
    assert done.state == "done" and done.run.outputs["outputs"]["series"][0]["id"] == "spread"
    assert done.elapsed_s >= 0 and svc.queue.wait(ana, second.run_id, 30).state == "done"


def test_the_status_is_read_back_after_a_reload(local):
    svc, gate = local
    ana = person(svc)
    gate.opened.set()
    run_id = svc.queue.submit(ana, SEED, INPUTS).run_id
    svc.queue.wait(ana, run_id, 30)
    again = services.build(svc.settings, store=svc.store, data=sample_access(), load_seeds=False)  # a new session, same database
    assert again.queue.status(ana, run_id).state == "done"


def test_a_queued_run_can_be_cancelled_and_costs_no_quota(local):
    svc, gate = local
    ana = person(svc)
    svc.queue.submit(ana, SEED, INPUTS)
    assert gate.started.acquire(timeout=10)
    waiting = svc.queue.submit(ana, SEED, {"start": "2022-01-01", "end": "2022-12-31"})
    before = svc.store.runs.runs_today(ana)
    cancelled = svc.queue.cancel(ana, waiting.run_id)
    assert cancelled.state == "cancelled" and cancelled.run.error_message == CANCELLED
    assert svc.store.runs.runs_today(ana) == before - 1
    gate.opened.set()
    time.sleep(0.5)
    assert svc.queue.status(ana, waiting.run_id).state == "cancelled"  # the thread never ran it


def test_a_user_has_at_most_the_cap_of_jobs_waiting_or_running(local):
    svc, _ = local
    ana, bob = person(svc), person(svc)
    svc.queue.submit(ana, SEED, INPUTS)
    svc.queue.submit(ana, SEED, {"start": "2023-01-01", "end": "2023-12-31"})
    with pytest.raises(QueueFull, match="You already have 2 runs waiting or running"):
        svc.queue.submit(ana, SEED, {"start": "2022-01-01", "end": "2022-12-31"})
    svc.queue.submit(bob, SEED, INPUTS)  # the cap is per user


def test_a_second_identical_run_is_answered_from_the_cache_at_once(local):
    svc, gate = local
    ana = person(svc)
    gate.opened.set()
    svc.queue.wait(ana, svc.queue.submit(ana, SEED, INPUTS).run_id, 30)
    hit = svc.queue.submit(ana, SEED, INPUTS)
    assert hit.state == "done" and hit.cached


# ----------------------------------------------------------------------------- RQ with real workers
@pytest.fixture
def redis_queue(redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment for the app and its workers: one sqlite file, the local Redis, a queue of this test's own."""
    try:
        from redis import Redis

        Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except Exception as exc:
        missing_service(f"Redis at {redis_url} does not answer ({exc})")
    env = {
        "AUSTER_DB_PATH": str(tmp_path / "auster.db"), "AUSTER_DATA_MODE": "sample", "AUSTER_SEEDS_DIR": str(ROOT / "seeds"),
        "MODEL_WORKER_URL": redis_url, "MODEL_WORKER_SECRET": uuid.uuid4().hex, "AUSTER_QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "AUSTER_RUNNER": "inline",
    }
    yield env


def start_worker(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KV_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY")} | env
    return subprocess.Popen([sys.executable, "-m", "workers", "--name", name], cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop(worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    try:
        worker.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(5)


def app(env: dict[str, str]) -> Services:
    return services.build(Settings.load(env=env, secrets={}))


SLEEPY = "import time\n\ndef run(inputs):\n    time.sleep(20)\n    return (inputs['dgs10'] - inputs['dgs2']).dropna()\n"


def test_two_workers_share_the_queue_and_one_killed_mid_run_fails_its_run_once(redis_queue):
    from sandbox import unavailable_reason

    reason = unavailable_reason("python")
    if reason:
        missing_service(f"the Python sandbox cannot run here: {reason}")
    svc = app(redis_queue)
    workers = [start_worker(redis_queue, f"w{i}-{uuid.uuid4().hex[:6]}") for i in range(2)]
    try:
        ana, bob = person(svc), person(svc)
        template = TEMPLATES["python"]
        slug = f"sleepy-{uuid.uuid4().hex[:6]}"
        svc.models.create(ana, template.meta(slug, "Sleeps"), "private", "sleeps", code=CodeBundle("python", SLEEPY))
        sleepy = svc.queue.submit(ana, slug, INPUTS)
        quick = svc.queue.submit(bob, SEED, INPUTS)
        assert svc.queue.wait(bob, quick.run_id, 60).state == "done"  # the other worker serves it meanwhile
        deadline = time.monotonic() + 60
        while svc.queue.status(ana, sleepy.run_id).state != "running" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert svc.queue.status(ana, sleepy.run_id).state == "running"
        runner_of = _worker_running(svc, sleepy.run_id)
        victim = next(w for w in workers if w.pid == runner_of)
        stop(victim, signal.SIGKILL)
        failed = svc.queue.wait(ana, sleepy.run_id, 30)
        assert failed.state == "failed" and failed.run.error_message == WORKER_LOST
        assert svc.store.runs.runs_today(ana) == 0  # the quota is given back
        time.sleep(3)
        survivor = next(w for w in workers if w is not victim)
        assert survivor.poll() is None
        assert svc.queue.status(ana, sleepy.run_id).run.error_message == WORKER_LOST  # nobody ran it again
        after = svc.queue.submit(bob, SEED, {"start": "2023-01-01", "end": "2023-12-31"})
        assert svc.queue.wait(bob, after.run_id, 60).state == "done"  # the survivor keeps serving
    finally:
        for worker in workers:
            stop(worker, signal.SIGKILL)
        svc.close()


def _worker_running(svc: Services, run_id: str) -> int | None:
    """The pid of the worker process that holds ``run_id`` (RQ records it on the worker's hash)."""
    from rq import Worker

    redis = svc.queue.backend.redis
    for worker in Worker.all(connection=redis):
        job_id = worker.get_current_job_id()
        if job_id == run_id:
            return int(worker.pid)
    return None


def test_a_job_signed_with_another_secret_is_refused_and_a_claimed_run_is_never_run_twice(local):
    from services.queue import LocalClaims, QueuedJob, Recorder, perform

    svc, gate = local
    gate.opened.set()
    job = QueuedJob("r1", "u1", "m1", "v1", {}, {}, {}, {}, "sample", None, None, "k")
    wire = job.to_wire("the app's secret")
    with pytest.raises(PermissionError, match="signature did not verify"):
        QueuedJob.from_wire(wire, "a forger's secret")
    forged = dict(wire, job=dict(wire["job"], user_id="someone-else"))
    with pytest.raises(PermissionError):
        QueuedJob.from_wire(forged, "the app's secret")
    claims, ran = LocalClaims(), []
    claims.claim("r1", "u1")  # a worker has it already
    assert perform(job, claims, Recorder(svc.store, svc.settings.data), execute=lambda rj: ran.append(rj) or {}) == "skipped"
    assert ran == []


def test_runs_the_embedded_queue_lost_with_the_app_are_failed_with_a_sentence_and_hold_no_place(local):
    from services.queue import QUEUE_LOST

    svc, gate = local
    ana = person(svc)
    first = svc.queue.submit(ana, SEED, INPUTS)
    assert gate.started.acquire(timeout=10)
    second = svc.queue.submit(ana, SEED, {"start": "2023-01-01", "end": "2023-12-31"})
    restarted = services.build(svc.settings, store=svc.store, data=sample_access(), load_seeds=False)  # the app restarted: its threads are gone
    restarted.queue.lost_after_s = restarted.queue.lost_confirm_s = 0.0
    try:
        lost = restarted.queue.wait(ana, second.run_id, 10)
        assert lost.state == "failed" and lost.run.error_message == QUEUE_LOST
        assert restarted.queue.status(ana, first.run_id).state == "failed"
        assert svc.store.runs.runs_today(ana) == 0  # neither is charged
        gate.opened.set()
        time.sleep(0.5)  # the old thread finishing its job records nothing over the sentence
        assert restarted.queue.status(ana, first.run_id).run.error_message == QUEUE_LOST
        again = restarted.queue.submit(ana, SEED, {"start": "2022-01-01", "end": "2022-12-31"})  # lost runs hold no place under the cap
        assert restarted.queue.wait(ana, again.run_id, 30).state == "done"
    finally:
        restarted.close()


# ----------------------------------------------------------------------------- the sweep: nobody needs to look
def test_the_embedded_queue_sweeps_runs_lost_with_the_app_without_their_owner_looking(local):
    from services.queue import QUEUE_LOST

    svc, gate = local
    ana, bob, cy = person(svc), person(svc), person(svc)
    first = svc.queue.submit(ana, SEED, INPUTS)
    assert gate.started.acquire(timeout=10)
    second = svc.queue.submit(bob, SEED, {"start": "2023-01-01", "end": "2023-12-31"})
    model = svc.registry.get_model(SEED, cy)
    in_place = svc.store.runs.reserve_run(cy, model.id, model.latest.id, {}, "executing-in-place")  # a run the app executes itself
    restarted = services.build(svc.settings, store=svc.store, data=sample_access(), load_seeds=False)  # the app restarted: its threads are gone
    restarted.queue.lost_after_s, restarted.queue.lost_confirm_s = 0.0, 0.2
    try:
        assert restarted.queue.start_sweeping(0.2)
        deadline = time.monotonic() + 10
        while any(svc.store.runs.get_run(u, r).status == "pending" for u, r in ((ana, first.run_id), (bob, second.run_id))) and time.monotonic() < deadline:
            time.sleep(0.1)  # the store is read directly: no status read by either owner
        for owner, run_id in ((ana, first.run_id), (bob, second.run_id)):
            run = svc.store.runs.get_run(owner, run_id)
            assert (run.status, run.error_message) == ("error", QUEUE_LOST)
        assert svc.store.runs.runs_today(ana) == 0 and svc.store.runs.runs_today(bob) == 0  # the quota is given back
        assert svc.store.runs.get_run(cy, in_place).status == "pending"  # not queued: the sweep leaves it alone
        gate.opened.set()
        time.sleep(0.5)  # the old thread finishing its job records nothing over the sentence
        assert svc.store.runs.get_run(ana, first.run_id).error_message == QUEUE_LOST
    finally:
        restarted.close()


def test_the_sweep_leaves_alone_the_runs_its_queue_knows(local):
    svc, gate = local
    ana = person(svc)
    running = svc.queue.submit(ana, SEED, INPUTS)
    assert gate.started.acquire(timeout=10)
    waiting = svc.queue.submit(ana, SEED, {"start": "2023-01-01", "end": "2023-12-31"})
    svc.queue.lost_after_s = svc.queue.lost_confirm_s = 0.0
    time.sleep(0.05)
    assert svc.queue.sweep() == []
    gate.opened.set()
    assert [svc.queue.wait(ana, r.run_id, 30).state for r in (running, waiting)] == ["done", "done"]


@pytest.fixture(params=["sqlite", pytest.param("supabase-loopback", marks=pytest.mark.services)])
def on_either_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Services, Gate]]:
    """Services over each backend (sqlite, or the real migrations behind the loopback PostgREST), with the seed
    spread model and the embedded queue's one worker thread behind a gate."""
    if request.param == "sqlite":
        store: Any = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
        settings = Settings(db_path=str(tmp_path / "auster.db"))
    else:
        loopback = request.getfixturevalue("supabase_loopback")
        store = SupabaseStore(loopback.url, loopback.anon_key, service_role_key=loopback.service_role_key, auto_refresh_token=False)
        settings = Settings(db_path=str(tmp_path / "unused.db"), supabase_url=loopback.url, supabase_anon_key=loopback.anon_key)
    store.models.load_seeds([seed_meta()])
    yield from gated(services.build(settings, store=store, data=sample_access(), load_seeds=False))


def test_issue15_a_slow_run_executed_in_place_is_never_failed_as_lost_by_its_owners_reads(on_either_store):
    """A run the app executes in place is pending and no queue knows it: however long it takes, its owner submitting
    again or reading its status must not fail it as lost; a queued run the queue lost still is."""
    from services.queue import QUEUE_LOST

    svc, gate = on_either_store
    ana = person(svc)
    model = svc.registry.get_model("spread-10y-2y", ana)
    in_place = svc.store.runs.reserve_run(ana, model.id, model.latest.id, {"start": "2024-01-01"}, "executing-in-place")
    lost = svc.store.runs.reserve_run(ana, model.id, model.latest.id, {"start": "2023-01-01"}, "lost-with-redis", queued=True)  # never enqueued
    time.sleep(0.05)
    old = svc.queue.backend
    old.close()
    svc.queue.backend = LocalQueue(old._recorder, svc.queue._secret, threads=1, execute=gate)  # the app restarted: neither is known to its queue
    svc.queue.lost_after_s = svc.queue.lost_confirm_s = 0.0  # and both are past the threshold
    again = svc.queue.submit(ana, "spread-10y-2y", {"start": "2022-01-01"})  # from another tab, while the first still runs
    assert again.state in ("queued", "running")
    assert svc.store.runs.get_run(ana, lost).error_message == QUEUE_LOST
    assert svc.queue.status(ana, in_place).run.status == "pending"  # its page reads its status: still running
    run = svc.store.runs.get_run(ana, in_place)
    assert (run.status, run.error_message) == ("pending", None)


def test_a_run_that_finishes_while_the_sweep_confirms_is_never_overwritten(local):
    from services.queue import sweep_lost

    svc, _ = local
    ana = person(svc)
    model = svc.registry.get_model(SEED, ana)
    run_id = svc.store.runs.reserve_run(ana, model.id, model.latest.id, INPUTS, "raced", queued=True)
    time.sleep(0.05)
    result = {"outputs": {"series": [], "tables": [], "metrics": []}, "trace": [], "provenance": [], "runtime_ms": 1.0}

    def worker_records_it_meanwhile(seconds: float) -> bool:
        svc.store.runs.finish_run(ana, run_id, "success", result, 1.0, None)
        return False

    assert sweep_lost(svc.store, lambda run: False, 0.0, 0.0, wait=worker_records_it_meanwhile) == []
    run = svc.store.runs.get_run(ana, run_id)
    assert run.status == "success" and run.error_message is None and svc.store.runs.runs_today(ana) == 1


def test_the_sweep_settings_are_read_with_the_others():
    from contracts.errors import ConfigurationError

    settings = Settings.load(env={"AUSTER_QUEUE_SWEEP_S": "1.5", "AUSTER_QUEUE_LOST_AFTER_S": "2"}, secrets={})
    assert (settings.queue_sweep_s, settings.queue_lost_after_s) == (1.5, 2.0)
    assert (Settings.load(env={}, secrets={}).queue_sweep_s, Settings.load(env={}, secrets={}).queue_lost_after_s) == (30.0, 10.0)
    with pytest.raises(ConfigurationError, match="AUSTER_QUEUE_LOST_AFTER_S is '0'"):
        Settings.load(env={"AUSTER_QUEUE_LOST_AFTER_S": "0"}, secrets={})


def test_one_worker_sweeps_per_interval_across_machines(redis_url):
    """Each worker holds its own connection (as on separate machines); the lock expires after one interval."""
    from redis import Redis

    from services.queue import RedisSweepLock

    key = f"auster:test-{uuid.uuid4().hex[:8]}:sweep"
    workers = [RedisSweepLock(Redis.from_url(redis_url), key, ttl_s=1.0) for _ in range(3)]
    try:
        assert [lock.acquire() for lock in workers] == [True, False, False]
        time.sleep(1.2)
        assert [lock.acquire() for lock in reversed(workers)] == [True, False, False]  # the next interval, whoever comes first
    finally:
        workers[0].redis.delete(key)
