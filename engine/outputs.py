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

from contracts.dsl import LABEL_INPUT, MetricOutput, Outputs, SeriesOutput, TableOutput
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
_SECOND_NS = 10**9


def iso_dates(stamps: pd.DatetimeIndex) -> list[str | None]:
    """ISO text for many timestamps at once, exactly as ``json_value`` writes each one, without a Python
    call per element: dates at midnight as ``YYYY-MM-DD``, other times to the second with the zone's
    offset when they have one (``2026-07-28T10:10:00-04:00``). Sub-second stamps fall back to one call each."""
    if stamps.hasnans:
        return [json_value(ts) for ts in stamps]
    if stamps.tz is None and bool((stamps.asi8 % _DAY_NS == 0).all()):
        return np.datetime_as_string(stamps.to_numpy(dtype="datetime64[ns]"), unit="D").tolist()
    wall = stamps.tz_localize(None) if stamps.tz is not None else stamps
    if not bool((wall.asi8 % _SECOND_NS == 0).all()):
        return [json_value(ts) for ts in stamps]
    text = np.datetime_as_string(wall.to_numpy(dtype="datetime64[ns]"), unit="s")
    if stamps.tz is None:
        return text.tolist()
    offsets = (wall.asi8 - stamps.tz_convert("UTC").tz_localize(None).asi8) // _SECOND_NS
    labels: dict[int, str] = {}
    for seconds in np.unique(offsets).tolist():
        sign, rest = ("-" if seconds < 0 else "+"), abs(int(seconds))
        labels[seconds] = f"{sign}{rest // 3600:02d}:{rest % 3600 // 60:02d}"
    suffix = np.array([labels[o] for o in offsets.tolist()], dtype=object) if len(labels) > 1 else labels[next(iter(labels))]
    return (text.astype(object) + suffix).tolist()


def _axis_values(index: pd.Index) -> list[Any]:
    if isinstance(index, pd.DatetimeIndex):
        return iso_dates(index)
    return column_values(pd.Series(index))


def column_values(column: pd.Series) -> list[Any]:
    """One column as JSON values, converted in bulk by kind (numbers, dates, booleans), else cell by cell."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return column.astype(bool).tolist()
    if pd.api.types.is_integer_dtype(dtype):
        return column.astype("int64").tolist()
    if pd.api.types.is_float_dtype(dtype):
        return _numbers(column.to_numpy())
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return iso_dates(pd.DatetimeIndex(column))
    return [json_value(v) for v in column.tolist()]


def _numbers(values: Any) -> list[float | None]:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(array)
    if finite.all():
        return array.tolist()
    return [v if ok else None for v, ok in zip(array.tolist(), finite.tolist(), strict=True)]


def shade_spans(value: pd.Series) -> list[list[str]]:
    """The runs of non-zero values of a 0/1 series as half-open ``[start, end)`` ISO date pairs."""
    on = np.nan_to_num(value.to_numpy(dtype=float)) != 0
    if not on.any() or not isinstance(value.index, pd.DatetimeIndex):
        return []
    dates = value.index
    step = dates[-1] - dates[-2] if len(dates) > 1 else pd.Timedelta(days=1)
    after = dates[1:].append(pd.DatetimeIndex([dates[-1] + (pd.DateOffset(months=1) if step >= pd.Timedelta(days=28) else step)]))
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [[json_value(dates[a]), json_value(after[b])] for a, b in zip(starts, ends, strict=True)]


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
        entry = {**base, "x": _axis_values(value.index), "y": _numbers(value.to_numpy())}
        if spec.shade:
            entry.update(shade=True, spans=shade_spans(value))
        return [entry]
    if not isinstance(value, pd.DataFrame):
        raise OperationError(f"output '{spec.id}' needs a series or a frame, got {type(value).__name__}")
    frame = value
    if spec.x is not None:
        if spec.x not in frame.columns:
            raise OperationError(f"output '{spec.id}': the frame has no column '{spec.x}' (columns: {', '.join(map(str, frame.columns))})")
        x_values = column_values(frame[spec.x])
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
    cells = [column_values(frame[col]) for col in columns] if len(set(columns)) == len(columns) else [[json_value(v) for v in frame[columns].iloc[:, i]] for i in range(len(columns))]
    rows = [dict(zip(columns, row, strict=True)) for row in zip(*cells, strict=True)] if cells else [{} for _ in range(len(frame))]
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


def fill_label(label: str | None, inputs: dict[str, Any]) -> str | None:
    """A label with each ``{input_name}`` replaced by the run's value of that input (``{{`` is a brace)."""
    if label is None or "{" not in label:
        return label

    def value(match: Any) -> str:
        found = inputs.get(match.group(1))
        return "" if found is None else str(found.isoformat() if isinstance(found, (date, datetime)) else found)

    return LABEL_INPUT.sub(value, label).replace("{{", "{").replace("}}", "}")


def build_outputs(outputs: Outputs, values: dict[str, Any], inputs: dict[str, Any] | None = None, check: Any = None) -> dict[str, list[dict[str, Any]]]:
    """All outputs of a run, in the stored JSON shape; ``check()`` is called between items (the time budget)."""
    given = inputs or {}
    series: list[dict[str, Any]] = []
    for spec in outputs.series:
        if check is not None:
            check()
        series.extend(series_entries(spec.model_copy(update={"label": fill_label(spec.label, given)}), values[spec.source]))
    tables = []
    for spec in outputs.tables:
        if check is not None:
            check()
        tables.append(table_entry(spec.model_copy(update={"label": fill_label(spec.label, given)}), values[spec.source], spec.source))
    metrics = [metric_entry(spec.model_copy(update={"label": fill_label(spec.label, given)}), values[spec.source]) for spec in outputs.metrics]
    return {"series": series, "tables": tables, "metrics": metrics}


# Bytes one serialised value takes, at most in practice: a number with 17 digits and a sign, an ISO
# date or date-time with its offset, each with quotes and a comma. Text cells are measured.
_NUMBER_BYTES = 24
_DATE_BYTES = 30
_ENTRY_OVERHEAD = 200


def _cell_bytes(column: pd.Series) -> float:
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column.dtype):
        return _DATE_BYTES
    if pd.api.types.is_numeric_dtype(column.dtype):
        return _NUMBER_BYTES
    sample = column.iloc[:: max(1, len(column) // 200)]
    return float(sample.astype(str).str.len().mean() or 0) * 1.2 + 8 if len(sample) else 8


def estimate_bytes(outputs: Outputs, values: dict[str, Any]) -> dict[str, float]:
    """An upper estimate of each output's serialised size, from the values' shapes alone (nothing is built)."""
    sizes: dict[str, float] = {}
    for spec in outputs.series:
        value = values[spec.source]
        if isinstance(value, pd.Series):
            x = _DATE_BYTES if isinstance(value.index, pd.DatetimeIndex) else _cell_bytes(pd.Series(value.index))
            sizes[f"series '{spec.id}'"] = len(value) * (x + _NUMBER_BYTES) * (2 if spec.shade else 1) + _ENTRY_OVERHEAD
        elif isinstance(value, pd.DataFrame):
            x = _cell_bytes(value[spec.x]) if spec.x in value.columns else _DATE_BYTES
            wanted = spec.y_columns or [c for c in value.columns if c != spec.x and pd.api.types.is_numeric_dtype(value[c])]
            sizes[f"series '{spec.id}'"] = len(value) * len(wanted) * (x + _NUMBER_BYTES) + _ENTRY_OVERHEAD * len(wanted)
    for spec in outputs.tables:
        value = values[spec.source]
        if isinstance(value, pd.DataFrame):
            frame = value.reset_index() if isinstance(value.index, pd.DatetimeIndex) or value.index.name else value
            columns = [c for c in (spec.columns or list(frame.columns)) if c in frame.columns]
            per_row = sum(_cell_bytes(frame[c]) + len(str(c)) + 4 for c in columns)
            sizes[f"table '{spec.id}'"] = len(frame) * per_row + _ENTRY_OVERHEAD
        elif isinstance(value, pd.Series):
            sizes[f"table '{spec.id}'"] = len(value) * (_DATE_BYTES + _NUMBER_BYTES + 20) + _ENTRY_OVERHEAD
        else:
            sizes[f"table '{spec.id}'"] = (len(value) if isinstance(value, dict) else 1) * 80 + _ENTRY_OVERHEAD
    for spec in outputs.metrics:
        sizes[f"metric '{spec.id}'"] = _ENTRY_OVERHEAD + len(spec.label)
    return sizes
