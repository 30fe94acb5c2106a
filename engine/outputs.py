"""Turn step values into the JSON shape that runs and artifacts store and the app renders.

Series: ``{"id", "label", "color", "chart", "axis", "x": [...], "y": [...]}`` with ISO dates (or
categories such as strikes) in ``x`` and numbers or null in ``y``; a frame source gives one entry per
plotted column. Tables: ``{"id", "label", "columns", "rows": [{column: value}]}``. Metrics:
``{"id", "label", "value", "format", "text"}``. NaN and infinities become null, dates ISO strings.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from contracts.dsl import MetricOutput, Outputs, SeriesOutput, TableOutput
from contracts.errors import OperationError


def json_value(value: Any) -> Any:
    """One cell as JSON: None for NaN/inf/NaT, ISO text for dates, plain Python numbers."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        return value.date().isoformat() if value == value.normalize() and value.tzinfo is None else value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is pd.NaT:
        return None
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


_DAY_NS = 86_400 * 10**9


def _axis_values(index: pd.Index) -> list[Any]:
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is None and not index.hasnans and bool((index.asi8 % _DAY_NS == 0).all()):
            return np.datetime_as_string(index.to_numpy(dtype="datetime64[ns]"), unit="D").tolist()
        return [json_value(ts) for ts in index]
    return [json_value(v) for v in index]


def _numbers(values: Any) -> list[float | None]:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(array)
    if finite.all():
        return array.tolist()
    return [v if ok else None for v, ok in zip(array.tolist(), finite.tolist(), strict=True)]


def _display(spec: SeriesOutput) -> dict[str, Any]:
    """The display options an author declared (unit, format, x title, reference marks), passed to the app as written."""
    shown: dict[str, Any] = {}
    if spec.unit is not None:
        shown["unit"] = spec.unit
    if spec.format is not None:
        shown["format"] = spec.format
    if spec.x_title is not None:
        shown["x_title"] = spec.x_title
    if spec.reference:
        shown["reference"] = [mark.model_dump(exclude_none=True) for mark in spec.reference]
    return shown


def series_entries(spec: SeriesOutput, value: Any) -> list[dict[str, Any]]:
    """Chart entries for one ``outputs.series`` item."""
    base = {"id": spec.id, "label": spec.label, "color": spec.color, "chart": spec.chart, "axis": spec.axis, **_display(spec)}
    if isinstance(value, pd.Series):
        return [{**base, "x": _axis_values(value.index), "y": _numbers(value.to_numpy())}]
    if not isinstance(value, pd.DataFrame):
        raise OperationError(f"output '{spec.id}' needs a series or a frame, got {type(value).__name__}")
    frame = value
    if spec.x is not None:
        if spec.x not in frame.columns:
            raise OperationError(f"output '{spec.id}': the frame has no column '{spec.x}' (columns: {', '.join(map(str, frame.columns))})")
        x_values = [json_value(v) for v in frame[spec.x]]
    else:
        x_values = _axis_values(frame.index)
    wanted = spec.y_columns or [c for c in frame.columns if c != spec.x and pd.api.types.is_numeric_dtype(frame[c])]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise OperationError(f"output '{spec.id}': the frame has no column {', '.join(map(repr, missing))} (columns: {', '.join(map(str, frame.columns))})")
    entries = []
    for column in wanted:
        several = len(wanted) > 1
        entries.append({
            **base,
            "id": f"{spec.id}.{column}" if several else spec.id,
            "label": f"{spec.label} ({column})" if several else spec.label,
            "column": str(column),
            **({"x_column": str(spec.x)} if spec.x is not None else {}),
            "color": spec.color if not several else None,
            "x": x_values,
            "y": _numbers(frame[column].to_numpy()),
        })
    return entries


def table_entry(spec: TableOutput, value: Any, source_label: str) -> dict[str, Any]:
    """A table for one ``outputs.tables`` item."""
    if isinstance(value, dict):
        frame = pd.DataFrame({"metric": list(value.keys()), "value": list(value.values())})
    elif isinstance(value, float | int):
        frame = pd.DataFrame({"metric": [source_label], "value": [value]})
    elif isinstance(value, pd.Series):
        frame = pd.DataFrame({"date": value.index, "value": value.to_numpy()})
    elif isinstance(value, pd.DataFrame):
        frame = value
        if isinstance(frame.index, pd.DatetimeIndex) or frame.index.name:
            frame = frame.reset_index()
    else:
        raise OperationError(f"output '{spec.id}' cannot show a {type(value).__name__} as a table")
    columns = spec.columns or [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise OperationError(f"table '{spec.id}' asks for column {', '.join(map(repr, missing))}, which the data does not have (columns: {', '.join(map(str, frame.columns))})")
    rows = [{col: json_value(v) for col, v in zip(columns, row, strict=True)} for row in frame[columns].itertuples(index=False, name=None)]
    entry = {"id": spec.id, "label": spec.label or spec.id, "columns": columns, "rows": rows}
    if spec.formats:
        entry["formats"] = dict(spec.formats)
    return entry


def metric_entry(spec: MetricOutput, value: Any) -> dict[str, Any]:
    """A headline number for one ``outputs.metrics`` item."""
    if spec.field is not None:
        if not isinstance(value, dict):
            raise OperationError(f"metric '{spec.id}' names field '{spec.field}' but its source is not a record")
        if spec.field not in value:
            raise OperationError(f"metric '{spec.id}': the record has no field '{spec.field}' (fields: {', '.join(value)})")
        value = value[spec.field]
    number = json_value(value)
    text = format_metric(number, spec.format)
    return {"id": spec.id, "label": spec.label, "value": number, "format": spec.format, "text": text}


def format_metric(value: Any, spec: str | None) -> str:
    """Format a metric value for display ("n/a" when missing)."""
    if value is None:
        return "n/a"
    if isinstance(value, (int, float)) and spec:
        return format(value, spec)
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


def build_outputs(outputs: Outputs, values: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """All outputs of a run, in the stored JSON shape."""
    series: list[dict[str, Any]] = []
    for spec in outputs.series:
        series.extend(series_entries(spec, values[spec.source]))
    tables = [table_entry(spec, values[spec.source], spec.source) for spec in outputs.tables]
    metrics = [metric_entry(spec, values[spec.source]) for spec in outputs.metrics]
    return {"series": series, "tables": tables, "metrics": metrics}
