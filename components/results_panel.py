"""Render a run's stored result JSON: metrics, charts, tables, step trace, provenance and downloads.

Works from the stored shape only (``RunResult.to_json()``), so a fresh run, an old run from the
workspace and a published artifact render the same way without re-running anything.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from components.charts import figures_for, is_date_axis
from components.text import escape


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def table_frame(table: dict[str, Any]) -> pd.DataFrame:
    """A stored table as a DataFrame with its columns in order; a column mixing text and numbers becomes text."""
    columns = list(table.get("columns") or [])
    frame = pd.DataFrame(table.get("rows") or [], columns=columns or None)
    for column in frame.columns:
        kinds = {type(v) for v in frame[column] if v is not None}
        if len(kinds - {int, float}) and len(kinds) > 1:
            frame[column] = [_cell_text(v) for v in frame[column]]
    return frame


def series_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """A stored series entry as a two-column DataFrame (date or x, then its values)."""
    x = entry.get("x") or []
    x_name = "date" if is_date_axis(x) else "x"
    y_name = str(entry.get("column") or entry.get("id") or "value")
    return pd.DataFrame({x_name: x, y_name: entry.get("y") or []})


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


PROVIDER_NAMES = {"fred": "FRED", "polygon": "Polygon/Massive", "sample": "the bundled sample"}


def data_mode_text(provenance: list[dict[str, Any]]) -> str:
    """One line saying whether the data was live or the sample snapshot, whose it is, and as of when."""
    if not provenance:
        return "No external data was fetched."
    live = any(p.get("live") for p in provenance)
    as_of = max((str(p.get("as_of") or "") for p in provenance), default="")[:10]
    if live:
        names = sorted({PROVIDER_NAMES.get(str(p.get("provider")), str(p.get("provider"))) for p in provenance})
        source = f"Live data from {', '.join(names)}"
    else:
        vendors = sorted({str((p.get("detail") or {}).get("vendor") or "") for p in provenance} - {""})
        source = "Sample data (bundled snapshot" + (f" of {', '.join(vendors)} data)" if vendors else ")")
    return f"{source}, as of {as_of}." if as_of else f"{source}."


def provenance_frame(provenance: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [
        {
            "provider": p.get("provider"),
            "dataset": p.get("dataset"),
            "symbol or series": p.get("symbol"),
            "as of": p.get("as_of"),
            "live": "live" if p.get("live") else "sample",
            "cache hit": bool(p.get("cache_hit")),
            "vendor": (p.get("detail") or {}).get("vendor", ""),
            "warning": p.get("warning") or "",
        }
        for p in provenance
    ]
    return pd.DataFrame(rows)


def _metrics(metrics: list[dict[str, Any]]) -> None:
    if not metrics:
        return
    columns = st.columns(min(len(metrics), 4))
    for i, metric in enumerate(metrics):
        with columns[i % len(columns)]:
            st.metric(escape(metric.get("label") or metric.get("id")), metric.get("text") or "n/a")


def _downloads(result: dict[str, Any], key: str, filename: str) -> None:
    """CSV per table and per series, and the whole result as JSON; each file is built only when clicked."""
    outputs = result.get("outputs") or {}
    items: list[tuple[str, Callable[[], bytes], str, str]] = []
    for table in outputs.get("tables") or []:
        items.append((f"{table.get('id')}.csv", partial(_table_csv, table), "text/csv", f"Table: {table.get('label') or table.get('id')}"))
    for entry in outputs.get("series") or []:
        items.append((f"{entry.get('id')}.csv", partial(_series_csv, entry), "text/csv", f"Series: {entry.get('label') or entry.get('id')}"))
    items.append(("result.json", partial(result_json, result), "application/json", "The whole result (JSON)"))
    st.caption("Download the chart as PNG with the camera button in the chart's toolbar.")
    columns = st.columns(3)
    for i, (name, data, mime, label) in enumerate(items):
        with columns[i % 3]:
            st.download_button(
                escape(label), data=data, file_name=f"{filename}-{name}", mime=mime, key=f"{key}.download.{i}", on_click="ignore", width="stretch"
            )


def _table_csv(table: dict[str, Any]) -> bytes:
    return csv_bytes(table_frame(table))


def _series_csv(entry: dict[str, Any]) -> bytes:
    return csv_bytes(series_frame(entry))


def result_json(result: dict[str, Any]) -> bytes:
    """The whole stored result as strict, indented JSON."""
    return json.dumps(result, indent=2, allow_nan=False, default=str).encode("utf-8")


def results_panel(result: dict[str, Any], key: str, filename: str = "result") -> None:
    """Render a stored run result; ``key`` namespaces widgets so two results can share a page."""
    outputs = result.get("outputs") or {}
    for warning in result.get("warnings") or []:
        st.warning(str(warning))
    _metrics(outputs.get("metrics") or [])
    charts = figures_for(outputs.get("series") or [])
    for chart in charts:
        st.plotly_chart(
            chart.figure,
            key=f"{key}.{chart.key}",
            width="stretch",
            config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": f"{filename}-{chart.key}", "scale": 2}},
        )
    for table in outputs.get("tables") or []:
        st.markdown(f"**{escape(table.get('label') or table.get('id'))}**")
        st.dataframe(table_frame(table), hide_index=True, width="stretch", key=f"{key}.table.{table.get('id')}")
    if not charts and not outputs.get("tables") and not outputs.get("metrics"):
        st.info("This run produced no outputs to show; the model declares no series, tables or metrics.")
    provenance = result.get("provenance") or []
    st.caption(f"{data_mode_text(provenance)} Runtime {float(result.get('runtime_ms') or 0):,.0f} ms.")
    with st.expander("Step trace and data provenance"):
        trace = pd.DataFrame(result.get("trace") or [], columns=["step", "operation", "ms", "rows", "output"])
        st.dataframe(trace, hide_index=True, width="stretch", key=f"{key}.trace")
        if provenance:
            st.dataframe(provenance_frame(provenance), hide_index=True, width="stretch", key=f"{key}.provenance")
    with st.expander("Downloads"):
        _downloads(result, key, filename)
