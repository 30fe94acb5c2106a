"""Static validation of a DSL document: every problem at once, each with a code, a path and a hint.

Each rule is a small generator with the same shape, ``rule(ctx) -> Iterator[Problem]`` (the habit of
jsonschema's validators); ``validate`` runs them all and ``check`` raises one ``ValidationFailed``
listing everything (the habit of Hamilton's driver).

Codes: E_SCHEMA, E_VERSION, E_DUPLICATE_ID, E_UNKNOWN_OP, E_UNKNOWN_REF, E_CYCLE, E_ARITY, E_TYPE,
E_PARAM, E_UNDECLARED_INPUT, E_OUTPUT_SOURCE, E_OUTPUT_COLUMN, E_INPUT_SCHEMA, E_LIMIT, E_CODE_STEPS.
"""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts.code import ARGS_KEY
from contracts.dsl import DSL_VERSION, LABEL_INPUT, InputSchema, ModelDSL, Outputs, Step
from contracts.errors import PathPart, Problem, ValidationFailed
from contracts.limits import Limits
from engine.registry import REGISTRY, Operation, ValueType, load_all, slot_for

Path = tuple[PathPart, ...]
ALLOWED_ROOT_KEYS = {"version", "steps", "outputs"}
# Placeholder values used to type-check a param bound to an input that has no default.
_PLACEHOLDERS = {
    "string": "x", "symbol": "SPY", "series_id": "DGS10", "number": 1.0, "integer": 1,
    "boolean": False, "date": "2020-01-01", "expiration": None,
}


def _path(base: Path, loc: tuple[Any, ...]) -> Path:
    return (*base, *(part if isinstance(part, int) else str(part) for part in loc))


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


BOUND_ERRORS = ("too_long", "string_too_long")  # pydantic's names for a list or text past its max_length


def _pydantic_problems(error: ValidationError, base: Path, code: str = "E_SCHEMA") -> Iterator[Problem]:
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field '{item['loc'][-1]}'"
        yield Problem("E_LIMIT" if item["type"] in BOUND_ERRORS else code, _path(base, tuple(item["loc"])), message)


@dataclass
class Context:
    """What the rules share: the raw document, what parsed, the input schema and the limits."""

    raw: Any
    schema: InputSchema
    limits: Limits
    today: date
    steps: dict[str, tuple[int, Step]] = field(default_factory=dict)  # first occurrence of each id
    ops: dict[str, Operation] = field(default_factory=dict)  # step id -> operation (known ones)
    order: list[str] | None = None  # topological order, when the graph is sound
    types: dict[str, ValueType] = field(default_factory=dict)  # step id -> output type
    outputs: Outputs | None = None
    graph_sound: bool = True
    schema_sound: bool = True


Rule = Callable[[Context], Iterator[Problem]]


def rule_root(ctx: Context) -> Iterator[Problem]:
    if not isinstance(ctx.raw, dict):
        yield Problem("E_SCHEMA", (), f"a model must be a JSON object, not {type(ctx.raw).__name__}")
        return
    for key in sorted(set(ctx.raw) - ALLOWED_ROOT_KEYS):
        yield Problem("E_SCHEMA", (key,), f"unknown field '{key}'", "allowed: version, steps, outputs")
    version = ctx.raw.get("version")
    if version is None:
        yield Problem("E_VERSION", ("version",), "the DSL version is missing", f'add "version": "{DSL_VERSION}"')
    elif version != DSL_VERSION:
        yield Problem("E_VERSION", ("version",), f"unsupported DSL version {version!r}", f'this engine runs version "{DSL_VERSION}"')


def rule_steps(ctx: Context) -> Iterator[Problem]:
    steps = ctx.raw.get("steps") if isinstance(ctx.raw, dict) else None
    if not isinstance(steps, list) or not steps:
        ctx.graph_sound = False
        yield Problem("E_SCHEMA", ("steps",), "a model needs a non-empty list of steps")
        return
    if len(steps) > ctx.limits.max_steps:
        yield Problem("E_LIMIT", ("steps",), f"{len(steps)} steps exceed the limit of {ctx.limits.max_steps}")
        if len(steps) > 4 * ctx.limits.max_steps:
            ctx.graph_sound = False
            return  # far past the limit: checking each step would only cost time
    for index, raw_step in enumerate(steps):
        base: Path = ("steps", index)
        try:
            step = Step.model_validate(raw_step)
        except ValidationError as exc:
            ctx.graph_sound = False
            yield from _pydantic_problems(exc, base)
            continue
        if step.id in ctx.steps:
            ctx.graph_sound = False
            first = ctx.steps[step.id][0]
            yield Problem("E_DUPLICATE_ID", (*base, "id"), f"step id '{step.id}' is already used by $.steps[{first}]", "give every step its own id")
            continue
        ctx.steps[step.id] = (index, step)
        op = REGISTRY.get(step.operation)
        if op is None:
            ctx.graph_sound = False
            yield Problem("E_UNKNOWN_OP", (*base, "operation"), f"unknown operation '{step.operation}'", _did_you_mean(step.operation, sorted(REGISTRY)) or "run `python -m engine ops` for the list")
            continue
        ctx.ops[step.id] = op


def rule_references(ctx: Context) -> Iterator[Problem]:
    ids = sorted(ctx.steps)
    for step_id, (index, step) in ctx.steps.items():
        for position, ref in enumerate(step.inputs):
            if ref not in ctx.steps:
                ctx.graph_sound = False
                yield Problem("E_UNKNOWN_REF", ("steps", index, "inputs", position), f"no step has the id '{ref}'", _did_you_mean(ref, ids))
            elif ref == step_id:
                ctx.graph_sound = False
                yield Problem("E_CYCLE", ("steps", index, "inputs", position), f"step '{step_id}' uses its own output")


def rule_arity(ctx: Context) -> Iterator[Problem]:
    for step_id, op in ctx.ops.items():
        index, step = ctx.steps[step_id]
        count = len(step.inputs)
        low, high = op.min_inputs, op.max_inputs
        if count < low or (high is not None and count > high):
            want = f"exactly {low}" if low == high else (f"{low} to {high}" if high is not None else f"at least {low}")
            yield Problem("E_ARITY", ("steps", index, "inputs"), f"'{op.name}' takes {want} input(s), got {count}", _input_hint(op))


def _input_hint(op: Operation) -> str:
    parts = []
    for slot in op.inputs:
        kinds = "|".join(sorted(t.value for t in slot.types))
        suffix = "..." if slot.variadic else ("?" if slot.optional else "")
        parts.append(f"{slot.name}: {kinds}{suffix}")
    return f"inputs: {', '.join(parts) or 'none'}"


def _bind_params(params: dict[str, Any], ctx: Context, base: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Replace ``$name`` with a representative value of the declared input; report undeclared ones."""
    bound: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("$$"):
            bound[key] = value[1:]
        elif isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            declared = ctx.schema.field(name)
            if declared is None and not ctx.schema_sound:
                continue  # the input schema itself is broken (reported once): do not blame every reference
            if declared is None:
                names = [f.name for f in ctx.schema.fields]
                hint = _did_you_mean(name, names) or f"declare '{name}' in the input schema"
                problems.append(Problem("E_UNDECLARED_INPUT", (*base, key), f"'{value}' refers to an input that is not declared", hint))
                continue
            default = declared.default_value(ctx.today)
            if default is None and declared.type == "enum" and declared.options:
                default = declared.options[0]
            if default is None and declared.type != "expiration":
                default = _PLACEHOLDERS.get(declared.type)
            if default is not None or declared.type == "expiration":
                bound[key] = default
        else:
            bound[key] = value
    return bound, problems


def rule_params(ctx: Context) -> Iterator[Problem]:
    for step_id, op in ctx.ops.items():
        index, step = ctx.steps[step_id]
        base: Path = ("steps", index, "params")
        bound, problems = _bind_params(step.params, ctx, base)
        yield from problems
        unbound = {str(p.where[-1]) for p in problems}
        try:
            op.params_model.model_validate(bound)
        except ValidationError as exc:
            for item in exc.errors():
                loc = tuple(item["loc"])
                if loc and str(loc[0]) in unbound:
                    continue
                message = f"unknown parameter '{loc[-1]}'" if item["type"] == "extra_forbidden" else item["msg"]
                hint = _param_hint(op.params_model, str(loc[0]) if loc else "")
                yield Problem("E_PARAM", _path(base, loc), message, hint)


def _param_hint(model: type[BaseModel], name: str) -> str:
    fields = model.model_fields
    if name in fields and fields[name].description:
        return fields[name].description or ""
    known = ", ".join(fields) or "none"
    close = _did_you_mean(name, list(fields))
    return close or f"parameters of this operation: {known}"


def rule_cycles(ctx: Context) -> Iterator[Problem]:
    if not ctx.graph_sound:
        return
    sorter = graphlib.TopologicalSorter({sid: set(step.inputs) for sid, (_, step) in ctx.steps.items()})
    try:
        ctx.order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        index = ctx.steps[cycle[0]][0]
        yield Problem("E_CYCLE", ("steps", index, "inputs"), "the steps form a cycle: " + " -> ".join(cycle), "a step may only use steps that do not depend on it")


def rule_types(ctx: Context) -> Iterator[Problem]:
    if ctx.order is None:
        return
    for step_id in ctx.order:
        op = ctx.ops[step_id]
        index, step = ctx.steps[step_id]
        in_types: list[ValueType] = []
        ok = True
        for position, ref in enumerate(step.inputs):
            if ref not in ctx.types:
                ok = False
                continue
            got = ctx.types[ref]
            in_types.append(got)
            slot = slot_for(op, position)
            if slot is not None and got not in slot.types:
                ok = False
                kinds = " or ".join(sorted(t.value for t in slot.types))
                yield Problem("E_TYPE", ("steps", index, "inputs", position), f"'{op.name}' expects a {kinds} for '{slot.name}', but step '{ref}' produces a {got.value}", _input_hint(op))
        arity_ok = op.min_inputs <= len(in_types) and (op.max_inputs is None or len(in_types) <= op.max_inputs)
        if ok and arity_ok:
            declared = op.output_type(in_types, step.params)
            if declared is not None:
                ctx.types[step_id] = declared


def _known_columns(ctx: Context, source: str) -> list[str] | None:
    op = ctx.ops.get(source)
    return list(op.columns) if op is not None and op.columns else None


def rule_outputs(ctx: Context) -> Iterator[Problem]:
    raw = ctx.raw.get("outputs", {}) if isinstance(ctx.raw, dict) else {}
    try:
        outputs = Outputs.model_validate(raw)
    except ValidationError as exc:
        yield from _pydantic_problems(exc, ("outputs",))
        return
    ctx.outputs = outputs
    if not (outputs.series or outputs.tables or outputs.metrics):
        yield Problem("E_OUTPUT_SOURCE", ("outputs",), "the model has no outputs", "add at least one series, table or metric")
    step_ids = sorted(ctx.steps)
    for kind, items in (("series", outputs.series), ("tables", outputs.tables), ("metrics", outputs.metrics)):
        seen: set[str] = set()
        for index, item in enumerate(items):
            base: Path = ("outputs", kind, index)
            if item.id in seen:
                yield Problem("E_DUPLICATE_ID", (*base, "id"), f"output id '{item.id}' is used twice in {kind}")
            seen.add(item.id)
            for name in LABEL_INPUT.findall(getattr(item, "label", None) or ""):
                if ctx.schema.field(name) is None:
                    known = [f.name for f in ctx.schema.fields]
                    yield Problem("E_UNDECLARED_INPUT", (*base, "label"), f"the label shows '{{{name}}}', an input that is not declared", _did_you_mean(name, known) or f"declare '{name}' in the input schema")
            if item.source not in ctx.steps:
                yield Problem("E_OUTPUT_SOURCE", (*base, "source"), f"no step has the id '{item.source}'", _did_you_mean(item.source, step_ids))
                continue
            yield from _check_output(ctx, kind, item, base)
    yield from _check_references(outputs)


def _check_references(outputs: Outputs) -> Iterator[Problem]:
    """A reference mark that follows a metric names one of the model's metrics; a date mark is a date."""
    metric_ids = [m.id for m in outputs.metrics]
    for index, item in enumerate(outputs.series):
        for number, mark in enumerate(item.reference):
            base: Path = ("outputs", "series", index, "reference", number)
            for attr in ("metric", "to_metric"):
                name = getattr(mark, attr)
                if name is not None and name not in metric_ids:
                    hint = _did_you_mean(name, metric_ids) or (f"metrics: {', '.join(metric_ids)}" if metric_ids else "declare the value under outputs.metrics first")
                    yield Problem("E_OUTPUT_SOURCE", (*base, attr), f"no metric has the id '{name}'", hint)
            for attr in ("value", "to"):
                value = getattr(mark, attr)
                if isinstance(value, str):
                    if mark.axis == "y":
                        yield Problem("E_BAD_PARAM", (*base, attr), f"a horizontal reference mark needs a number, not '{value}'")
                        continue
                    try:
                        date.fromisoformat(value[:10])
                    except ValueError:
                        yield Problem("E_BAD_PARAM", (*base, attr), f"'{value}' is neither a number nor an ISO date", "e.g. 0.5 or 2020-03-01")


def _check_output(ctx: Context, kind: str, item: Any, base: Path) -> Iterator[Problem]:
    vtype = ctx.types.get(item.source)
    columns = _known_columns(ctx, item.source)
    if kind == "series":
        if vtype is not None and vtype not in (ValueType.SERIES, ValueType.FRAME):
            yield Problem("E_OUTPUT_SOURCE", (*base, "source"), f"a chart needs a series or a frame, but '{item.source}' is a {vtype.value}", "show it as a table or a metric instead")
        if vtype == ValueType.SERIES and (item.x or item.y):
            yield Problem("E_OUTPUT_COLUMN", (*base, "y"), f"'{item.source}' is a series; x and y apply to frames only")
        if item.shade and vtype == ValueType.FRAME:
            yield Problem("E_OUTPUT_SOURCE", (*base, "shade"), f"shading needs a 0/1 series, but '{item.source}' is a frame", "use the output of recession_indicator")
        if vtype == ValueType.FRAME and columns:
            for attr in ("x", "y"):
                wanted = [getattr(item, attr)] if attr == "x" else (item.y_columns or [])
                for col in wanted:
                    if col is not None and col not in columns:
                        yield Problem("E_OUTPUT_COLUMN", (*base, attr), f"'{item.source}' has no column '{col}'", f"columns: {', '.join(columns)}")
    elif kind == "tables":
        if item.columns is None:
            return
        if vtype in (ValueType.RECORD, ValueType.SCALAR):
            allowed = ["metric", "value"]
        elif vtype == ValueType.SERIES:
            allowed = ["date", "value"]
        else:
            allowed = columns
        for col in item.columns if allowed else []:
            if col not in allowed:
                yield Problem("E_OUTPUT_COLUMN", (*base, "columns"), f"'{item.source}' has no column '{col}'", f"columns: {', '.join(allowed)}")
    elif kind == "metrics":
        if vtype is not None and vtype not in (ValueType.SCALAR, ValueType.RECORD):
            yield Problem("E_OUTPUT_SOURCE", (*base, "source"), f"a metric needs a scalar or a record, but '{item.source}' is a {vtype.value}", "reduce it first, e.g. with 'summary' or 'last'")
        if vtype == ValueType.RECORD and not item.field:
            yield Problem("E_OUTPUT_COLUMN", (*base, "field"), f"'{item.source}' is a record; name the field to show")


def rule_code(ctx: Context) -> Iterator[Problem]:
    """At most one ``code`` step, and none of its inputs named like the run inputs' record (``args``)."""
    code_steps = [(step_id, index, step) for step_id, (index, step) in ctx.steps.items() if step.operation == "code"]
    for step_id, index, _ in code_steps[1:]:
        yield Problem("E_CODE_STEPS", ("steps", index, "operation"), f"step '{step_id}' is a second code step; a model runs its code once", "put all the code in one step")
    for _, index, step in code_steps[:1]:
        for position, ref in enumerate(step.inputs):
            if ref == ARGS_KEY:
                yield Problem("E_CODE_STEPS", ("steps", index, "inputs", position), f"the code receives the run inputs under '{ARGS_KEY}', so no input step may have that id", "rename that step")


RULES: tuple[Rule, ...] = (rule_root, rule_steps, rule_references, rule_arity, rule_params, rule_cycles, rule_types, rule_code, rule_outputs)


def parse_input_schema(raw: Any) -> tuple[InputSchema, list[Problem]]:
    """Parse an input schema; a broken one yields E_INPUT_SCHEMA problems and an empty schema."""
    if raw is None:
        return InputSchema(), []
    if isinstance(raw, InputSchema):
        return raw, []
    try:
        schema = InputSchema.model_validate(raw)
    except ValidationError as exc:
        return InputSchema(), list(_pydantic_problems(exc, ("input_schema",), "E_INPUT_SCHEMA"))
    problems = []
    seen: set[str] = set()
    for index, item in enumerate(schema.fields):
        if item.name in seen:
            problems.append(Problem("E_INPUT_SCHEMA", ("input_schema", "fields", index, "name"), f"input '{item.name}' is declared twice"))
        seen.add(item.name)
        if item.type == "enum" and not item.options:
            problems.append(Problem("E_INPUT_SCHEMA", ("input_schema", "fields", index, "options"), f"enum input '{item.name}' needs a list of options"))
        problems.extend(_constraint_problems(schema, index, item))
    return schema, problems


def _constraint_problems(schema: InputSchema, index: int, item: Any) -> Iterator[Problem]:
    """``after`` names another date input; ``min_span`` comes with ``after`` and names an integer input if any."""
    base: Path = ("input_schema", "fields", index)
    dates = [f.name for f in schema.fields if f.type == "date" and f.name != item.name]
    if item.after is not None:
        if item.type != "date":
            yield Problem("E_INPUT_SCHEMA", (*base, "after"), f"'after' applies to date inputs, and '{item.name}' is a {item.type}")
        elif item.after not in dates:
            hint = _did_you_mean(item.after, dates) or (f"date inputs: {', '.join(dates)}" if dates else "declare the earlier date input first")
            yield Problem("E_INPUT_SCHEMA", (*base, "after"), f"input '{item.name}' must follow '{item.after}', which is not another date input", hint)
    if item.min_span is not None:
        if item.after is None:
            yield Problem("E_INPUT_SCHEMA", (*base, "min_span"), f"input '{item.name}' has a minimum span but no 'after' date to measure it from")
        if item.min_span.field is not None:
            length = schema.field(item.min_span.field)
            if length is None or length.type != "integer":
                integers = [f.name for f in schema.fields if f.type == "integer"]
                yield Problem(
                    "E_INPUT_SCHEMA", (*base, "min_span", "field"), f"the minimum span of '{item.name}' reads '{item.min_span.field}', which is not an integer input",
                    _did_you_mean(item.min_span.field, integers) or (f"integer inputs: {', '.join(integers)}" if integers else "declare the window as an integer input"),
                )


def validate(doc: Any, input_schema: Any = None, limits: Limits | None = None, today: date | None = None) -> list[Problem]:
    """Every problem of ``doc`` (and of its input schema), in document order of the rules."""
    load_all()
    schema, problems = parse_input_schema(input_schema)
    ctx = Context(raw=doc, schema=schema, limits=limits or Limits(), today=today or date.today(), schema_sound=not problems)
    for rule in RULES:
        problems.extend(rule(ctx))
        if rule is rule_root and not isinstance(doc, dict):
            break
    return problems


def check(doc: Any, input_schema: Any = None, limits: Limits | None = None, today: date | None = None) -> ModelDSL:
    """Validate and return the parsed model, or raise ``ValidationFailed`` with every problem."""
    problems = validate(doc, input_schema, limits, today)
    if problems:
        raise ValidationFailed(problems)
    return ModelDSL.model_validate(doc)


def static_types(doc: dict[str, Any], input_schema: Any = None) -> dict[str, ValueType]:
    """The output type of every step of a valid document (for the builder and the UI)."""
    load_all()
    schema, _ = parse_input_schema(input_schema)
    ctx = Context(raw=doc, schema=schema, limits=Limits(), today=date.today())
    for rule in (rule_root, rule_steps, rule_references, rule_cycles, rule_types):
        list(rule(ctx))
    return ctx.types
