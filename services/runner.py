"""Runners: where a model executes, behind one interface, so the run flow never calls the engine itself.

- ``InlineRunner`` runs the engine in the calling thread (tests, the command line, notebooks).
- ``ProcessPoolRunner`` (the app's default) runs it in a supervised pool of worker processes. Each
  worker has an address-space limit (``RLIMIT_AS``: what it had after start-up plus the run's memory
  cap); the parent watches every run and kills and replaces the worker when the run passes its
  wall-clock budget or its memory cap, so one heavy model cannot stall or bloat the app's process.
  Workers are forked from a ``forkserver`` that has already imported the engine and read the bundled
  sample data, so a replacement starts in tens of milliseconds and shares those pages.
- Phase 3's queue runner (RQ) plugs into the same ``Runner`` protocol.

A job crosses the process boundary as plain data (``RunJob``); the result comes back as the stored
JSON shape (``RunResult.to_json()``) and errors as their code and fields, rebuilt into the same typed
``AusterError`` on this side (``error_to_wire`` / ``error_from_wire``). Each answer also carries the data
providers' events the worker counted (``services.health``), added to the parent's counts.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import multiprocessing.spawn
import os
import queue
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from contracts.code import CodeBundle
from contracts.errors import AusterError, InputInvalid, LimitExceeded, Problem, StepFailed, ValidationFailed, error_classes
from contracts.limits import Limits
from contracts.settings import DataSettings
from engine.data import DataAccess
from engine.executor import execute
from sandbox import JsonLinesAuditLog
from services.code import SandboxCodeRunner
from services.data import compose
from services.health import TALLY, counts_from_wire, counts_to_wire

log = logging.getLogger(__name__)

BOOT_MODULE = "services.worker_boot"
GRACE_MS = 1000  # the engine stops itself between steps at the budget; the runner kills this much later
START_TIMEOUT_S = 60.0
WORKER_NAME = "auster-model-worker"
_preparation_data = multiprocessing.spawn.get_preparation_data


def _without_main(name: str) -> dict[str, Any]:
    """What a new process is told to prepare; a model worker is not told to import the parent's main script.

    Inside ``streamlit run`` the main module is the app script while a page runs, so every worker
    imported app.py on start: it drew the whole app in bare mode, opened the store and tried to start
    a pool of its own ("An attempt has been made to start a new process before the current process has
    finished its bootstrapping phase"), which made the first run wait seconds. Workers need only
    ``services.runner`` (their target) and the preloaded engine.
    """
    data = _preparation_data(name)
    if name == WORKER_NAME:
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


multiprocessing.spawn.get_preparation_data = _without_main
POLL_S = 0.05
# Numerical libraries start one thread per core by default; a worker runs one model at a time.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class RunJob:
    """Everything a runner needs to execute one model version with canonical inputs."""

    dsl: dict[str, Any]
    input_schema: dict[str, Any]
    inputs: dict[str, Any]
    limits: Limits
    data_mode: str
    data: DataSettings
    today: date | None = None
    code: CodeBundle | None = None  # a code model's bundle (runtime python or js)
    actor: str | None = None  # who runs it (the sandbox audit names them)
    audit_path: str | None = None  # where the sandbox audit goes (JSON lines), if anywhere


class Runner(Protocol):
    name: str

    def run(self, job: RunJob) -> dict[str, Any]:
        """Execute ``job``; return ``RunResult.to_json()`` or raise a typed ``AusterError``."""
        ...

    def close(self) -> None: ...


def execute_job(job: RunJob, data: DataAccess | None = None) -> dict[str, Any]:
    """Run the engine for ``job`` over ``data`` (default: composed from the job's data settings)."""
    access = data if data is not None else compose(job.data, job.data_mode)
    code_runner = None
    if job.code is not None:
        code_runner = SandboxCodeRunner(job.actor, JsonLinesAuditLog(job.audit_path) if job.audit_path else None)
    result = execute(job.dsl, job.inputs, access, input_schema=job.input_schema, limits=job.limits, today=job.today, code=job.code, code_runner=code_runner)
    return result.to_json()


class InlineRunner:
    """Runs the engine in the calling thread; the engine checks the time budget between steps."""

    name = "inline"

    def __init__(self, data: Callable[[], DataAccess] | None = None):
        self._data = data

    def run(self, job: RunJob) -> dict[str, Any]:
        return execute_job(job, self._data() if self._data else None)

    def close(self) -> None:
        return None


# ----------------------------------------------------------------------------------------------
# Errors across the process boundary
# ----------------------------------------------------------------------------------------------


def error_to_wire(exc: AusterError) -> dict[str, Any]:
    """A typed error as plain data: its code, its sentence and the fields its class carries."""
    wire: dict[str, Any] = {"code": exc.code, "message": str(exc)}
    if isinstance(exc, InputInvalid):
        wire["fields"] = exc.fields
    if isinstance(exc, ValidationFailed):
        wire["problems"] = [[p.code, list(p.where), p.message, p.hint] for p in exc.problems]
    if isinstance(exc, StepFailed):
        wire["step"] = [exc.step_id, exc.operation, exc.cause, exc.cause_code]
    return wire


def error_from_wire(wire: dict[str, Any]) -> AusterError:
    """The typed error ``error_to_wire`` described (an unknown code becomes a plain ``AusterError``)."""
    if "fields" in wire:
        return InputInvalid(wire["fields"], wire["message"])
    if "problems" in wire:
        return ValidationFailed([Problem(code, tuple(where), message, hint) for code, where, message, hint in wire["problems"]])
    if "step" in wire:
        return StepFailed(*wire["step"])
    cls = next((c for c in error_classes() if c.code == wire["code"]), AusterError)
    error = cls.__new__(cls)
    Exception.__init__(error, wire["message"])
    return error


# ----------------------------------------------------------------------------------------------
# The supervised process pool
# ----------------------------------------------------------------------------------------------


def _status_kb(pid: int | str, field: str) -> int:
    """``VmSize`` or ``VmRSS`` of a process in kB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _memory_error(memory_mb: int) -> LimitExceeded:
    return LimitExceeded(f"The run needed more than its memory cap of {memory_mb:,} MB and was stopped; narrow the date range or the chain filters.")


def _time_error(limits: Limits) -> LimitExceeded:
    return LimitExceeded(f"The run took over {limits.max_runtime_ms / 1000:g} s and was stopped; narrow the date range or simplify the model.")


def _worker_main(conn: Any, memory_mb: int, preload: tuple[str, ...]) -> None:
    """A worker's life: import what it needs, cap the address space, say ready, run jobs until the pipe closes.

    A parent that went away (the app stopped, a command-line run finished) ends the worker quietly.
    """
    with contextlib.suppress(BrokenPipeError, EOFError, ConnectionResetError, KeyboardInterrupt):
        _serve(conn, memory_mb, preload)


def _serve(conn: Any, memory_mb: int, preload: tuple[str, ...]) -> None:
    for module in preload:  # already imported when forked from the forkserver: then this is free
        importlib.import_module(module)
    baseline_kb = _status_kb("self", "VmSize")
    cap = (baseline_kb + memory_mb * 1024) * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    conn.send(("ready", _status_kb("self", "VmRSS")))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            _answer(conn, "ok", execute_job(job), False)
        except MemoryError:
            _answer(conn, "error", error_to_wire(_memory_error(memory_mb)), True)
            return  # leave: a fresh worker replaces this one
        except AusterError as exc:
            if isinstance(exc.__cause__, MemoryError):  # the engine wraps a step's failure; this one is the cap
                _answer(conn, "error", error_to_wire(_memory_error(memory_mb)), True)
                return
            _answer(conn, "error", error_to_wire(exc), False)
        except Exception as exc:  # a bug in a primitive still reaches the user as a sentence
            log.exception("model run failed in worker")
            message = f"The model stopped on an unexpected error ({type(exc).__name__}); it has been recorded. Try again or report it."
            _answer(conn, "error", {"code": "E_INTERNAL", "message": message}, False)


def _answer(conn: Any, status: str, body: Any, fatal: bool) -> None:
    """Send a run's answer with the provider events this worker counted meanwhile (the parent keeps them)."""
    conn.send((status, body, fatal, counts_to_wire(TALLY.drain())))


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx: Any, memory_mb: int, preload: tuple[str, ...]):
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, memory_mb, preload), daemon=True, name=WORKER_NAME)
        self.process.start()
        child.close()
        self.conn = parent
        if not parent.poll(START_TIMEOUT_S):
            self.kill()
            raise LimitExceeded("A model worker did not start in time; try again in a moment.")
        _, self.baseline_rss_kb = parent.recv()

    def rss_over_baseline_mb(self) -> float:
        return (_status_kb(self.process.pid or 0, "VmRSS") - self.baseline_rss_kb) / 1024

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()


class ProcessPoolRunner:
    """Runs models in ``workers`` supervised processes; see the module docstring."""

    name = "process"

    def __init__(
        self, workers: int = 2, memory_mb: int = Limits.max_memory_mb, start_method: str = "forkserver", preload: tuple[str, ...] = (BOOT_MODULE,)
    ):
        self.size = workers
        self.memory_mb = memory_mb
        self.preload = preload
        for name, value in SINGLE_THREADED.items():
            os.environ.setdefault(name, value)
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload([BOOT_MODULE])
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._alive = 0
        self._closed = False
        self.replaced = 0  # workers killed or lost and replaced (for tests and the admin page)

    def warm(self) -> None:
        """Start every worker now (in the background at app start) so the first run does not wait."""
        started = []
        while True:
            with self._lock:
                if self._alive >= self.size or self._closed:
                    break
                self._alive += 1
            try:
                started.append(_Worker(self._ctx, self.memory_mb, self.preload))
            except Exception:
                with self._lock:
                    self._alive -= 1
                raise
        for worker in started:
            self._idle.put(worker)

    def _acquire(self, wait_s: float) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._alive < self.size
            if grow:
                self._alive += 1
        if grow:
            try:
                return _Worker(self._ctx, self.memory_mb, self.preload)
            except Exception:
                with self._lock:
                    self._alive -= 1
                raise
        try:
            return self._idle.get(timeout=wait_s)
        except queue.Empty:
            raise LimitExceeded("Every model worker is busy; try again in a moment.") from None

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._alive -= 1
            self.replaced += 1

    def run(self, job: RunJob) -> dict[str, Any]:
        if self._closed:
            raise LimitExceeded("The model runner is shutting down; try again in a moment.")
        budget_s = (job.limits.max_runtime_ms + GRACE_MS) / 1000
        memory_mb = min(job.limits.max_memory_mb, self.memory_mb)
        worker = self._acquire(wait_s=budget_s)
        healthy = False
        try:
            worker.conn.send(job)
            deadline = time.monotonic() + budget_s
            while not worker.conn.poll(POLL_S):
                if not worker.process.is_alive():
                    raise LimitExceeded(
                        f"The run stopped unexpectedly (its worker process ended, possibly past its {memory_mb:,} MB memory cap); "
                        "narrow the date range or simplify the model."
                    )
                if time.monotonic() > deadline:
                    raise _time_error(job.limits)
                if worker.rss_over_baseline_mb() > memory_mb:
                    raise _memory_error(memory_mb)
            message = worker.conn.recv()
            TALLY.merge(counts_from_wire(message[3]))
            if message[0] == "ok":
                healthy = True
                return message[1]
            healthy = not message[2]
            raise error_from_wire(message[1])
        except (EOFError, OSError, BrokenPipeError) as exc:
            raise LimitExceeded("The run stopped unexpectedly (its worker process ended); try again, or narrow the date range.") from exc
        finally:
            if healthy and not self._closed:
                self._idle.put(worker)
            else:
                self._discard(worker)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            self._discard(worker)


_shared: dict[tuple[int, int], ProcessPoolRunner] = {}
_shared_lock = threading.Lock()


def shared_pool(workers: int, memory_mb: int) -> ProcessPoolRunner:
    """The process-wide pool for this size and memory cap (it holds no user state; every Services shares it)."""
    with _shared_lock:
        key = (workers, memory_mb)
        if key not in _shared or _shared[key]._closed:
            _shared[key] = ProcessPoolRunner(workers, memory_mb)
        return _shared[key]
