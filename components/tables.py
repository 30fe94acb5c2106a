"""Stored tables as a reader sees them (pure pandas, no Streamlit): readable column labels, numbers
formatted with their units, empty cells empty, dates as dates.

A frame's columns keep their numbers (the view only formats them); a record shown as ``metric, value``
mixes kinds (a count, a date, a percent), so each of its values is formatted on its own row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from components.labels import clean_number, clean_numbers, default_format, display_decimals, format_number, is_date_text, readable

MAX_ROWS_SHOWN = 2_000  # a longer table is cut on screen (the CSV keeps every row)


@dataclass(frozen=True)
class TableView:
    """A table ready to show: the frame with readable column names and a Python format per numeric column."""

    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    rows: int = 0  # rows in the stored table (the frame may show fewer)


def is_record(table: Mapping[str, Any]) -> bool:
    """True for a record's fields shown as ``metric, value`` rows."""
    return list(table.get("columns") or [])[:2] == ["metric", "value"]


def _date_text(value: Any) -> Any:
    """``2026-05-08T00:00:00`` -> ``2026-05-08``; other values unchanged."""
    if is_date_text(value) and str(value)[10:] in ("", "T00:00:00", " 00:00:00"):
        return str(value)[:10]
    return value


def table_frame(table: Mapping[str, Any]) -> pd.DataFrame:
    """A stored table as a DataFrame with its columns in order and its own values (for downloads)."""
    columns = list(table.get("columns") or [])
    return pd.DataFrame(list(table.get("rows") or []), columns=columns or None)


def record_view(table: Mapping[str, Any]) -> TableView:
    """``metric, value`` rows: readable metric names and each value formatted by its field (a count as a
    whole number, a volatility as a percent, a date as a date, nothing shown for a missing value)."""
    declared = dict(table.get("formats") or {})
    rows = list(table.get("rows") or [])
    shown = []
    for row in rows:
        metric, value = row.get("metric"), row.get("value")
        spec = declared.get(str(metric)) or default_format(metric, [value])
        text = format_number(clean_number(value) if isinstance(value, float) else value, spec)
        shown.append({"Metric": readable(metric), "Value": _date_text(text)})
    return TableView(pd.DataFrame(shown, columns=["Metric", "Value"]), {}, len(rows))


def frame_view(table: Mapping[str, Any], max_rows: int = MAX_ROWS_SHOWN) -> TableView:
    """A frame's columns under readable names, numbers rounded to their precision and given a format."""
    declared = dict(table.get("formats") or {})
    frame = table_frame(table)
    total = len(frame)
    frame = frame.head(max_rows)
    out: dict[str, list[Any]] = {}
    formats: dict[str, str] = {}
    used: set[str] = set()
    for column in frame.columns:
        values = list(frame[column])
        label = readable(column)
        while label in used:
            label += " "
        used.add(label)
        numbers = [v for v in values if v is not None]
        if numbers and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
            out[label] = [float("nan") if v is None else v for v in clean_numbers([float(v) if isinstance(v, float) else v for v in values])]
            spec = declared.get(str(column)) or default_format(column, numbers)
            formats[label] = spec or _auto_spec(numbers)
        else:
            out[label] = ["" if v is None else _date_text(v) for v in values]
    return TableView(pd.DataFrame(out), formats, total)


def _auto_spec(numbers: list[Any]) -> str:
    """Enough decimals for the column's precision (at most six), thousands separated."""
    return f",.{display_decimals(numbers)}f"


def table_view(table: Mapping[str, Any], max_rows: int = MAX_ROWS_SHOWN) -> TableView:
    return record_view(table) if is_record(table) else frame_view(table, max_rows)


def styler_formats(view: TableView) -> dict[str, Any]:
    """Per column, a formatter for ``DataFrame.style.format``: missing numbers blank, the rest by their format."""
    def formatter(spec: str) -> Any:
        return lambda v: "" if v is None or (isinstance(v, float) and v != v) else format(v, spec)

    return {column: formatter(spec) for column, spec in view.formats.items()}
