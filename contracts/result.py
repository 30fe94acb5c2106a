"""A run's result as it crosses layers: built by the engine, stored by the store, shown by the app.

``RunResult.to_json()`` is the stored shape (``model_runs.outputs_json``, artifacts' ``result``):
``outputs`` (series as ``{id, label, x, y}`` with ISO dates or categories in ``x`` and numbers or null
in ``y``; tables as row objects; metrics), the per-step ``trace``, ``provenance``, ``runtime_ms``, the
canonical ``inputs`` and ``warnings``. Strict JSON: no NaN.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TraceEntry:
    """One executed step: its operation, how long it took, how many rows it produced, its type."""

    step: str
    operation: str
    ms: float
    rows: int
    output: str


@dataclass
class RunResult:
    """What a run produced: outputs in their stored JSON shape, the step trace, provenance, runtime."""

    outputs: dict[str, list[dict[str, Any]]]
    trace: list[TraceEntry]
    provenance: list[dict[str, Any]]
    runtime_ms: float
    inputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "outputs": self.outputs,
            "trace": [asdict(t) for t in self.trace],
            "provenance": self.provenance,
            "runtime_ms": self.runtime_ms,
            "inputs": self.inputs,
            "warnings": self.warnings,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            outputs=data["outputs"],
            trace=[TraceEntry(**t) for t in data.get("trace", [])],
            provenance=list(data.get("provenance", [])),
            runtime_ms=float(data.get("runtime_ms", 0.0)),
            inputs=dict(data.get("inputs", {})),
            warnings=list(data.get("warnings", [])),
        )

    def dumps(self) -> str:
        """Strict JSON (no NaN), as stored."""
        return json.dumps(self.to_json(), allow_nan=False)
