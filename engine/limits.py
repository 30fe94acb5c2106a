"""Run limits, configurable by environment (MODEL_MAX_RUNTIME_MS, MODEL_MAX_OUTPUT_KB, ...)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


@dataclass(frozen=True)
class Limits:
    """What one run may use."""

    max_steps: int = 64
    max_points: int = 2_000_000  # per value flowing between steps (rows x columns)
    max_runtime_ms: int = 30_000  # checked between steps
    max_output_kb: int = 20_000  # size of the serialised outputs

    @classmethod
    def from_env(cls) -> Limits:
        base = cls()
        return cls(
            max_steps=base.max_steps,
            max_points=base.max_points,
            max_runtime_ms=_env_int("MODEL_MAX_RUNTIME_MS", base.max_runtime_ms),
            max_output_kb=_env_int("MODEL_MAX_OUTPUT_KB", base.max_output_kb),
        )
