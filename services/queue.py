"""Queued runs (issue 15): code models (and long DSL runs) run away from the app, on RQ workers over Redis.

The app validates the inputs, answers from the execution cache when it can, reserves the run under the
limits (``pending`` in ``model_runs``, so a reload reads it back) and enqueues a signed job. A worker
(``python -m workers``, any machine that reaches Redis and the database) claims the run once (``SET NX``:
a job is never run twice for one run), keeps a heartbeat while it runs, executes it and records the
outcome with the server-side key. Without Redis, ``LocalQueue`` runs the same jobs in worker threads of
the app process, so ``make run`` works alone.

States a user sees: ``queued`` (waiting for a worker), ``running`` (claimed, heartbeat fresh), ``done``,
``failed`` (with the run's sentence) and ``cancelled``. A run claimed by a worker whose heartbeat stopped
(the process or machine went away) is failed with a sentence by whoever looks next (a status read, or any
worker's reaper); a failed run uses no daily quota, so the quota is given back. A user has at most
``QUEUE_CAP_PER_USER`` queued or running jobs.

Redis restarting loses no recorded run. The run is recorded in the database, not in Redis: a restart that
keeps Redis's data (RDB or AOF) leaves waiting jobs waiting and the workers reconnect; a running job goes on
in its worker, whose heartbeat also writes its claim back if the restart lost it. A restart that lost the
queue leaves recorded runs whose job nobody knows any more (not waiting, not started, not claimed, no
heartbeat): a status read of such a run (the page polls it; the owner's next submission counts their jobs)
that finds it still unknown ``LOST_CONFIRM_S`` after first finding it so fails it with ``QUEUE_LOST`` (once it
is older than ``LOST_AFTER_S``), so it is never shown queued forever, is not charged, and is never run twice
(nobody enqueues it again behind the user's back).

A lost run whose owner never comes back is failed all the same by the sweep, which needs no owner: every
``AUSTER_QUEUE_SWEEP_S`` (30 s, jittered) one worker (``python -m workers``; one at a time across machines,
under a lock in Redis that expires after one interval) or, without Redis, the app's embedded queue lists the
runs recorded for the queue (``queued``) still pending past ``AUSTER_QUEUE_LOST_AFTER_S``, asks the queue about
each by the same rules, asks again ``LOST_CONFIRM_S`` later about those it did not know, and fails those still
unknown with ``QUEUE_LOST``. Finishing a run is conditional (only a run still pending is finished), so a run
is failed once however many sweepers look, and a run that finishes meanwhile is never overwritten. A run the
app executes in place (not queued) is pending too and no queue knows it: it is not marked queued, so the
sweep leaves it alone, and so do the owner's status reads and submissions (the store's run records carry the mark).

``MODEL_WORKER_URL`` is the Redis of the queue (default: ``REDIS_URL``); ``MODEL_WORKER_SECRET`` signs
each job (HMAC-SHA256) and workers refuse a job whose signature does not verify, so whoever can write
to that Redis still cannot make a worker record runs in someone else's name.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from contracts.code import CodeBundle
from contracts.errors import AusterError, EngineError, NotFoundError, QueueFull, QueueUnavailable, ValidationFailed
from contracts.inputs import resolve_inputs
from contracts.limits import Limits
from contracts.records import RunRecord, User
from contracts.settings import DataSettings
from services.auth import require_user
from services.health import HealthService, failure_origin
from services.runner import GRACE_MS, RunJob, execute_job
from services.runs import RunsService, bundle_of, inputs_hash

log = logging.getLogger(__name__)

QUEUE_NAME = "auster-runs"
QUEUE_CAP_PER_USER = 2  # queued or running jobs per user at once
HEARTBEAT_S = 1.0
HEARTBEAT_TTL_S = 5  # a claimed run whose heartbeat is older than this lost its worker
CLAIM_TTL_S = 86_400
WORKER_LOST = "The worker running this model stopped before it finished (its process or machine went away); the run was not charged. Run it again."
CANCELLED = "Cancelled by you before it finished; the run was not charged."
BAD_SIGNATURE = "The job's signature did not verify; it was not run."
QUEUE_LOST = "The run queue restarted and lost this run before a worker took it; the run was not charged. Run it again."
LOST_AFTER_S = 10.0  # a recorded run the queue does not know is lost once this old (submit reserves, then enqueues)
LOST_CONFIRM_S = HEARTBEAT_TTL_S  # ... and still unknown this long after first seen so: a running job's heartbeat writes its claim back by then


# ----------------------------------------------------------------------------------------------
# The job: plain data, signed
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedJob:
    """What a worker needs to execute one reserved run and record it."""

    run_id: str
    user_id: str
    model_id: str
    version_id: str
    dsl: dict[str, Any]
    input_schema: dict[str, Any]
    inputs: dict[str, Any]
    limits: dict[str, int]
    data_mode: str
    today: str | None
    code: dict[str, Any] | None
    key: str

    def to_wire(self, secret: str) -> dict[str, Any]:
        body = asdict(self)
        return {"job": body, "signature": sign(body, secret)}

    @classmethod
    def from_wire(cls, wire: dict[str, Any], secret: str) -> QueuedJob:
        body = wire.get("job") or {}
        if not hmac.compare_digest(str(wire.get("signature", "")), sign(body, secret)):
            raise PermissionError(BAD_SIGNATURE)
        return cls(**body)

    def run_job(self, data: DataSettings, audit_path: str | None) -> RunJob:
        code = CodeBundle(self.code["runtime"], self.code["source"], tuple(self.code["dependencies"])) if self.code else None
        return RunJob(self.dsl, self.input_schema, self.inputs, Limits(**self.limits), self.data_mode, data,
                      date.fromisoformat(self.today) if self.today else None, code=code, actor=self.user_id, audit_path=audit_path)


def sign(body: dict[str, Any], secret: str) -> str:
    """HMAC-SHA256 of the job's canonical JSON under ``MODEL_WORKER_SECRET``."""
    return hmac.new(secret.encode(), json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode(), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------------------
# Claims and heartbeats: where "running", "never twice" and "worker lost" are decided
# ----------------------------------------------------------------------------------------------


class Claims(Protocol):
    def claim(self, run_id: str, owner: str) -> bool: ...
    def owner(self, run_id: str) -> str | None: ...
    def beat(self, run_id: str, owner: str | None = None) -> None:
        """Say the run's worker is alive; with ``owner``, also write back a claim a Redis restart lost."""
        ...
    def release(self, run_id: str) -> None: ...
    def state(self, run_id: str) -> tuple[bool, bool, float | None]:
        """(claimed, heartbeat fresh, claimed at epoch seconds)."""
        ...
    def running(self) -> list[str]: ...


class RedisClaims:
    """Claims in Redis: ``SET NX`` per run (never run twice), a heartbeat key with a short TTL, a set of running runs."""

    def __init__(self, redis: Any, prefix: str = "auster:queue"):
        self.redis = redis
        self.prefix = prefix

    def _k(self, run_id: str, what: str) -> str:
        return f"{self.prefix}:run:{run_id}:{what}"

    def claim(self, run_id: str, owner: str) -> bool:
        won = bool(self.redis.set(self._k(run_id, "claimed"), repr(time.time()), nx=True, ex=CLAIM_TTL_S))
        if won:
            self.redis.set(self._k(run_id, "owner"), owner, ex=CLAIM_TTL_S)
            self.beat(run_id)
            self.redis.sadd(f"{self.prefix}:running", run_id)
        return won

    def owner(self, run_id: str) -> str | None:
        found = self.redis.get(self._k(run_id, "owner"))
        return found.decode() if isinstance(found, bytes) else found

    def beat(self, run_id: str, owner: str | None = None) -> None:
        if owner is None:
            self.redis.set(self._k(run_id, "alive"), "1", ex=HEARTBEAT_TTL_S)
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self._k(run_id, "alive"), "1", ex=HEARTBEAT_TTL_S)
        pipe.set(self._k(run_id, "claimed"), repr(time.time()), nx=True, ex=CLAIM_TTL_S)
        pipe.set(self._k(run_id, "owner"), owner, nx=True, ex=CLAIM_TTL_S)
        pipe.sadd(f"{self.prefix}:running", run_id)
        pipe.execute()

    def release(self, run_id: str) -> None:
        self.redis.delete(self._k(run_id, "alive"))
        self.redis.srem(f"{self.prefix}:running", run_id)

    def state(self, run_id: str) -> tuple[bool, bool, float | None]:
        claimed, alive = self.redis.mget(self._k(run_id, "claimed"), self._k(run_id, "alive"))
        return claimed is not None, alive is not None, float(claimed) if claimed else None

    def running(self) -> list[str]:
        return [m.decode() if isinstance(m, bytes) else m for m in self.redis.smembers(f"{self.prefix}:running")]


class LocalClaims:
    """The same in this process (the embedded queue): a thread never dies without its process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claimed: dict[str, float] = {}
        self._owners: dict[str, str] = {}
        self._alive: set[str] = set()

    def claim(self, run_id: str, owner: str) -> bool:
        with self._lock:
            if run_id in self._claimed:
                return False
            self._claimed[run_id] = time.time()
            self._owners[run_id] = owner
            self._alive.add(run_id)
            return True

    def owner(self, run_id: str) -> str | None:
        with self._lock:
            return self._owners.get(run_id)

    def beat(self, run_id: str, owner: str | None = None) -> None:
        return None

    def release(self, run_id: str) -> None:
        with self._lock:
            self._alive.discard(run_id)

    def state(self, run_id: str) -> tuple[bool, bool, float | None]:
        with self._lock:
            return run_id in self._claimed, run_id in self._alive, self._claimed.get(run_id)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._alive)


# ----------------------------------------------------------------------------------------------
# Executing a job (the same code in an RQ worker and in a local thread)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorder:
    """What a job needs on the worker side: the store (server-side key), data settings and the audit file."""

    store: Any
    data: DataSettings
    audit_path: str | None = None


def perform(job: QueuedJob, claims: Claims, recorder: Recorder, execute: Callable[[RunJob], dict[str, Any]] | None = None) -> str:
    """Claim, run and record one job; return what happened ("done", "failed", "skipped")."""
    if not claims.claim(job.run_id, job.user_id):
        log.warning("run %s was already claimed; not running it again", job.run_id)
        return "skipped"
    user = User(job.user_id, None, "")
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                claims.beat(job.run_id, job.user_id)  # writes the claim back if Redis restarted empty
            except Exception as exc:  # a Redis blip (or restart): the next beat may work
                log.warning("heartbeat of run %s failed: %s", job.run_id, exc)

    beating = threading.Thread(target=heartbeat, name=f"heartbeat-{job.run_id[:8]}", daemon=True)
    beating.start()
    try:
        try:
            result = (execute or (lambda rj: execute_job(rj)))(job.run_job(recorder.data, recorder.audit_path))
        except ValidationFailed as exc:
            _finish(recorder, user, job.run_id, "error", None, None, f"This model version is invalid and cannot run: {exc}", exc)
            return "failed"
        except (EngineError, AusterError) as exc:
            _finish(recorder, user, job.run_id, "error", None, None, str(exc), exc)
            return "failed"
        except Exception as exc:
            log.exception("queued run %s failed", job.run_id)
            _finish(recorder, user, job.run_id, "error", None, None, f"The model stopped on an unexpected error ({type(exc).__name__}); it has been recorded.", exc)
            return "failed"
        _finish(recorder, user, job.run_id, "success", result, result.get("runtime_ms"), None)
        return "done"
    finally:
        stop.set()
        claims.release(job.run_id)
        HealthService(recorder.store).maybe_flush()  # this worker's providers' counts, at most once a minute


def _finish(
    recorder: Recorder, user: User, run_id: str, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None,
    failure: BaseException | None = None,
) -> bool:
    """Record the outcome once: a run already finished (cancelled, reaped) is left as it is."""
    code, operation = failure_origin(failure) if failure is not None else (None, None)
    for attempt in range(2):
        try:
            recorder.store.runs.finish_run(user, run_id, status, outputs, runtime_ms, error, error_code=code, error_operation=operation)
            return True
        except NotFoundError:
            return False
        except Exception as exc:
            log.warning("could not record queued run %s (attempt %d): %s", run_id, attempt + 1, exc)
            time.sleep(0.2)
    return False


def reap(claims: Claims, store: Any, run_ids: list[str] | None = None) -> list[str]:
    """Fail every claimed run whose worker stopped beating; return their ids. Safe to call from anywhere, any time."""
    reaped = []
    for run_id in run_ids if run_ids is not None else claims.running():
        claimed, alive, _ = claims.state(run_id)
        if not claimed or alive:
            continue
        owner = claims.owner(run_id)
        if owner is None:
            claims.release(run_id)
            continue
        if _finish(Recorder(store, DataSettings()), User(owner, None, ""), run_id, "error", None, None, WORKER_LOST):
            reaped.append(run_id)
        claims.release(run_id)
    return reaped


# ----------------------------------------------------------------------------------------------
# Backends: RQ on Redis, or threads in this process
# ----------------------------------------------------------------------------------------------


class Backend(Protocol):
    name: str
    claims: Claims

    def enqueue(self, job: QueuedJob, timeout_s: int) -> None: ...
    def cancel(self, run_id: str) -> bool:
        """Take the job off the queue (True) or stop it if it runs; False when it was not found waiting."""
        ...
    def waiting(self, run_id: str) -> bool: ...
    def knows(self, run_id: str, recorded_at: datetime) -> bool:
        """Whether the queue still has this run's job (recorded at ``recorded_at``) in any state: waiting, started,
        finished, claimed or beating."""
        ...
    def close(self) -> None: ...


class RQBackend:
    """RQ 2 over Redis: the app enqueues ``workers.jobs.perform_run``; workers anywhere execute it."""

    name = "rq"

    def __init__(self, redis_url: str, secret: str, queue_name: str = QUEUE_NAME):
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.queue = Queue(queue_name, connection=self.redis)
        self.claims = RedisClaims(self.redis, f"auster:{queue_name}")
        self.secret = secret

    def enqueue(self, job: QueuedJob, timeout_s: int) -> None:
        self.queue.enqueue("workers.jobs.perform_run", job.to_wire(self.secret), job_id=job.run_id, job_timeout=timeout_s,
                           result_ttl=3600, failure_ttl=86_400)

    def cancel(self, run_id: str) -> bool:
        from rq.command import send_stop_job_command
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(run_id, connection=self.redis)
        except NoSuchJobError:
            return False
        status = job.get_status(refresh=True)
        if status in ("queued", "deferred", "scheduled"):
            job.cancel()
            return True
        if status == "started":
            with contextlib.suppress(InvalidJobOperation):
                send_stop_job_command(self.redis, run_id)
        return False

    def waiting(self, run_id: str) -> bool:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            return Job.fetch(run_id, connection=self.redis).get_status(refresh=True) in ("queued", "deferred", "scheduled")
        except NoSuchJobError:
            return False

    def knows(self, run_id: str, recorded_at: datetime) -> bool:
        return rq_knows(self.claims, run_id)

    def close(self) -> None:
        self.redis.close()


def rq_knows(claims: RedisClaims, run_id: str) -> bool:
    """Whether RQ's Redis still has the run: claimed, beating, or its job in any state (waiting, started, finished)."""
    from rq.job import Job

    claimed, alive, _ = claims.state(run_id)
    return claimed or alive or Job.exists(run_id, connection=claims.redis)


class LocalQueue:
    """The embedded default: the same jobs in ``threads`` worker threads of this process."""

    name = "local"

    def __init__(self, recorder: Recorder, secret: str, threads: int = 2, execute: Callable[[RunJob], dict[str, Any]] | None = None):
        self.claims = LocalClaims()
        self.started_at = datetime.now(UTC)
        self._recorder = recorder
        self._secret = secret
        self._execute = execute
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="auster-queue")
        self._futures: dict[str, Any] = {}
        self._lock = threading.Lock()

    def enqueue(self, job: QueuedJob, timeout_s: int) -> None:
        wire = job.to_wire(self._secret)
        future = self._pool.submit(lambda: perform(QueuedJob.from_wire(wire, self._secret), self.claims, self._recorder, self._execute))
        with self._lock:
            self._futures[job.run_id] = future

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            future = self._futures.get(run_id)
        return bool(future and future.cancel())

    def waiting(self, run_id: str) -> bool:
        with self._lock:
            future = self._futures.get(run_id)
        return bool(future and not future.running() and not future.done())

    def knows(self, run_id: str, recorded_at: datetime) -> bool:
        """This process's threads are the whole queue: a run recorded before it started was lost with the app that
        queued it; one recorded since, if not queued here, belongs to another app process sharing the database."""
        if recorded_at >= self.started_at:
            return True
        with self._lock:
            return run_id in self._futures

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# ----------------------------------------------------------------------------------------------
# The sweep: lost runs failed with nobody looking
# ----------------------------------------------------------------------------------------------


def sweep_lost(store: Any, knows: Callable[[RunRecord], bool], lost_after_s: float, confirm_s: float = LOST_CONFIRM_S,
               wait: Callable[[float], bool] | None = None, limit: int = 1000) -> list[str]:
    """Fail the queued runs still pending past ``lost_after_s`` that the queue does not know, now nor ``confirm_s``
    later (a running job's heartbeat writes back a claim a restart lost by then); return the ids failed.

    ``wait(seconds)`` returns True when the sweeper is being stopped (then nothing is failed). Only a run still
    pending is finished, so a run failed by another sweeper or finished by its worker meanwhile is left as it is.
    The oldest ``limit`` queued runs are looked at per round (the store's most): a backlog of more runs still
    waiting than that would hide newer lost ones until it shrinks."""
    suspects = [run for run in store.runs.pending_queued_runs(lost_after_s, limit) if not knows(run)]
    if not suspects:
        return []
    if (wait or (lambda seconds: time.sleep(seconds) or False))(confirm_s):
        return []
    failed = []
    for run in suspects:
        if knows(run):
            continue
        if _finish(Recorder(store, DataSettings()), User(run.user_id, None, ""), run.id, "error", None, None, QUEUE_LOST):
            log.warning("queued run %s is unknown to the queue (Redis restarted without its data?); failed it", run.id)
            failed.append(run.id)
    return failed


class RedisSweepLock:
    """One sweeper at a time across machines: ``SET NX`` with a TTL of one interval, never released early, so
    the workers sweep about once an interval between them; a sweeper that dies frees it by expiring."""

    def __init__(self, redis: Any, key: str, ttl_s: float):
        self.redis = redis
        self.key = key
        self.ttl_ms = max(int(ttl_s * 1000), 1000)

    def acquire(self) -> bool:
        return bool(self.redis.set(self.key, repr(time.time()), nx=True, px=self.ttl_ms))


class Sweeper:
    """Call ``sweep(wait)`` every ``interval_s`` (jittered by a fifth either way) in a daemon thread until stopped."""

    def __init__(self, sweep: Callable[[Callable[[float], bool]], list[str]], interval_s: float, name: str = "auster-queue-sweep"):
        if interval_s <= 0:
            raise ValueError("a sweeper needs an interval above 0 s")
        self._sweep = sweep
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s * random.uniform(0.8, 1.2)):
            try:
                self._sweep(self._stop.wait)
            except Exception as exc:  # Redis or the database blinked: try again next round
                log.warning("sweeping the run queue failed: %s", exc)


# ----------------------------------------------------------------------------------------------
# The use case
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedStatus:
    """A queued run as the page shows it (read back from the store and the queue, so it survives a reload)."""

    run_id: str
    state: str  # queued | running | done | failed | cancelled
    elapsed_s: float
    run: RunRecord | None
    cached: bool = False

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


class QueueService:
    """Submit, follow and cancel queued runs."""

    def __init__(self, store: Any, runs: RunsService, backend: Backend, secret: str, cap_per_user: int = QUEUE_CAP_PER_USER,
                 lost_after_s: float = LOST_AFTER_S, lost_confirm_s: float = LOST_CONFIRM_S):
        self._store = store
        self._runs = runs
        self.backend = backend
        self._secret = secret
        self.cap = cap_per_user
        self.lost_after_s = lost_after_s
        self.lost_confirm_s = lost_confirm_s
        self._unknown_since: dict[str, float] = {}  # run id -> when this process first found the queue not knowing it
        self._sweeper: Sweeper | None = None

    def start_sweeping(self, interval_s: float) -> bool:
        """Sweep the embedded queue's lost runs from this process (the app's); True when started. RQ's are swept by
        the workers, and a process that only reads (the command line) must not sweep, so the app calls this."""
        if self.backend.name != "local" or interval_s <= 0 or self._sweeper is not None:
            return False
        self._sweeper = Sweeper(self.sweep, interval_s).start()
        return True

    def sweep(self, wait: Callable[[float], bool] | None = None) -> list[str]:
        """One round of the sweep over this queue (see ``sweep_lost``)."""
        return sweep_lost(self._store, lambda run: self.backend.knows(run.id, run.created_at), self.lost_after_s, self.lost_confirm_s, wait)

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
        self.backend.close()

    def submit(self, user: User | None, slug: str, inputs: dict[str, Any] | None = None, today: date | None = None) -> QueuedStatus:
        """Reserve the run and queue it (or answer from the execution cache at once)."""
        user = require_user(user, "run a model")
        model = self._runs._registry.get_model(slug, user)
        ver = model.latest
        if ver is None:
            raise NotFoundError(f"Model '{slug}' has no version to run yet.")
        today = today or self._runs.reference_date
        canonical = resolve_inputs(self._runs._schema(ver.id, ver.input_schema), inputs or {}, today)
        canonical = {k: v.isoformat() if isinstance(v, date) else v for k, v in canonical.items()}
        key = inputs_hash(ver.id, canonical)
        hit = self._runs._lookup(user, ver.id, key)
        if hit is not None:
            outcome = self._runs._serve_cached(user, model.slug, ver.version, key, hit)
            run = self._store.runs.get_run(user, outcome.run_id) if outcome.run_id else None
            return QueuedStatus(outcome.run_id or hit[0], "done", 0.0, run, cached=True)
        active = [r for r in self._store.runs.list_runs(user, limit=50) if r.status == "pending"]
        active = [r for r in active if not self._settle_lost(user, r)]  # a job the queue lost holds no place
        if len(active) >= self.cap:
            raise QueueFull(f"You already have {self.cap} runs waiting or running; wait for one to finish or cancel it.")
        run_id = self._store.runs.reserve_run(user, model.id, ver.id, canonical, key, stale_after_s=self._runs.stale_after_s, queued=True)
        limits = self._runs._limits
        bundle = bundle_of(ver)
        job = QueuedJob(
            run_id, user.id, model.id, ver.id, ver.dsl, ver.input_schema, canonical, asdict(limits), self._runs._data_mode,
            today.isoformat() if today else None,
            {"runtime": bundle.runtime, "source": bundle.source, "dependencies": list(bundle.dependencies)} if bundle else None, key,
        )
        try:
            self.backend.enqueue(job, int((limits.max_runtime_ms + GRACE_MS) / 1000) + 30)
        except Exception as exc:
            log.warning("could not queue run %s: %s", run_id, exc)
            _finish(Recorder(self._store, DataSettings()), user, run_id, "error", None, None, "The run queue did not answer; the run was not charged. Try again in a moment.")
            raise QueueUnavailable("The run queue did not answer; the run was not charged. Try again in a moment.") from exc
        return self.status(user, run_id)

    def status(self, user: User | None, run_id: str) -> QueuedStatus:
        """Where the run stands (a worker that stopped beating is noticed here, and its run failed)."""
        user = require_user(user, "see a run")
        run = self._runs.get_run(user, run_id)
        if run.status == "pending":
            claimed, alive, _ = self._ask(lambda: self.backend.claims.state(run_id))
            if claimed and not alive:
                reap(self.backend.claims, self._store, [run_id])
                run = self._runs.get_run(user, run_id)
            elif self._settle_lost(user, run):
                run = self._runs.get_run(user, run_id)
        elapsed = _elapsed(run)
        if run.status == "success":
            return QueuedStatus(run_id, "done", run.runtime_ms / 1000 if run.runtime_ms else elapsed, run, run.cached)
        if run.status == "error":
            return QueuedStatus(run_id, "cancelled" if run.error_message == CANCELLED else "failed", elapsed, run)
        claimed, _, _ = self._ask(lambda: self.backend.claims.state(run_id))
        return QueuedStatus(run_id, "running" if claimed else "queued", elapsed, run)

    def _settle_lost(self, user: User, run: RunRecord) -> bool:
        """Fail a recorded run whose job the queue no longer knows (a Redis restart lost it); True when it did.

        Only a run recorded for the queue can be lost so: one the app executes in place is pending too and no queue
        knows it, however long it takes."""
        if run.status != "pending" or run.cached or not run.queued or _elapsed(run) < self.lost_after_s:
            return False
        if self._ask(lambda: self.backend.knows(run.id, run.created_at)):
            self._unknown_since.pop(run.id, None)
            return False
        first = self._unknown_since.setdefault(run.id, time.monotonic())
        if time.monotonic() - first < self.lost_confirm_s:
            return False
        self._unknown_since.pop(run.id, None)
        log.warning("queued run %s is unknown to the queue (Redis restarted without its data?); failing it", run.id)
        return _finish(Recorder(self._store, DataSettings()), user, run.id, "error", None, None, QUEUE_LOST)

    @staticmethod
    def _ask(question: Callable[[], Any]) -> Any:
        """Ask the queue; Redis away (restarting) is one sentence, not a stack trace."""
        try:
            return question()
        except AusterError:
            raise
        except Exception as exc:
            raise QueueUnavailable("The run queue did not answer; your run is recorded and its status will show once the queue is back.") from exc

    def cancel(self, user: User | None, run_id: str) -> QueuedStatus:
        """Cancel a queued run (and stop a running one on RQ); the run is failed with a sentence and not charged."""
        user = require_user(user, "cancel a run")
        run = self._runs.get_run(user, run_id)
        if run.status == "pending":
            self.backend.cancel(run_id)
            _finish(Recorder(self._store, DataSettings()), user, run_id, "error", None, None, CANCELLED)
        return self.status(user, run_id)

    def wait(self, user: User | None, run_id: str, timeout_s: float = 60.0, poll_s: float = 0.1) -> QueuedStatus:
        """Poll until the run is finished (tests, the command line)."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.status(user, run_id)
            if state.finished or time.monotonic() > deadline:
                return state
            time.sleep(poll_s)


def _elapsed(run: RunRecord) -> float:
    return max((datetime.now(UTC) - run.created_at).total_seconds(), 0.0)


__all__ = ["CANCELLED", "QUEUE_LOST", "QUEUE_NAME", "WORKER_LOST", "LocalQueue", "QueueService", "QueuedJob", "QueuedStatus",
           "RQBackend", "Recorder", "RedisSweepLock", "Sweeper", "perform", "reap", "rq_knows", "sweep_lost"]
