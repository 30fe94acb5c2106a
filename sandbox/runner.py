"""``run_code``: one isolated, limited, audited run of user Python or JavaScript."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import signal
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sandbox import allowlist, bwrap, environment, seccomp, wire
from sandbox.audit import AuditLog, AuditRecord
from sandbox.errors import (
    SandboxCodeError,
    SandboxConfigError,
    SandboxCrash,
    SandboxError,
    SandboxImportError,
    SandboxInputError,
    SandboxMemoryError,
    SandboxOutputError,
    SandboxTimeout,
    SandboxUnavailable,
)
from sandbox.limits import SandboxLimits
from sandbox.pool import SparePool
from sandbox.process import GuestProcess, Outcome

Runtime = Literal["python", "js"]
RUNTIMES: tuple[str, ...] = ("python", "js")
GUEST_SOURCES = Path(__file__).resolve().parent / "guest"
MAX_CODE_BYTES = 512 * 1024
START_TIMEOUT_S = 60.0
_ENTRYPOINT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]{0,63}$")
# What Node.js (V8, libstdc++) prints when it aborts for lack of memory.
_OUT_OF_MEMORY = ("heap out of memory", "Reached heap limit", "std::bad_alloc", "Fatal process out of memory")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class SandboxResult:
    """A value computed in the sandbox (pandas Series/DataFrame, float or dict) and its audit record."""

    value: Any
    kind: str  # series | frame | scalar | record
    audit: AuditRecord


class _Backend:
    """Everything a run needs that does not change between runs: env, filters, guest files, spares."""

    def __init__(self, env: environment.SandboxEnv) -> None:
        self.env = env
        self.base_filter = seccomp.compile_filter(late=False)
        self.late_filter = seccomp.compile_filter(late=True)
        bootstrap = (GUEST_SOURCES / "bootstrap.py").read_bytes()
        self.python_mounts = bwrap.python_mounts(env)
        self.python_mounts.data = {
            f"{bwrap.GUEST_DIR}/bootstrap.py": bootstrap,
            f"{bwrap.GUEST_DIR}/wire.py": (Path(wire.__file__)).read_bytes(),
            f"{bwrap.GUEST_DIR}/late.bpf": self.late_filter,
        }
        self.python_exe = f"{bwrap.PYTHON_DIR}/{env.executable}"
        self.run_as = bwrap.SANDBOX_UID if os.geteuid() == 0 else None
        self.spare_tmpfs = SandboxLimits().tmpfs_mb * 1024 * 1024
        spares = int(os.environ.get("AUSTER_SANDBOX_SPARES", "1") or 1)
        self.pool = SparePool(self._python_guest, spares)
        self.versions = {"python": env.python_version, "packages_sha256": environment.requirements_hash(env.python_version)[:16]}

    def _python_guest(self) -> GuestProcess:
        argv = [self.python_exe, "-I", "-S", "-B", f"{bwrap.GUEST_DIR}/bootstrap.py", "python", "{result_fd}"]
        return GuestProcess(self.python_mounts, self.base_filter, argv, self.spare_tmpfs, self.run_as)

    def js_guest(self, limits: SandboxLimits, runner_source: bytes | None = None) -> GuestProcess:
        """A fresh Node.js guest; ``runner_source`` replaces runner.js (tests of the layers under the vm context)."""
        node = bwrap.node_path()
        if node is None:
            raise SandboxUnavailable("Node.js is not installed, so JavaScript code cannot run (apt-get install nodejs).")
        version = bwrap.node_version() or "v0"
        if int(version.lstrip("v").split(".")[0] or 0) < 20:
            raise SandboxUnavailable(f"Node.js {version} is too old for the sandbox, which needs version 20 or newer (its permission model).")
        mounts = bwrap.merge(self.python_mounts, bwrap.node_mounts(node))
        mounts.data = {
            f"{bwrap.GUEST_DIR}/bootstrap.py": self.python_mounts.data[f"{bwrap.GUEST_DIR}/bootstrap.py"],
            f"{bwrap.GUEST_DIR}/runner.js": runner_source or (GUEST_SOURCES / "runner.js").read_bytes(),
        }
        guest_limits = json.dumps({**limits.to_dict(), "cpu_seconds": limits.cpu_seconds})
        argv = [self.python_exe, "-I", "-S", "-B", f"{bwrap.GUEST_DIR}/bootstrap.py", "js", "{result_fd}", guest_limits]
        return GuestProcess(mounts, self.base_filter, argv, limits.tmpfs_mb * 1024 * 1024, self.run_as)


_backends: dict[str, _Backend] = {}
_backends_lock = threading.Lock()


def _backend() -> _Backend:
    env = environment.load()
    if bwrap.bwrap_path() is None:
        raise SandboxUnavailable("bubblewrap is not installed, so user code cannot be isolated (apt-get install bubblewrap).")
    with _backends_lock:
        backend = _backends.get(str(env.root))
        if backend is None:
            try:
                backend = _Backend(env)
            except seccomp.SeccompUnavailable as exc:
                raise SandboxUnavailable(f"The seccomp filter cannot be built: {exc}") from None
            _backends[str(env.root)] = backend
        return backend


def warm_up() -> None:
    """Start the Python spares now, so that the first run is warm (call once at app start-up)."""
    _backend().pool.prime()


@functools.lru_cache(maxsize=2)
def _probe(runtime: str) -> str | None:
    try:
        result = run_code(runtime, "def run(inputs):\n    return 1.0\n" if runtime == "python" else "function run(inputs) { return 1; }")  # type: ignore[arg-type]
    except SandboxError as exc:
        return str(exc)
    return None if result.value == 1.0 else "The sandbox answered a probe with a wrong value."


def unavailable_reason(runtime: str = "python") -> str | None:
    """Why ``runtime`` cannot run here (one sentence), or None when a probe run succeeds."""
    return _probe(runtime)


def _clean(text: Any, limit: int = 300) -> str:
    text = _CONTROL.sub(" ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _guest_error(answer: dict[str, Any], entrypoint: str, limits: SandboxLimits) -> SandboxError:
    """Turn the guest's error answer into a typed error; the host writes the sentence."""
    kind = answer.get("kind")
    exception = _clean(answer.get("exception") or "", 60)
    message = _clean(answer.get("message") or "")
    line = answer.get("line")
    where = f" on line {line}" if isinstance(line, int) and not isinstance(line, bool) and line > 0 else ""
    detail = answer.get("detail") if isinstance(answer.get("detail"), str) else None
    detail = detail[-4000:] if detail else None
    if kind == "import":
        module = _clean(answer.get("module") or message, 60)
        allowed = ", ".join(sorted(allowlist.approved()))
        return SandboxImportError(
            f"The code imports '{module}', which the sandbox does not allow; code may import {allowed} and standard modules such as math, statistics and datetime.",
            detail=detail,
        )
    if kind == "memory":
        return SandboxMemoryError(f"The code needed more memory than its {limits.max_memory_mb} MB limit{where}.", detail=detail)
    if kind == "timeout":
        return SandboxTimeout(f"The code ran longer than its {limits.max_runtime_ms} ms limit and was stopped.", detail=detail)
    if kind == "syntax":
        return SandboxCodeError(_sentence(f"The code has a syntax error{where}: {message}"), detail=detail)
    if kind == "entrypoint":
        return SandboxCodeError(f"The code defines no function named '{_clean(entrypoint, 64)}'.")
    if kind == "value":
        return SandboxOutputError(_sentence(f"The code returned a value the product cannot use: {message}"))
    if kind == "output_size":
        return SandboxOutputError(f"The code returned more than the {limits.max_output_kb} KB output limit.")
    if kind == "code":
        text = f"The code raised {exception or 'an error'}{where}" + (f": {message}" if message else "")
        return SandboxCodeError(_sentence(text), detail=detail)
    return SandboxOutputError("The sandbox's answer was not in a form the product understands.")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _interpret(outcome: Outcome, entrypoint: str, limits: SandboxLimits) -> tuple[Any, str] | SandboxError:
    """Value and kind, or the error that explains what happened, from what the host saw."""
    if outcome.stopped_by_host == "output":
        return SandboxOutputError(f"The code printed more than the {limits.max_output_kb} KB output limit and was stopped.")
    if outcome.stopped_by_host == "result_size":
        return SandboxOutputError(f"The code returned more than the {limits.max_output_kb} KB output limit.")
    if outcome.stopped_by_host == "timeout":
        return SandboxTimeout(f"The code ran longer than its {limits.max_runtime_ms} ms limit and was stopped.")
    stderr = outcome.stderr.decode("utf-8", "replace")
    if outcome.result:
        try:
            answer = json.loads(outcome.result)
        except (ValueError, RecursionError):
            return SandboxOutputError("The code's answer was not valid data, so it was discarded.")
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            return SandboxOutputError("The code's answer was not in the form the product understands, so it was discarded.")
        if not answer["ok"]:
            return _guest_error(answer, entrypoint, limits)
        try:
            data = answer.get("value")
            return wire.decode(data, "the returned value"), data["type"]
        except (wire.WireError, RecursionError, TypeError, KeyError, OverflowError) as exc:
            return SandboxOutputError(_sentence(f"The code returned a value the product cannot use: {_clean(exc)}"))
    if any(sign in stderr for sign in _OUT_OF_MEMORY):
        return SandboxMemoryError(f"The code needed more memory than its {limits.max_memory_mb} MB limit.")
    number = outcome.signal
    cpu_ms = outcome.cpu_ms or 0.0
    if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu_ms >= limits.cpu_seconds * 1000):
        return SandboxTimeout(f"The code used more than its {limits.cpu_seconds} s of CPU time and was stopped.")
    if number == signal.SIGSYS:
        return SandboxCrash("The code made a system call the sandbox forbids and was stopped.")
    if number is not None:
        return SandboxCrash(f"The sandboxed process was killed by {_signal_name(number)} before returning a value.")
    return SandboxCrash(f"The code stopped without returning a value (exit code {outcome.exit_code}).")


def _audit(
    *,
    run_id: str,
    actor: str | None,
    runtime: str,
    code: str,
    entrypoint: str,
    limits: SandboxLimits | None,
    started_at: datetime,
    outcome: Outcome | None,
    error: SandboxError | None,
    start: str,
    start_ms: float | None,
    versions: dict[str, str],
) -> AuditRecord:
    return AuditRecord(
        run_id=run_id,
        actor=actor,
        runtime=runtime,
        code_sha256=hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest(),
        entrypoint=entrypoint,
        limits=limits.to_dict() if limits else {},
        started_at=started_at.isoformat(timespec="milliseconds"),
        runtime_ms=round(outcome.wall_ms, 1) if outcome else 0.0,
        cpu_ms=round(outcome.cpu_ms, 1) if outcome and outcome.cpu_ms is not None else None,
        peak_memory_mb=outcome.peak_memory_mb if outcome else None,
        exit_cause=error.exit_cause if error else "ok",
        error_code=error.code if error else None,
        start=start,
        start_ms=None if start_ms is None else round(start_ms, 1),
        stdout=outcome.stdout.decode("utf-8", "replace") if outcome else "",
        stderr=outcome.stderr.decode("utf-8", "replace") if outcome else "",
        stdout_bytes=outcome.stdout_bytes if outcome else 0,
        stderr_bytes=outcome.stderr_bytes if outcome else 0,
        sandbox=versions,
    )


def _prepare(runtime: str, code: Any, entrypoint: Any, inputs: Any) -> bytes:
    """Check the request and encode the inputs; raise a typed error for anything unusable."""
    if runtime not in RUNTIMES:
        raise SandboxConfigError(f"Unknown runtime {_clean(runtime, 40)!r}; choose python or js.")
    if not isinstance(code, str):
        raise SandboxInputError("The code must be text.")
    if len(code.encode("utf-8", "surrogatepass")) > MAX_CODE_BYTES:
        raise SandboxInputError(f"The code is larger than {MAX_CODE_BYTES // 1024} KB.")
    if not isinstance(entrypoint, str) or not _ENTRYPOINT.match(entrypoint):
        raise SandboxInputError(f"The entry point must be a function name such as 'run', not {_clean(entrypoint, 40)!r}.")
    if not isinstance(inputs, dict):
        raise SandboxInputError("The inputs must be a mapping of names to values.")
    try:
        return wire.encode_inputs(inputs)  # type: ignore[return-value]
    except wire.WireError as exc:
        raise SandboxInputError(_sentence(f"An input cannot be passed to the sandbox: {exc}")) from None


def run_code(
    runtime: Runtime,
    code: str,
    entrypoint: str = "run",
    inputs: dict[str, Any] | None = None,
    limits: SandboxLimits | None = None,
    *,
    actor: str | None = None,
    audit_log: AuditLog | None = None,
) -> SandboxResult:
    """Run ``entrypoint(inputs)`` from ``code`` in the sandbox and return its value with an audit record.

    Inputs and the value are pandas Series (on a DatetimeIndex), DataFrames, floats or flat dicts; they
    cross the boundary as JSON data. Limits default to ``SandboxLimits.from_env()``. Raises a
    ``SandboxError`` subclass (``.code``, one-sentence ``str()``, ``.audit``) for anything but a value.
    """
    run_id = uuid.uuid4().hex
    started_at = datetime.now(UTC)
    inputs = {} if inputs is None else inputs
    outcome: Outcome | None = None
    start, start_ms = "none", None
    versions: dict[str, str] = {}
    resolved: SandboxLimits | None = limits
    try:
        resolved = limits or SandboxLimits.from_env()
        encoded = _prepare(runtime, code, entrypoint, inputs)
        backend = _backend()
        versions = dict(backend.versions)
        if runtime == "python":
            guest, warm = backend.pool.take()
        else:
            guest, warm = backend.js_guest(resolved), False
            versions["node"] = bwrap.node_version() or "unknown"
        try:
            start = "warm" if warm else "cold"
            if not guest.wait_ready(START_TIMEOUT_S):
                tail = _clean(guest.proc.stderr.read1(2000).decode("utf-8", "replace") if guest.proc.poll() is not None and guest.proc.stderr else "", 200)
                raise SandboxUnavailable(_sentence("The sandbox did not start" + (f": {tail}" if tail else "")))
            start_ms = None if warm else guest.ready_ms
            job = {"code": code, "entrypoint": entrypoint, "inputs": encoded, "allowed_imports": sorted(allowlist.importable_modules()),
                   "limits": {**resolved.to_dict(), "cpu_seconds": resolved.cpu_seconds}}
            payload = json.dumps(job, allow_nan=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
            outcome = guest.run(payload, resolved.max_runtime_ms, resolved.max_output_kb * 1024)
        finally:
            guest.close()
        interpreted = _interpret(outcome, entrypoint, resolved)
        if isinstance(interpreted, SandboxError):
            raise interpreted
        value, kind = interpreted
    except SandboxError as error:
        error.audit = _audit(run_id=run_id, actor=actor, runtime=str(runtime), code=code if isinstance(code, str) else "", entrypoint=str(entrypoint),
                             limits=resolved if isinstance(resolved, SandboxLimits) else None, started_at=started_at, outcome=outcome,
                             error=error, start=start, start_ms=start_ms, versions=versions)
        if audit_log is not None:
            audit_log.record(error.audit)
        raise
    record = _audit(run_id=run_id, actor=actor, runtime=runtime, code=code, entrypoint=entrypoint, limits=resolved, started_at=started_at,
                    outcome=outcome, error=None, start=start, start_ms=start_ms, versions=versions)
    if audit_log is not None:
        audit_log.record(record)
    return SandboxResult(value=value, kind=kind, audit=record)
