"""CSV downloads of a run's tables and series (pure, no Streamlit).

Each file starts with ``#`` lines that say what it is (model, version, inputs, series ids, units,
as-of, provider), readable by ``pandas.read_csv(..., comment="#")`` and by a person opening it in a
spreadsheet. Values carry no float noise (rounded to the data's precision) and numbers stay numbers.
A text cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
return) is prefixed with ``'`` so it is shown, never run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from components.charts import axis_title, base_label, is_date_axis, value_format
from components.labels import clean_number, clean_numbers, is_fraction
from components.tables import is_record, table_frame
from services.csv_cells import safe_cell  # the cell rule, shared with the dashboards' CSVs

PROVIDER_NAMES = {"fred": "FRED", "polygon": "Polygon/Massive", "sample": "bundled sample"}


@dataclass(frozen=True)
class ResultMeta:
    """What a result belongs to, for file names and the metadata lines of downloads."""

    slug: str = ""
    name: str = ""
    version: int | None = None
    run_id: str | None = None


def _inputs_text(inputs: Mapping[str, Any]) -> str:
    return "; ".join(f"{k}={'' if v is None else v}" for k, v in inputs.items())


def _provider_text(provenance: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for p in provenance:
        name = PROVIDER_NAMES.get(str(p.get("provider")), str(p.get("provider")))
        vendor = (p.get("detail") or {}).get("vendor")
        text = f"{name} ({vendor})" if vendor and vendor != name else name
        parts.append(("live " if p.get("live") else "") + text)
    return "; ".join(dict.fromkeys(parts))


def metadata(result: Mapping[str, Any], meta: ResultMeta, units: str = "") -> list[tuple[str, str]]:
    """The ``(key, value)`` lines that head every CSV of this result."""
    provenance = [p for p in result.get("provenance") or [] if isinstance(p, Mapping)]
    series_ids = list(dict.fromkeys(str(p.get("symbol")) for p in provenance if p.get("symbol")))
    as_of = max((str(p.get("as_of") or "") for p in provenance), default="")
    lines = [
        ("model", f"{meta.name} ({meta.slug})" if meta.name and meta.slug else meta.name or meta.slug),
        ("version", "" if meta.version is None else str(meta.version)),
        ("run", meta.run_id or ""),
        ("inputs", _inputs_text(result.get("inputs") or {})),
        ("series ids", "; ".join(series_ids)),
        ("units", units),
        ("as of", as_of),
        ("provider", _provider_text(provenance)),
    ]
    return [(k, v) for k, v in lines if v]


def csv_bytes(frame: pd.DataFrame, lines: list[tuple[str, str]] | None = None) -> bytes:
    """The frame as CSV under its ``# key,value`` metadata lines, every text cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for key, value in lines or []:
        writer.writerow([f"# {key}", safe_cell(value)])
    writer.writerow([safe_cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow(["" if v is None or (isinstance(v, float) and v != v) else safe_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def _unit_words(name: str, spec: str | None, title: str) -> str:
    """``iv: fraction (0.124 = 12.4%)`` for values shown as percents, else ``name: axis title``."""
    if (spec or "").endswith("%"):
        return f"{name}: fraction (0.124 = 12.4%)"
    return f"{name}: {title}"


def series_frame(entry: Mapping[str, Any]) -> pd.DataFrame:
    """A stored series entry as a two-column DataFrame (the x column, then its values, rounded)."""
    x = list(entry.get("x") or [])
    x_name = "date" if is_date_axis(x) else str(entry.get("x_column") or "x")
    y_name = str(entry.get("column") or entry.get("id") or "value")
    return pd.DataFrame({x_name: x, y_name: clean_numbers(list(entry.get("y") or []))})


def series_csv(result: Mapping[str, Any], meta: ResultMeta, entry: Mapping[str, Any]) -> bytes:
    """One chart series with every point (not the thinned display), under the result's metadata."""
    frame = series_frame(entry)
    column = str(frame.columns[1])
    units = _unit_words(column, value_format(dict(entry)), axis_title([dict(entry)]) or base_label(dict(entry)))
    return csv_bytes(frame, metadata(result, meta, units))


def table_csv(result: Mapping[str, Any], meta: ResultMeta, table: Mapping[str, Any]) -> bytes:
    """One table with its own values (numbers as numbers, rounded), under the result's metadata."""
    frame = table_frame(table)
    if is_record(table):
        frame["value"] = [clean_number(v) for v in frame["value"]]
        fractions = [str(m) for m in frame["metric"] if is_fraction(m)]
        units = f"{', '.join(fractions)}: fraction (0.124 = 12.4%)" if fractions else ""
    else:
        for column in frame.columns:
            values = list(frame[column])
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None):
                frame[column] = pd.Series(clean_numbers([float(v) if isinstance(v, float) else v for v in values]), dtype=object)
        fractions = [str(c) for c in frame.columns if is_fraction(c)]
        units = f"{', '.join(fractions)}: fraction (0.124 = 12.4%)" if fractions else ""
    return csv_bytes(frame, metadata(result, meta, units))
