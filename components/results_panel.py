"""Render a run's stored result JSON: metrics, charts, tables, step trace, provenance and downloads.

Works from the stored shape only (``RunResult.to_json()``), so a fresh run, an old run from the
workspace and a published artifact render the same way without re-running anything.

Speed: a result never changes once stored, so its figures are built once per run (``st.cache_resource``
keyed by the run id or artifact slug) and every later rerun only sends them; the panel is a fragment,
so its own widgets (the download picker) rerun the panel alone, not the page. The step trace and the
downloads are drawn only once their expander is opened: a page that opens on a result (an artifact
link, a run) paints its charts without waiting for their tables' and widgets' scripts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from components.charts import Chart, context_from_result, figures_for
from components.downloads import ResultMeta, series_csv, table_csv
from components.plotly_view import show_chart
from components.tables import MAX_ROWS_SHOWN, styler_formats, table_view
from components.text import escape, escape_table

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
            "Provider": p.get("provider"),
            "Dataset": p.get("dataset"),
            "Symbol or series": p.get("symbol"),
            "As of": str(p.get("as_of") or "")[:19].replace("T", " "),
            "Live": "live" if p.get("live") else "sample",
            "Cache hit": "yes" if p.get("cache_hit") else "no",
            "Vendor": (p.get("detail") or {}).get("vendor", ""),
            "Warning": p.get("warning") or "",
        }
        for p in provenance
    ]
    return pd.DataFrame(rows)


def trace_frame(trace: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(trace or [], columns=["step", "operation", "ms", "rows", "output"])
    return frame.rename(columns={"step": "Step", "operation": "Operation", "ms": "Milliseconds", "rows": "Rows", "output": "Output"})


def result_json(result: dict[str, Any]) -> bytes:
    """The whole stored result as strict, indented JSON."""
    return json.dumps(result, indent=2, allow_nan=False, default=str).encode("utf-8")


@st.cache_resource(max_entries=256, show_spinner=False)
def _cached_charts(cache_key: str, _result: dict[str, Any], name: str) -> list[Chart]:
    """Figures of a stored result, built once per run id (or artifact slug): results never change."""
    return _build_charts(_result, name)


def _build_charts(result: dict[str, Any], name: str) -> list[Chart]:
    return figures_for((result.get("outputs") or {}).get("series") or [], context_from_result(result, name))


def result_charts(result: dict[str, Any], meta: ResultMeta, cache_key: str | None = None) -> list[Chart]:
    """The result's figures, from the per-run cache when the result has a stable id."""
    if cache_key:
        return _cached_charts(cache_key, result, meta.name)
    return _build_charts(result, meta.name)


def _metrics(metrics: list[dict[str, Any]]) -> None:
    if not metrics:
        return
    columns = st.columns(min(len(metrics), 4))
    for i, metric in enumerate(metrics):
        with columns[i % len(columns)]:
            st.metric(escape(metric.get("label") or metric.get("id")), metric.get("text") or "n/a")


def show_table(table: dict[str, Any]) -> None:
    """A stored table with readable labels, formatted numbers and blank empty cells."""
    view = table_view(table)
    height: int | str = "content" if len(view.frame) <= 15 else 420
    frame, formats = escape_table(view.frame, styler_formats(view))
    st.table(frame.style.format(formats, na_rep=""), hide_index=True, height=height)
    if view.rows > len(view.frame):
        st.caption(f"The first {MAX_ROWS_SHOWN:,} of {view.rows:,} rows; the CSV download has them all.")


def _download_items(result: dict[str, Any], meta: ResultMeta) -> list[tuple[str, str, Callable[[], bytes], str]]:
    """``(label, file suffix, builder, mime)`` for each table, each series and the whole result."""
    outputs = result.get("outputs") or {}
    items: list[tuple[str, str, Callable[[], bytes], str]] = []
    for table in outputs.get("tables") or []:
        items.append((f"Table: {table.get('label') or table.get('id')} (CSV)", f"{table.get('id')}.csv", partial(table_csv, result, meta, table), "text/csv"))
    for entry in outputs.get("series") or []:
        items.append((f"Series: {entry.get('label') or entry.get('id')} (CSV)", f"{entry.get('id')}.csv", partial(series_csv, result, meta, entry), "text/csv"))
    items.append(("The whole result (JSON)", "result.json", partial(result_json, result), "application/json"))
    return items


def _downloads(result: dict[str, Any], key: str, filename: str, meta: ResultMeta) -> None:
    """Pick a file, then download it (built only when clicked): every table and series as CSV with its
    metadata, and the whole result as JSON."""
    items = _download_items(result, meta)
    labels = [item[0] for item in items]
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):  # the button keeps its label at any width
        chosen = st.selectbox("File", range(len(items)), format_func=lambda i: labels[i], key=f"{key}.download.pick", width="stretch")
        _, suffix, data, mime = items[chosen or 0]
        st.download_button("Download", data=data, file_name=f"{filename}-{suffix}", mime=mime, key=f"{key}.download", on_click="ignore", icon=":material/download:", width="content")
    st.caption("CSV files start with lines beginning with # that say which model, inputs, units and data they come from; charts download as PNG from the camera button in their toolbar.")


@st.fragment
def results_panel(result: dict[str, Any], key: str, filename: str = "result", meta: ResultMeta | None = None, cache_key: str | None = None) -> None:
    """Render a stored run result; ``key`` namespaces widgets so two results can share a page."""
    meta = meta or ResultMeta()
    outputs = result.get("outputs") or {}
    for warning in result.get("warnings") or []:
        st.warning(escape(warning))
    _metrics(outputs.get("metrics") or [])
    charts = result_charts(result, meta, cache_key)
    for chart in charts:
        config = {"toImageButtonOptions": {"format": "png", "filename": f"{filename}-{chart.key}", "scale": 2}}
        show_chart(chart.figure, key=f"{key}.{chart.key}", config=config)
    for table in outputs.get("tables") or []:
        st.markdown(f"**{escape(table.get('label') or table.get('id'))}**")
        show_table(table)
    if not charts and not outputs.get("tables") and not outputs.get("metrics"):
        st.info("This run produced no outputs to show; the model declares no series, tables or metrics.")
    provenance = result.get("provenance") or []
    st.caption(escape(f"{data_mode_text(provenance)} Runtime {float(result.get('runtime_ms') or 0):,.0f} ms."))
    # Drawn only when opened (the panel alone reruns): their tables and widgets stay out of the first paint.
    trace = st.expander("Step trace and data provenance", key=f"{key}.trace.open", on_change="rerun")
    if trace.open:
        with trace:  # static tables: no data-grid script to load for a results page
            frame, formats = escape_table(trace_frame(result.get("trace") or []), {"Milliseconds": "{:,.1f}", "Rows": "{:,.0f}"})
            st.table(frame.style.format(formats), hide_index=True)
            if provenance:
                st.table(escape_table(provenance_frame(provenance))[0], hide_index=True)
    downloads = st.expander("Downloads", key=f"{key}.downloads.open", on_change="rerun")
    if downloads.open:
        with downloads:
            _downloads(result, key, filename, meta)
