"""Form fields for an operation's parameters, read from its params model's JSON schema.

Each parameter becomes a ``ParamSpec`` with a ``kind`` the page turns into a widget: ``integer`` and
``number`` (with their bounds), ``boolean``, ``enum`` (a select), ``date``, ``string``, ``list`` (of
``item_kind``) and ``json`` for the rare shapes no simpler widget fits. Which run inputs a parameter
may be bound to follows from its kind (``bindable_fields``), and ``new_field_for`` proposes an input
declaration for it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from engine.registry import REGISTRY, load_all

# Which input-schema field types can feed a parameter of each kind.
BINDABLE: dict[str, tuple[str, ...]] = {
    "date": ("date", "expiration"),
    "integer": ("integer",),
    "number": ("number", "integer"),
    "boolean": ("boolean",),
    "enum": ("enum", "string"),
    "string": ("string", "symbol", "series_id", "enum", "date", "expiration"),
    "list": ("string", "series_id", "symbol"),
    "json": ("string", "number", "integer", "boolean", "date", "enum", "symbol", "series_id", "expiration"),
}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as a form field."""

    name: str
    title: str
    kind: str
    description: str = ""
    required: bool = False
    default: Any = None
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[Any, ...] = ()
    item_kind: str | None = None

    def coerce(self, raw: Any) -> Any:
        """A widget's raw value as the parameter's value (text for lists and json is parsed); raises ValueError."""
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and self.kind != "string"):
            return None
        if self.kind == "list":
            items = [part.strip() for part in str(raw).split(",") if part.strip()] if isinstance(raw, str) else list(raw)
            if self.item_kind in ("number", "integer"):
                try:
                    return [int(i) if self.item_kind == "integer" else float(i) for i in items]
                except ValueError as exc:
                    raise ValueError(f"{self.title}: give numbers separated by commas") from exc
            return items
        if self.kind == "json":
            if not isinstance(raw, str):
                return raw
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return raw
        if self.kind == "integer":
            return int(raw)
        if self.kind == "number":
            return float(raw)
        if self.kind == "date":
            return raw.isoformat() if hasattr(raw, "isoformat") else str(raw)
        return raw

    def as_text(self, value: Any) -> str:
        """A value shown in a text widget (lists comma-separated, json as JSON)."""
        if value is None:
            return ""
        if self.kind == "list" and isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if self.kind == "json" and not isinstance(value, str):
            return json.dumps(value)
        return str(value)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**root.get("$defs", {}).get(ref.split("/")[-1], {}), **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _kind(schema: dict[str, Any], root: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    schema = _resolve(schema, root)
    if "enum" in schema:
        return "enum", schema
    if "const" in schema:
        return "enum", {**schema, "enum": [schema["const"]]}
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "date":
        return "date", schema
    if kind in ("integer", "number", "boolean", "string"):
        return kind, schema
    if kind == "array":
        return "list", schema
    return "json", schema


def spec_for(name: str, prop: dict[str, Any], root: dict[str, Any], required: bool) -> ParamSpec:
    """A ``ParamSpec`` from one property of a params JSON schema."""
    variants = prop.get("anyOf")
    nullable = False
    base = prop
    if isinstance(variants, list):
        others = [v for v in variants if v.get("type") != "null"]
        nullable = len(others) < len(variants)
        base = others[0] if len(others) == 1 else {"type": "json"}
    kind, base = _kind(base, root)
    item_kind = None
    if kind == "list":
        item_kind, _ = _kind(base.get("items", {}), root)
    minimum = base.get("minimum", base.get("exclusiveMinimum"))
    maximum = base.get("maximum", base.get("exclusiveMaximum"))
    return ParamSpec(
        name=name,
        title=prop.get("title") or name.replace("_", " ").capitalize(),
        kind=kind,
        description=prop.get("description") or base.get("description") or "",
        required=required,
        default=prop.get("default"),
        nullable=nullable,
        minimum=minimum,
        maximum=maximum,
        options=tuple(base.get("enum") or ()),
        item_kind=item_kind,
    )


@functools.cache
def param_specs(operation: str) -> tuple[ParamSpec, ...]:
    """Every parameter of ``operation``, in the params model's order."""
    load_all()
    op = REGISTRY.get(operation)
    if op is None:
        return ()
    schema = op.params_model.model_json_schema()
    required = set(schema.get("required", []))
    return tuple(spec_for(name, prop, schema, name in required) for name, prop in schema.get("properties", {}).items())


def bindable_fields(input_schema: Any, spec: ParamSpec) -> list[str]:
    """The declared run inputs whose type can feed this parameter."""
    fields = input_schema.get("fields") if isinstance(input_schema, dict) else None
    allowed = BINDABLE.get(spec.kind, ())
    return [f["name"] for f in fields or [] if isinstance(f, dict) and isinstance(f.get("name"), str) and f.get("type") in allowed]


def new_field_for(spec: ParamSpec, taken: set[str]) -> dict[str, Any]:
    """An input declaration that fits ``spec`` (name, type, label, default, options), to bind the parameter to."""
    name = spec.name
    number = 2
    while name in taken:
        name = f"{spec.name}_{number}"
        number += 1
    kind = {"date": "date", "integer": "integer", "number": "number", "boolean": "boolean", "enum": "enum"}.get(spec.kind, "string")
    if kind == "string" and spec.name in ("series_id", "symbol"):
        kind = spec.name
    field: dict[str, Any] = {"name": name, "type": kind, "label": spec.title}
    if spec.default is not None:
        field["default"] = spec.default
    if kind == "enum":
        field["options"] = list(spec.options)
    if spec.description:
        field["help"] = spec.description
    return field
