"""Run a validated DSL document over injected data access.

``execute(doc, inputs, data)`` validates the document and the inputs, runs the steps in topological
order, times each one, records where every piece of data came from, enforces the limits and returns a
``RunResult`` whose JSON form (``to_json``) is what runs and artifacts store.
"""

from __future__ import annotations

import graphlib
import json
import threading
import time
from datetime import date
from typing import Any

import pandas as pd
from cachetools import LRUCache
from pydantic import ValidationError

from contracts.code import CodeBundle, CodeRunner
from contracts.dsl import InputSchema, ModelDSL
from contracts.errors import CodeFailed, CodeUnavailable, DataError, EngineError, LimitExceeded, OperationError, StepFailed
from contracts.inputs import resolve_inputs
from contracts.limits import Limits
from contracts.result import RunResult, TraceEntry
from engine.code import CodeCall
from engine.data import DataAccess
from engine.outputs import build_outputs, estimate_bytes
from engine.registry import REGISTRY, Record, ValueType
from engine.validator import check, parse_input_schema, static_types

_PY_TYPE = {ValueType.SERIES: pd.Series, ValueType.FRAME: pd.DataFrame, ValueType.SCALAR: float, ValueType.RECORD: dict}


def _fresh(data: DataAccess | None) -> DataAccess:
    """A per-run copy of the data access the caller composed (the engine never builds one itself)."""
    if data is None:
        raise TypeError("the engine needs a DataAccess: build one with services.data.data_access() or sample_access()")
    return data.fresh()


def _rows(value: Any) -> int:
    if isinstance(value, (pd.Series, pd.DataFrame)):
        return len(value)
    return 1


def _points(value: Any) -> int:
    if isinstance(value, pd.DataFrame):
        return value.shape[0] * max(value.shape[1], 1)
    if isinstance(value, pd.Series):
        return len(value)
    return 1


def bind_params(params: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """Substitute ``$name`` by the run input (dropping unset ones so defaults apply); ``$$x`` is ``$x``."""
    bound: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("$$"):
            bound[key] = value[1:]
        elif isinstance(value, str) and value.startswith("$"):
            resolved = inputs.get(value[1:])
            if resolved is not None:
                bound[key] = resolved
        else:
            bound[key] = value
    return bound


def _param_sentence(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "params"
        parts.append(f"parameter '{name}': {item['msg']}")
    return "; ".join(parts)


def execute(
    doc: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    data: DataAccess | None = None,
    *,
    input_schema: Any = None,
    limits: Limits | None = None,
    today: date | None = None,
    code: CodeBundle | None = None,
    code_runner: CodeRunner | None = None,
) -> RunResult:
    """Validate ``doc`` and ``inputs`` and run the model; raise a typed ``EngineError`` on failure.

    A model with a ``code`` step needs the version's ``code`` and a ``code_runner`` (the services
    compose the sandbox); the step gets what is left of the run's time budget.

    ``today`` is the date relative inputs (``today-5y``) resolve against; by default the data's own
    reference date (the sample snapshot's as-of date on sample data) or, for live data, the wall clock.
    """
    started = time.perf_counter()
    limits = limits or Limits()
    today = today or (data.reference_date() if data is not None else None)
    model, schema, types = prepare(doc, input_schema, limits, today)
    values_in = resolve_inputs(schema, inputs or {}, today)
    access = _fresh(data)
    values, trace = _run_steps(model, values_in, access, limits, types, started, code, code_runner)
    estimate = estimate_bytes(model.outputs, values)
    estimated_kb = sum(estimate.values()) / 1024
    if estimated_kb > limits.max_output_kb:
        largest = max(estimate, key=lambda k: estimate[k])
        raise LimitExceeded(
            f"The results would be about {estimated_kb:,.0f} KB, over the limit of {limits.max_output_kb:,} KB "
            f"(the largest is {largest}); {narrowing_hint(model, _source_of(model, largest))}."
        )
    deadline = started + limits.max_runtime_ms / 1000

    def within_budget() -> None:
        if time.perf_counter() > deadline:
            raise LimitExceeded(f"The run took over {limits.max_runtime_ms / 1000:g} s while building its results; narrow the date range or show fewer outputs.")

    try:
        outputs = build_outputs(model.outputs, values, values_in, within_budget)
    except OperationError as exc:
        raise StepFailed("outputs", "outputs", str(exc), "E_OUTPUT_COLUMN") from exc
    within_budget()
    provenance = [p.to_json() for p in access.provenance]
    warnings = [p["warning"] for p in provenance if p.get("warning")]
    if estimated_kb > limits.max_output_kb / 2:  # near the limit: measure exactly
        size_kb = len(json.dumps(outputs, allow_nan=False)) / 1024
        if size_kb > limits.max_output_kb:
            raise LimitExceeded(f"The results are {size_kb:,.0f} KB, over the limit of {limits.max_output_kb:,} KB; {narrowing_hint(model, None)}.")
    runtime_ms = round((time.perf_counter() - started) * 1000, 3)
    return RunResult(outputs, trace, provenance, runtime_ms, {k: _plain(v) for k, v in values_in.items()}, warnings)


def run_values(
    doc: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    data: DataAccess | None = None,
    *,
    input_schema: Any = None,
    today: date | None = None,
    code: CodeBundle | None = None,
    code_runner: CodeRunner | None = None,
) -> dict[str, Any]:
    """Run and return every step's raw pandas value (for tests, notebooks and the builder preview)."""
    limits = Limits()
    today = today or (data.reference_date() if data is not None else None)
    model, schema, types = prepare(doc, input_schema, limits, today)
    values_in = resolve_inputs(schema, inputs or {}, today)
    access = _fresh(data)
    values, _ = _run_steps(model, values_in, access, limits, types, time.perf_counter(), code, code_runner)
    return values


_PREPARED: LRUCache[str, tuple[ModelDSL, InputSchema, dict[str, ValueType]]] = LRUCache(maxsize=512)
_PREPARED_LOCK = threading.Lock()


def prepare(doc: dict[str, Any], input_schema: Any, limits: Limits, today: date | None) -> tuple[ModelDSL, InputSchema, dict[str, ValueType]]:
    """Validate once per distinct (document, schema, limits, day): the parsed model, schema and step types.

    Raises ``ValidationFailed`` (never cached) when the document has problems.
    """
    key = json.dumps([doc, input_schema, repr(limits), str(today or date.today())], sort_keys=True, default=str)
    with _PREPARED_LOCK:
        hit = _PREPARED.get(key)
    if hit is not None:
        return hit
    model = check(doc, input_schema, limits, today)
    schema, _ = parse_input_schema(input_schema)
    prepared = (model, schema, static_types(doc, input_schema))
    with _PREPARED_LOCK:
        _PREPARED[key] = prepared
    return prepared


def _run_steps(
    model: ModelDSL,
    values_in: dict[str, Any],
    access: DataAccess,
    limits: Limits,
    types: dict[str, ValueType],
    started: float,
    code: CodeBundle | None = None,
    code_runner: CodeRunner | None = None,
) -> tuple[dict[str, Any], list[TraceEntry]]:
    """Run every step in topological order; return the values and the trace."""
    steps = {s.id: s for s in model.steps}
    sorter = graphlib.TopologicalSorter({s.id: set(s.inputs) for s in model.steps})
    values: dict[str, Any] = {}
    trace: list[TraceEntry] = []
    for step_id in sorter.static_order():
        step = steps[step_id]
        op = REGISTRY[step.operation]
        t0 = time.perf_counter()
        try:
            params = op.params_model.model_validate(bind_params(step.params, values_in))
        except ValidationError as exc:
            raise StepFailed(step_id, op.name, _param_sentence(exc) + ".", "E_PARAM") from exc
        call = None
        if op.uses_code:
            call = CodeCall(code, code_runner, tuple(step.inputs), values_in, limits, started + limits.max_runtime_ms / 1000)
        try:
            value = op.invoke([values[ref] for ref in step.inputs], params, access, call)
        except CodeFailed as exc:
            raise StepFailed(step_id, op.name, str(exc), exc.cause_code) from exc
        except CodeUnavailable as exc:
            raise StepFailed(step_id, op.name, str(exc), exc.code) from exc
        except DataError as exc:
            raise StepFailed(step_id, op.name, str(exc), exc.code) from exc
        except (OperationError, LimitExceeded) as exc:
            raise StepFailed(step_id, op.name, str(exc), exc.code) from exc
        except EngineError:
            raise
        except Exception as exc:  # a primitive's bug must still reach the user as a sentence
            raise StepFailed(step_id, op.name, f"unexpected {type(exc).__name__}: {exc}", "E_INTERNAL") from exc
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        expected = types.get(step_id)
        if expected is not None and not isinstance(value, _PY_TYPE[expected]):
            raise StepFailed(step_id, op.name, f"produced a {type(value).__name__} where a {expected.value} was declared", "E_INTERNAL")
        if _points(value) > limits.max_points:
            raise LimitExceeded(f"Step '{step_id}' ({op.name}) produced {_points(value):,} points, over the limit of {limits.max_points:,}.")
        values[step_id] = value
        ms = (time.perf_counter() - t0) * 1000
        trace.append(TraceEntry(step_id, op.name, round(ms, 3), _rows(value), expected.value if expected else type(value).__name__))
        if (time.perf_counter() - started) * 1000 > limits.max_runtime_ms:
            raise LimitExceeded(f"The run took over {limits.max_runtime_ms / 1000:g} s (stopped after step '{step_id}'); {narrowing_hint(model, step_id)} or simplify the model.")
    return values, trace


def _source_of(model: ModelDSL, output_key: str) -> str | None:
    """The step behind an output named like "series 'spread'"."""
    kind, _, rest = output_key.partition(" ")
    wanted = rest.strip("'")
    items = {"series": model.outputs.series, "table": model.outputs.tables, "metric": model.outputs.metrics}.get(kind, [])
    return next((item.source for item in items if item.id == wanted), None)


def narrowing_hint(model: ModelDSL, source: str | None) -> str:
    """What to narrow so an output shrinks: the fetches it comes from decide (dates, or the option chain)."""
    steps = {s.id: s for s in model.steps}
    pending = [source] if source in steps else list(steps)
    seen: set[str] = set()
    fetches: set[str] = set()
    while pending:
        step_id = pending.pop()
        if step_id in seen:
            continue
        seen.add(step_id)
        step = steps[step_id]
        if step.operation.startswith("fetch_"):
            fetches.add(step.operation)
        pending.extend(step.inputs)
    hints = []
    if fetches & {"fetch_series", "fetch_prices", "fetch_bars"}:
        hints.append("narrow the date range (start and end)")
    if "fetch_options_chain" in fetches:
        hints.append("narrow the option chain (one expiration, fewer days with max_days, or filter strikes)")
    return " or ".join(hints) or "show fewer or smaller outputs"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


__all__ = ["Record", "RunResult", "TraceEntry", "execute", "run_values"]
