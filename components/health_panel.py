"""The admin page's health (issue 13): the data providers' cache hits, misses, stale copies and failures, and the
failed runs per operation. Plotly figures are pure functions of a ``HealthReport``; ``health_panel`` shows them with
tables and CSV downloads."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.charts import count_axis, plotly_text
from components.plotly_view import show_chart
from components.text import escape, escape_table
from services.health import HealthReport

EVENT_LABELS = {"hit": "Served from the cache", "miss": "Fetched from the provider", "stale": "Stale copy served", "error": "Provider errors",
                "rate_limited": "Rate limited"}
EVENT_COLOURS = {"hit": "#aec7e8", "miss": "#1f77b4", "stale": "#ff7f0e", "error": "#d62728", "rate_limited": "#9467bd"}


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title=plotly_text(title), xaxis_title=x_title, yaxis_title=y_title, legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "l": 10, "r": 10, "b": 10}, meta="health",
    )
    return fig


def providers_figure(report: HealthReport) -> go.Figure:
    """Each event per day, all providers together (stacked bars, every day of the period), so a day of errors or
    stale copies stands out."""
    days = report.days()
    fig = go.Figure()
    for event, label in EVENT_LABELS.items():
        per_day = dict.fromkeys(days, 0)
        for row in report.daily():
            per_day[row["date"]] = per_day.get(row["date"], 0) + row[event]
        fig.add_trace(go.Bar(x=days, y=[per_day[d] for d in days], name=plotly_text(label), marker_color=EVENT_COLOURS[event]))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="date", tickformat="%Y-%m-%d")
    count_axis(fig, max((sum(row[e] for e in EVENT_LABELS) for row in report.daily()), default=0))
    return _layout(fig, f"Data provider calls per day since {report.since:%Y-%m-%d}", "Date (UTC)", "Calls")


def errors_figure(report: HealthReport) -> go.Figure:
    """Failed runs per operation (horizontal bars, the most failing on top), one colour per error code."""
    fig = go.Figure()
    operations = list(dict.fromkeys(e["operation"] for e in report.errors))[::-1]
    for code in dict.fromkeys(e["code"] for e in report.errors):
        counts = {e["operation"]: int(e["errors"]) for e in report.errors if e["code"] == code}
        fig.add_trace(go.Bar(y=[plotly_text(o) for o in operations], x=[counts.get(o, 0) for o in operations], name=plotly_text(code or "no code"),
                             orientation="h", showlegend=True))
    fig.update_layout(barmode="stack", height=220 + 36 * len(operations), legend_title_text="Error code")
    most = max((sum(int(e["errors"]) for e in report.errors if e["operation"] == o) for o in operations), default=0)
    count_axis(fig, most, axis="x")
    return _layout(fig, "Failed runs per operation", "Failed runs", "Operation")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def health_panel(report: HealthReport) -> None:
    """The providers' health (figure, table per provider, failures by code) and errors by operation, with CSV."""
    st.subheader("Data providers' health")
    providers = report.providers()
    if providers:
        show_chart(providers_figure(report), key="admin.health.providers")
        table = pd.DataFrame(
            [{"Provider": p["provider"], "Cache hits": p["hit"], "Fetches": p["miss"], "Hit share": _share(p["hit_share"]), "Stale copies served": p["stale"],
              "Errors": p["error"], "Rate limited": p["rate_limited"]} for p in providers]
        )
        st.table(escape_table(table)[0], hide_index=True)
        if report.failures():
            st.markdown("**Provider failures by error code**")
            failures = pd.DataFrame(report.failures(), columns=["provider", "event", "code", "count"])
            failures["event"] = failures["event"].map(lambda e: EVENT_LABELS.get(e, e))
            st.table(escape_table(failures.rename(columns={"provider": "Provider", "event": "Event", "code": "Error code", "count": "Calls"}))[0],
                     hide_index=True)
    else:
        st.caption("No data provider calls counted in this period yet.")
    st.download_button("Provider events (CSV)", report.events_csv(), file_name="provider-health.csv", mime="text/csv", key="admin.health.events_csv",
                       width="content")

    st.subheader("Errors by operation")
    if report.errors:
        show_chart(errors_figure(report), key="admin.health.errors")
        rows = [{**e, "last_at": str(e.get("last_at") or "")[:16].replace("T", " ")} for e in report.errors]  # to the minute, UTC
        errors = pd.DataFrame(rows, columns=["operation", "code", "errors", "last_at"])
        errors = errors.rename(columns={"operation": "Operation", "code": "Error code", "errors": "Failed runs", "last_at": "Last failure (UTC)"})
        st.table(escape_table(errors)[0], hide_index=True)
    else:
        st.caption("No failed runs in this period.")
    st.download_button("Errors by operation (CSV)", report.errors_csv(), file_name="errors-by-operation.csv", mime="text/csv",
                       key="admin.health.errors_csv", width="content")
    st.caption(escape(f"Since {report.since:%Y-%m-%d} (UTC). A run that failed before any step (invalid inputs, an invalid model) is counted "
                      "under its error code alone; the providers' counts reach the database about once a minute."))
