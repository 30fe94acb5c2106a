"""The code step's view of the run: which code, which runner, which inputs and how much time is left.

The executor builds one ``CodeCall`` per ``code`` step. It hands the values of the step's inputs
(keyed by their step ids) and the run's inputs (one flat record under ``args``) to the
``CodeRunner`` the services composed (the sandbox), and checks that what comes back is the kind of
value the step declares. The engine never imports the sandbox.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from contracts.code import ARGS_KEY, CodeBundle, CodeRunner
from contracts.errors import CodeUnavailable, OperationError
from contracts.limits import Limits
from engine.registry import Record, ValueType

MIN_CODE_BUDGET_MS = 1000  # a code step always gets at least this much of the run's clock


@dataclass(frozen=True)
class CodeCall:
    """What one ``code`` step may run: the version's bundle through the composed runner, within the run's limits."""

    bundle: CodeBundle | None
    runner: CodeRunner | None
    names: tuple[str, ...]
    args: dict[str, Any]
    limits: Limits
    deadline: float  # perf_counter() at which the run's time budget ends

    def __call__(self, values: Sequence[Any], entrypoint: str, returns: ValueType) -> Any:
        if self.bundle is None or self.runner is None:
            raise CodeUnavailable("This model has a code step but no code to run; save the model's code first.")
        inputs = dict(zip(self.names, values, strict=True))
        inputs[ARGS_KEY] = _flat_args(self.args)
        remaining_ms = int((self.deadline - time.perf_counter()) * 1000)
        limits = dataclasses.replace(self.limits, max_runtime_ms=max(remaining_ms, MIN_CODE_BUDGET_MS))
        value = self.runner.run(self.bundle, entrypoint, inputs, limits)
        return _as_declared(value, returns)


def _flat_args(args: dict[str, Any]) -> dict[str, Any]:
    """The run inputs as a flat record: dates as ISO text, lists joined by commas, missing ones as None."""
    flat: dict[str, Any] = {}
    for name, value in args.items():
        if isinstance(value, (date, datetime)):
            flat[name] = value.isoformat()
        elif isinstance(value, (list, tuple)):
            flat[name] = ",".join(str(v) for v in value)
        elif value is None or isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


_KIND = {ValueType.SERIES: "a series", ValueType.FRAME: "a frame", ValueType.SCALAR: "a number", ValueType.RECORD: "a record"}


def _kind_of(value: Any) -> str:
    if isinstance(value, pd.Series):
        return "a series"
    if isinstance(value, pd.DataFrame):
        return "a frame"
    if isinstance(value, dict):
        return "a record"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return f"a {type(value).__name__}"


def _as_declared(value: Any, returns: ValueType) -> Any:
    """The value as the step declared it (a float for a number, a ``Record`` for a dict), or a sentence."""
    if returns is ValueType.SCALAR and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if not (isinstance(value, float) and math.isnan(value)) else float("nan")
    if returns is ValueType.RECORD and isinstance(value, dict):
        return Record(value)
    if returns is ValueType.SERIES and isinstance(value, pd.Series):
        return value
    if returns is ValueType.FRAME and isinstance(value, pd.DataFrame):
        return value
    raise OperationError(f"the code returned {_kind_of(value)} but the step declares {_KIND[returns]} (its 'returns' parameter); return {_KIND[returns]} or change 'returns'.")
