"""Run inputs: check them against a model's input schema, fill defaults, and report per-field errors."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd

from contracts.dsl import DAYS_PER_UNIT, InputField, InputSchema, resolve_relative_date
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


def _blank(value: Any) -> bool:
    return isinstance(value, str) and value.strip() == ""


def _name(field: InputField) -> str:
    return field.label or field.name


UNIT_WORDS = {"days": "days", "trading_days": "trading days", "weeks": "weeks", "months": "months", "years": "years"}


def _span_problem(field: InputField, schema: InputSchema, resolved: dict[str, Any]) -> str | None:
    """The sentence for a date that is not after its ``after`` date, or not far enough after it; None when it is."""
    if field.after is None or resolved.get(field.name) is None or resolved.get(field.after) is None:
        return None
    earlier_field = schema.field(field.after)
    earlier = (_name(earlier_field) if earlier_field else field.after).lower()
    first, last = date.fromisoformat(str(resolved[field.after])), date.fromisoformat(str(resolved[field.name]))
    if last <= first:
        return f"{_name(field)} ({last.isoformat()}) must be after the {earlier} ({first.isoformat()})."
    span = field.min_span
    if span is None:
        return None
    length = span.value if span.value is not None else resolved.get(span.field or "")
    if not isinstance(length, (int, float)) or isinstance(length, bool) or length <= 0:
        return None
    needed_days = math.floor(length * DAYS_PER_UNIT[span.unit])
    days = (last - first).days
    if days >= needed_days:
        return None
    what = f"the window of {length:,g} {UNIT_WORDS[span.unit]}" if span.field else f"the {length:,g} {UNIT_WORDS[span.unit]} this model needs"
    way_out = f"pick an earlier {earlier} or a shorter window" if span.field else f"pick an earlier {earlier}"
    return f"From the {earlier} to the {_name(field).lower()} is {days:,} days, shorter than {what} (about {needed_days:,} days); {way_out}."


def resolve_inputs(schema: InputSchema, raw: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """Return every declared input with its value; raise ``InputInvalid`` naming each bad field.

    A missing input takes its default; an input given blank takes its default too, unless the field is
    ``required`` (a blank required symbol is an error, never silently the default symbol). Then the
    cross-field constraints (``after``, ``min_span``) are checked on the values.
    """
    today = today or date.today()
    errors: dict[str, str] = {}
    resolved: dict[str, Any] = {}
    for name in raw:
        if schema.field(name) is None:
            known = ", ".join(f.name for f in schema.fields) or "none"
            errors[name] = f"this model has no input '{name}' (its inputs: {known})."
    for field in schema.fields:
        value = raw.get(field.name)
        if field.required and field.name in raw and (value is None or _blank(value)):
            errors[field.name] = f"{_name(field)} is required."
            resolved[field.name] = None
            continue
        if value is None or (_blank(value) and field.type != "expiration"):
            value = field.default_value(today)
        if value is None:
            if field.required:
                errors[field.name] = f"{_name(field)} is required."
            resolved[field.name] = None
            continue
        try:
            resolved[field.name] = coerce(field, value, today)
        except ValueError as exc:
            errors[field.name] = f"{_name(field)}: {exc}."
    for field in schema.fields:
        if field.name not in errors:
            problem = _span_problem(field, schema, resolved)
            if problem:
                errors[field.name] = problem
    if errors:
        raise InputInvalid(errors)
    return resolved
