"""Per-run limits, from the caller or from ``MODEL_MAX_*`` environment variables."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from sandbox.errors import SandboxConfigError

ENV_NAMES = {
    "max_runtime_ms": "MODEL_MAX_RUNTIME_MS",
    "max_memory_mb": "MODEL_MAX_MEMORY_MB",
    "max_output_kb": "MODEL_MAX_OUTPUT_KB",
}


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use. Memory is address space (``RLIMIT_AS``); CPU time follows the wall clock."""

    max_runtime_ms: int = 30_000
    max_memory_mb: int = 512
    max_output_kb: int = 1024
    max_processes: int = 32
    max_file_mb: int = 16
    max_open_files: int = 64
    tmpfs_mb: int = 32

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise SandboxConfigError(f"The sandbox limit {field.name} must be a positive whole number, not {value!r}.")
        if self.max_memory_mb < 64:
            raise SandboxConfigError(f"The sandbox needs at least 64 MB of memory to start an interpreter, not {self.max_memory_mb} MB.")

    @property
    def cpu_seconds(self) -> int:
        """RLIMIT_CPU: the wall-clock budget rounded up to whole seconds (a backstop behind the host's timer)."""
        return max(1, math.ceil(self.max_runtime_ms / 1000))

    def to_dict(self) -> dict[str, int]:
        """The limits as plain data for the audit record and the guest."""
        return asdict(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: int) -> SandboxLimits:
        """Read ``MODEL_MAX_RUNTIME_MS``, ``MODEL_MAX_MEMORY_MB`` and ``MODEL_MAX_OUTPUT_KB``; keywords win."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field_name, env_name in ENV_NAMES.items():
            raw = environ.get(env_name, "").strip()
            if not raw:
                continue
            try:
                values[field_name] = int(raw)
            except ValueError:
                raise SandboxConfigError(f"{env_name} must be a whole number, not {raw!r}.") from None
        values.update(overrides)
        return cls(**values)
