"""Run inputs: check them against a model's input schema, fill defaults, and report per-field errors."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd

from contracts.dsl import InputField, InputSchema, resolve_relative_date
from contracts.errors import InputInvalid


def _as_date(value: Any, today: date) -> str:
    if isinstance(value, date):
        return value.isoformat()
    text = resolve_relative_date(str(value).strip(), today)
    try:
        return pd.Timestamp(text).date().isoformat()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"'{value}' is not a date; use YYYY-MM-DD or a relative date such as today-5y") from exc


def _as_number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'{value}' is not a number") from exc
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def _as_integer(value: Any) -> int:
    number = _as_number(value)
    if not number.is_integer():
        raise ValueError(f"'{value}' is not a whole number")
    return int(number)


def _as_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"'{value}' is not true or false")


def coerce(field: InputField, value: Any, today: date) -> Any:
    """Convert one raw value (from a form, a query string or the CLI) to the field's type."""
    kind = field.type
    if kind == "number":
        result: Any = _as_number(value)
    elif kind == "integer":
        result = _as_integer(value)
    elif kind == "boolean":
        return _as_boolean(value)
    elif kind == "date":
        return _as_date(value, today)
    elif kind == "expiration":
        text = str(value).strip().lower()
        return None if text in ("", "nearest", "auto") else _as_date(value, today)
    elif kind == "enum":
        options = field.options or []
        if value not in options:
            matches = [o for o in options if str(o) == str(value)]
            if not matches:
                raise ValueError(f"'{value}' is not one of {', '.join(map(str, options))}")
            value = matches[0]
        return value
    elif kind in ("symbol", "series_id"):
        text = str(value).strip().upper()
        if not text:
            raise ValueError("must not be empty")
        return text
    else:
        return str(value)
    if field.min is not None and result < field.min:
        raise ValueError(f"must be at least {field.min:g}")
    if field.max is not None and result > field.max:
        raise ValueError(f"must be at most {field.max:g}")
    return result


def resolve_inputs(schema: InputSchema, raw: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """Return every declared input with its value; raise ``InputInvalid`` naming each bad field."""
    today = today or date.today()
    errors: dict[str, str] = {}
    resolved: dict[str, Any] = {}
    for name in raw:
        if schema.field(name) is None:
            known = ", ".join(f.name for f in schema.fields) or "none"
            errors[name] = f"this model has no input '{name}' (its inputs: {known})."
    for field in schema.fields:
        value = raw.get(field.name)
        if value is None or (isinstance(value, str) and value.strip() == "" and field.type != "expiration"):
            value = field.default_value(today)
        if value is None:
            if field.required:
                errors[field.name] = f"{field.label or field.name} is required."
            resolved[field.name] = None
            continue
        try:
            resolved[field.name] = coerce(field, value, today)
        except ValueError as exc:
            errors[field.name] = f"{field.label or field.name}: {exc}."
    for field in schema.fields:
        earlier = schema.field(field.after) if field.after else None
        if earlier is None or field.name in errors or earlier.name in errors:
            continue
        value, before = resolved.get(field.name), resolved.get(earlier.name)
        if isinstance(value, str) and isinstance(before, str) and value <= before:
            errors[field.name] = f"{field.label or field.name} must be after {earlier.label or earlier.name} ({before})."
    if errors:
        raise InputInvalid(errors)
    return resolved
