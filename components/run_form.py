"""The run form: one widget per input-schema field, prefilled from query parameters or lab context.

Widget keys are namespaced ``f"{slug}.{field}"`` so several models' forms can share a page. Values
are kept in ``st.session_state`` under those keys; a new prefill (a changed query string or lab
context) overwrites them, so the labs can push their context into every model's form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import streamlit as st

from components.text import escape
from contracts.dsl import InputField, InputSchema
from contracts.errors import InputInvalid
from contracts.inputs import coerce, resolve_inputs

# Query parameters that carry run inputs across pages and shared links (DESIGN.md section 2).
CANONICAL_PARAMS = ("symbol", "expiration", "spot_price", "start", "end", "series_id", "series_ids")
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def parse_schema(schema: InputSchema | Mapping[str, Any] | None) -> InputSchema:
    """Accept a stored schema dict, an ``InputSchema`` or nothing."""
    if isinstance(schema, InputSchema):
        return schema
    return InputSchema.model_validate(dict(schema or {"fields": []}))


def prefill_from_query(query: Mapping[str, Any], schema: InputSchema) -> dict[str, Any]:
    """The query parameters that name one of the model's fields (canonical names or the field's own)."""
    names = {f.name for f in schema.fields}
    picked: dict[str, Any] = {}
    for name in names:
        if name in query and query[name] not in (None, ""):
            value = query[name]
            picked[name] = value[-1] if isinstance(value, list) else value
    return picked


def context_query(context: Mapping[str, Any]) -> dict[str, str]:
    """Lab context (start, end, series, symbol, expiration, spot) as canonical query parameters."""
    series = list(context.get("series") or [])
    mapping = {
        "start": context.get("start"),
        "end": context.get("end"),
        "symbol": context.get("symbol"),
        "expiration": context.get("expiration"),
        "spot_price": context.get("spot_price"),
        "series_id": series[0] if series else None,
        "series_ids": ",".join(series) if series else None,
    }
    return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in mapping.items() if v is not None and v != ""}


def prefill_from_context(context: Mapping[str, Any], schema: InputSchema) -> dict[str, Any]:
    """The lab context mapped onto the model's canonical fields."""
    return prefill_from_query(context_query(context), schema)


def widget_value(field: InputField, raw: Any, today: date) -> Any:
    """A raw value (query string, context, default) as the value its widget holds; raise ValueError if unusable."""
    if raw is None:
        if field.type == "boolean":
            return False
        if field.type == "date":
            return today
        if field.type in ("number", "integer"):
            return None
        if field.type == "enum":
            return (field.options or [None])[0]
        return ""
    value = coerce(field, raw, today)
    if field.type == "date":
        return date.fromisoformat(value)
    if field.type == "expiration":
        return "" if value is None else value
    if field.type in ("number", "integer", "boolean", "enum"):
        return value
    return str(value)


def form_value(field: InputField, value: Any) -> Any:
    """A widget's value as a run input: dates as ISO text, text trimmed (a blank stays blank, so a required
    field left empty is reported instead of quietly taking its default)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return value


def form_values(slug: str, schema: InputSchema) -> dict[str, Any]:
    """The form's current values as run inputs (read from the widgets' session state)."""
    return {f.name: form_value(f, st.session_state.get(f"{slug}.{f.name}")) for f in schema.fields}


def check_inputs(schema: InputSchema, values: Mapping[str, Any], today: date | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """``(canonical inputs, per-field sentences)``: the schema's own checks (types, bounds, required, a date
    after another, a long enough span), run in the form before anything is spent."""
    try:
        return resolve_inputs(schema, dict(values), today), {}
    except InputInvalid as exc:
        return {}, dict(exc.fields)


def _label(field: InputField) -> str:
    return field.label or field.name.replace("_", " ").capitalize()


def _help(field: InputField) -> str | None:
    extra = {
        "symbol": "A ticker such as SPY or AAPL.",
        "series_id": "A FRED series id such as DGS10.",
        "expiration": "YYYY-MM-DD, or leave blank for the nearest expiration.",
        "date": "YYYY-MM-DD.",
    }.get(field.type)
    parts = [p for p in (field.help, extra) if p]
    return " ".join(parts) or None


def _widget(field: InputField, key: str) -> None:
    label, help_text = _label(field), _help(field)
    kind = field.type
    if kind == "boolean":
        st.checkbox(escape(label) + (" *" if field.required else ""), key=key, help=escape(help_text) if help_text else None)
    elif kind == "date":
        st.date_input(escape(label) + (" *" if field.required else ""), key=key, help=escape(help_text) if help_text else None, min_value=EARLIEST_DATE, max_value=LATEST_DATE, format="YYYY-MM-DD")
    elif kind == "enum":
        st.selectbox(escape(label) + (" *" if field.required else ""), options=field.options or [], key=key, help=escape(help_text) if help_text else None)
    elif kind == "integer":
        bounds = {k: int(v) for k, v in (("min_value", field.min), ("max_value", field.max)) if v is not None}
        st.number_input(escape(label) + (" *" if field.required else ""), key=key, help=escape(help_text) if help_text else None, step=1, **bounds)
    elif kind == "number":
        bounds = {k: float(v) for k, v in (("min_value", field.min), ("max_value", field.max)) if v is not None}
        st.number_input(escape(label) + (" *" if field.required else ""), key=key, help=escape(help_text) if help_text else None, format="%.8g", **bounds)
    else:
        placeholder = {"expiration": "nearest", "symbol": "a ticker, e.g. SPY", "series_id": "a FRED id, e.g. DGS10"}.get(kind)
        st.text_input(escape(label) + (" *" if field.required else ""), key=key, help=escape(help_text) if help_text else None, placeholder=placeholder)


def _signature(prefill: Mapping[str, Any]) -> str:
    return repr(sorted((k, str(v)) for k, v in prefill.items()))


def remember_prefill(slug: str, prefill: Mapping[str, Any]) -> None:
    """Record ``prefill`` as already in the form (the page wrote the form's own values to its address),
    so the next rerun does not push it over what the user typed since."""
    st.session_state[f"{slug}.__prefill"] = _signature(prefill)


def seed_state(slug: str, schema: InputSchema, prefill: Mapping[str, Any], today: date | None = None) -> dict[str, str]:
    """Put defaults and prefill into the form's session state once per distinct prefill; return prefill problems."""
    today = today or date.today()
    marker = f"{slug}.__prefill"
    signature = _signature(prefill)
    fresh = st.session_state.get(marker) != signature
    problems: dict[str, str] = {}
    for field in schema.fields:
        key = f"{slug}.{field.name}"
        if key in st.session_state and not (fresh and field.name in prefill):
            continue
        raw = prefill.get(field.name, field.default_value(today))
        try:
            value = widget_value(field, raw, today)
        except ValueError as exc:
            problems[field.name] = f"{field.label or field.name}: {exc} (the default is shown)."
            value = widget_value(field, field.default_value(today), today)
        if field.type == "number" and value is not None:
            value = float(value)
        st.session_state[key] = value
    st.session_state[marker] = signature
    return problems


def run_form(
    slug: str,
    schema: InputSchema | Mapping[str, Any] | None,
    prefill: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    submit_label: str = "Run model",
    disabled: bool = False,
    seed: bool = True,
) -> dict[str, Any] | None:
    """Render the form; return the raw inputs when it is submitted, else ``None``. With ``seed=False`` the
    caller has already put defaults and prefill into the form's state (``seed_state``) and passes the
    prefill problems among ``errors``."""
    parsed = parse_schema(schema)
    problems = seed_state(slug, parsed, prefill or {}) if seed else {}
    messages = {**problems, **dict(errors or {})}
    with st.form(key=f"{slug}.form", border=True):
        columns = st.columns(2) if len(parsed.fields) > 1 else [st.container()]
        for i, field in enumerate(parsed.fields):
            with columns[i % len(columns)]:
                _widget(field, f"{slug}.{field.name}")
                if field.name in messages:
                    st.error(escape(messages[field.name]))
        if not parsed.fields:
            st.caption("This model takes no inputs.")
        unknown = {k: v for k, v in (errors or {}).items() if parsed.field(k) is None}
        for message in unknown.values():
            st.error(escape(message))
        submitted = st.form_submit_button(escape(submit_label), type="primary", disabled=disabled, key=f"{slug}.run")
    if not submitted:
        return None
    return form_values(slug, parsed)
