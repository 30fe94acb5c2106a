"""Audit: every code run yields a record (who, which code, limits, runtime, peak memory, exit cause).

``run_code`` returns the record inside ``SandboxResult`` and attaches it to every ``SandboxError``
(``.audit``); give it an ``AuditLog`` to store it as well. ``JsonLinesAuditLog`` appends one JSON
object per line to a file; the product can provide a store-backed log with the same ``record`` method.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class AuditRecord:
    """One code run, as the host measured it (never as the guest reported it)."""

    run_id: str
    actor: str | None
    runtime: str  # "python" | "js"
    code_sha256: str
    entrypoint: str
    limits: dict[str, int]
    started_at: str  # ISO 8601, UTC
    runtime_ms: float  # wall clock from handing over the job to the end
    cpu_ms: float | None
    peak_memory_mb: float | None  # peak resident set of the sandbox's processes
    exit_cause: str  # ok | code_error | import | timeout | memory | output | crash | input | unavailable | config
    error_code: str | None
    start: str  # "warm" (a ready spare) | "cold" (started for this run) | "none"
    start_ms: float | None  # how long the sandbox took to become ready, when this run waited for it
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    sandbox: dict[str, str]  # versions: python, packages hash, node

    @property
    def stdout_truncated(self) -> bool:
        return self.stdout_bytes > len(self.stdout.encode("utf-8", "replace"))

    @property
    def stderr_truncated(self) -> bool:
        return self.stderr_bytes > len(self.stderr.encode("utf-8", "replace"))

    def to_dict(self) -> dict[str, Any]:
        """Plain data, ready for JSON."""
        data = asdict(self)
        data["stdout_truncated"] = self.stdout_truncated
        data["stderr_truncated"] = self.stderr_truncated
        return data


@runtime_checkable
class AuditLog(Protocol):
    """Where audit records go. Implementations must be safe to call from several threads."""

    def record(self, entry: AuditRecord) -> None:
        """Store one record; must not raise for a record it could not store (log and go on)."""


class JsonLinesAuditLog:
    """Append records to a JSON-lines file, one object per line, safe across threads and processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, entry: AuditRecord) -> None:
        line = (json.dumps(entry.to_dict(), separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one write with O_APPEND: lines from several processes never interleave
            finally:
                os.close(fd)

    def read(self) -> list[dict[str, Any]]:
        """Every record stored so far (for tests and the CLI)."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
