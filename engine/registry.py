"""The operation registry: one plain dict, built from typed function declarations.

``@operation("zscore", family="stats")`` on a function such as::

    def zscore(x: pd.Series, *, params: ZScoreParams) -> pd.Series:
        '''Standard score of each point ...'''

registers it by name. The input types come from the positional parameters' annotations, the output
type from the return annotation, the params model from the keyword-only ``params`` argument and the
help text from the docstring. A missing or unsupported annotation fails at import time, not at run
time. The validator, the CLI's ``ops`` listing, the builder palette and the model card help all read
this one declaration.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict


class ValueType(StrEnum):
    """The kinds of value that flow between steps."""

    SERIES = "series"
    FRAME = "frame"
    SCALAR = "scalar"
    RECORD = "record"


class Record(dict):
    """A flat mapping of named metrics (numbers or short strings), e.g. an expected move."""


class Params(BaseModel):
    """Base of every params model: unknown keys are an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Params):
    """This operation takes no parameters."""


_PY_TYPES: dict[Any, ValueType] = {
    pd.Series: ValueType.SERIES,
    pd.DataFrame: ValueType.FRAME,
    float: ValueType.SCALAR,
    Record: ValueType.RECORD,
}


@dataclass(frozen=True)
class InputSlot:
    """One positional input of an operation: the types it accepts and whether it may be omitted."""

    name: str
    types: frozenset[ValueType]
    optional: bool = False
    variadic: bool = False


OutputRule = Callable[[Sequence[ValueType]], ValueType]


@dataclass(frozen=True)
class Operation:
    """A registered DSL operation."""

    name: str
    family: str
    func: Callable[..., Any]
    params_model: type[Params]
    inputs: tuple[InputSlot, ...]
    output: ValueType | None  # None: decided by ``output_rule`` from the input types
    output_rule: OutputRule | None
    uses_data: bool
    doc: str
    columns: tuple[str, ...] | None = None  # the frame columns it produces, when fixed
    min_inputs: int = 0
    max_inputs: int | None = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    takes_params: bool = False
    uses_code: bool = False  # takes the run's code call (the ``code`` operation)
    output_from_params: Callable[[dict[str, Any]], ValueType | None] | None = None  # the output type a step's params declare

    def invoke(self, args: Sequence[Any], params: Params, data: Any = None, code: Any = None) -> Any:
        """Call the function with its inputs, its params (if it takes any), data access and the code call."""
        kwargs: dict[str, Any] = {}
        if self.takes_params:
            kwargs["params"] = params
        if self.uses_data:
            kwargs["data"] = data
        if self.uses_code:
            kwargs["code"] = code
        return self.func(*args, **kwargs)

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    def output_type(self, input_types: Sequence[ValueType], params: dict[str, Any] | None = None) -> ValueType | None:
        if self.output_from_params is not None:
            return self.output_from_params(params or {})
        if self.output is not None:
            return self.output
        assert self.output_rule is not None
        return self.output_rule(input_types)

    def describe(self) -> dict[str, Any]:
        """A JSON description (used by ``python -m engine ops --json`` and the builder palette)."""
        return {
            "name": self.name,
            "family": self.family,
            "inputs": [
                {"name": s.name, "types": sorted(t.value for t in s.types), "optional": s.optional, "variadic": s.variadic}
                for s in self.inputs
            ],
            "min_inputs": self.min_inputs,
            "max_inputs": self.max_inputs,
            "output": self.output.value if self.output else "depends on inputs",
            "params": self.params_model.model_json_schema(),
            "summary": self.summary,
            "doc": inspect.cleandoc(self.doc),
        }


REGISTRY: dict[str, Operation] = {}


def series_if_any_series(input_types: Sequence[ValueType]) -> ValueType:
    """Output rule for element-wise maths: a series if any input is a series, else a scalar."""
    return ValueType.SERIES if ValueType.SERIES in input_types else ValueType.SCALAR


def same_as_first(input_types: Sequence[ValueType]) -> ValueType:
    """Output rule for operations that keep the kind of their first input."""
    return input_types[0]


def _value_types(annotation: Any, where: str) -> tuple[frozenset[ValueType], bool]:
    """Turn an annotation into (accepted types, optional)."""
    if annotation in _PY_TYPES:
        return frozenset({_PY_TYPES[annotation]}), False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        optional = type(None) in members
        found: set[ValueType] = set()
        for member in members:
            if member is type(None):
                continue
            if member not in _PY_TYPES:
                raise TypeError(f"{where}: unsupported input annotation {member!r}")
            found.add(_PY_TYPES[member])
        return frozenset(found), optional
    raise TypeError(f"{where}: inputs must be annotated with pd.Series, pd.DataFrame, float or Record, got {annotation!r}")


def operation(
    name: str,
    *,
    family: str,
    output_rule: OutputRule | None = None,
    columns: Sequence[str] | None = None,
    tags: Sequence[str] = (),
    min_inputs: int | None = None,
    output_from_params: Callable[[dict[str, Any]], ValueType | None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as the DSL operation ``name`` (see the module docstring for the shape)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        where = f"operation '{name}' ({func.__module__}.{func.__name__})"
        if name in REGISTRY:
            raise TypeError(f"{where}: the name is already registered by {REGISTRY[name].func.__module__}")
        if not (func.__doc__ and func.__doc__.strip()):
            raise TypeError(f"{where}: a docstring is required (it is the operation's help text)")
        hints = typing.get_type_hints(func, include_extras=False)
        signature = inspect.signature(func)
        slots: list[InputSlot] = []
        params_model: type[Params] = NoParams
        uses_data = False
        uses_code = False
        takes_params = False
        for pname, param in signature.parameters.items():
            if pname not in hints:
                raise TypeError(f"{where}: parameter '{pname}' has no type hint")
            hint = hints[pname]
            if param.kind is inspect.Parameter.KEYWORD_ONLY:
                if pname == "params":
                    if not (isinstance(hint, type) and issubclass(hint, Params)):
                        raise TypeError(f"{where}: 'params' must be annotated with a Params model")
                    params_model = hint
                    takes_params = True
                elif pname == "data":
                    uses_data = True
                elif pname == "code":
                    uses_code = True
                else:
                    raise TypeError(f"{where}: keyword-only arguments are 'params', 'data' and 'code', not '{pname}'")
                continue
            accepted, optional = _value_types(hint, f"{where}, parameter '{pname}'")
            variadic = param.kind is inspect.Parameter.VAR_POSITIONAL
            optional = optional or param.default is not inspect.Parameter.empty
            slots.append(InputSlot(pname, accepted, optional, variadic))
        if "return" not in hints:
            raise TypeError(f"{where}: a return annotation is required")
        out_types, _ = _value_types(hints["return"], f"{where}, return")
        output = next(iter(out_types)) if len(out_types) == 1 else None
        if output is None and output_rule is None and output_from_params is None:
            raise TypeError(f"{where}: a union return type needs an output_rule")
        required = sum(1 for s in slots if not s.optional and not s.variadic)
        maximum = None if any(s.variadic for s in slots) else len(slots)
        minimum = required + (2 if any(s.variadic for s in slots) else 0) if min_inputs is None else min_inputs
        REGISTRY[name] = Operation(
            name=name,
            family=family,
            func=func,
            params_model=params_model,
            inputs=tuple(slots),
            output=output,
            output_rule=output_rule,
            uses_data=uses_data,
            doc=func.__doc__ or "",
            columns=tuple(columns) if columns else None,
            min_inputs=minimum,
            max_inputs=maximum,
            tags=tuple(tags),
            takes_params=takes_params,
            uses_code=uses_code,
            output_from_params=output_from_params,
        )
        func.operation_name = name  # type: ignore[attr-defined]
        return func

    return register


def load_all() -> dict[str, Operation]:
    """Import every primitive module so the registry is complete, and return it."""
    import engine.primitives  # noqa: F401  (import side effect: registration)

    return REGISTRY


def slot_for(op: Operation, position: int) -> InputSlot | None:
    """The input slot that the ``position``-th input fills (variadic slots absorb the rest)."""
    for index, slot in enumerate(op.inputs):
        if slot.variadic:
            return slot
        if index == position:
            return slot
    return None
