"""What one run may use. The defaults live here; ``services.config.Settings`` reads the overrides
(``MODEL_MAX_RUNTIME_MS``, ``MODEL_MAX_MEMORY_MB``, ``MODEL_MAX_OUTPUT_KB``) and hands a ``Limits`` down."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Per-run limits, enforced by the validator (steps), the executor (points, output) and the runner
    (wall-clock time and memory of the worker process)."""

    max_steps: int = 64
    max_points: int = 2_000_000  # per value flowing between steps (rows x columns)
    max_runtime_ms: int = 30_000  # wall clock of the whole run, output building included
    max_memory_mb: int = 1_024  # memory a run may add to its worker process (address space and resident)
    max_output_kb: int = 20_000  # size of the serialised outputs
    code_memory_mb: int = 512  # address space of a code step's sandbox (MODEL_MAX_MEMORY_MB when set)
    code_output_kb: int = 1_024  # what a code step may print and return (MODEL_MAX_OUTPUT_KB when set)
