"""A model's usage for its owner (issue 13): Plotly figures built from a ``ModelDashboard`` (pure functions),
then the page piece that shows them with headline numbers, the top input values and CSV downloads."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.charts import count_axis, plotly_text
from components.plotly_view import show_chart
from components.text import escape, escape_table
from services.analytics import ModelDashboard


def _layout(fig: go.Figure, title: str, y_title: str) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title=plotly_text(title), xaxis_title="Date (UTC)", yaxis_title=y_title, legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "l": 10, "r": 10, "b": 10}, meta="usage",
    )
    return fig


def runs_figure(board: ModelDashboard) -> go.Figure:
    """Executed runs and cache hits per day (stacked bars) with unique users as a line."""
    days = [d["date"] for d in board.daily]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=days, y=[d["runs"] for d in board.daily], name="Runs", marker_color="#1f77b4"))
    fig.add_trace(go.Bar(x=days, y=[d["cache_hits"] for d in board.daily], name="Served from the cache", marker_color="#aec7e8"))
    fig.add_trace(go.Scatter(x=days, y=[d["unique_users"] for d in board.daily], name="Unique users", mode="lines+markers", line={"color": "#ff7f0e"}))
    fig.update_layout(barmode="stack")
    count_axis(fig, max((max(d["runs"] + d["cache_hits"], d["unique_users"]) for d in board.daily), default=0))
    return _layout(fig, f"Runs and unique users per day since {board.since:%Y-%m-%d}", "Count")


def rates_figure(board: ModelDashboard) -> go.Figure:
    """Cache-hit share and error rate per day (blank where nothing ran)."""
    days = [d["date"] for d in board.daily]
    served = [d["runs"] + d["cache_hits"] for d in board.daily]
    hit = [d["cache_hits"] / s if s else None for d, s in zip(board.daily, served, strict=True)]
    err = [d["errors"] / d["runs"] if d["runs"] else None for d in board.daily]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=days, y=hit, name="Cache-hit share", mode="lines+markers", connectgaps=False))
    fig.add_trace(go.Scatter(x=days, y=err, name="Error rate", mode="lines+markers", connectgaps=False, line={"color": "#d62728"}))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, "Cache-hit share and error rate per day", "Share")


def social_figure(board: ModelDashboard) -> go.Figure:
    """Saves, forks and ratings per day."""
    days = [d["date"] for d in board.daily]
    fig = go.Figure()
    for column, label, colour in (("saves", "Saves", "#2ca02c"), ("forks", "Forks", "#9467bd"), ("ratings", "Ratings", "#8c564b")):
        fig.add_trace(go.Bar(x=days, y=[d[column] for d in board.daily], name=label, marker_color=colour))
    count_axis(fig, max((max(d["saves"], d["forks"], d["ratings"]) for d in board.daily), default=0))
    return _layout(fig, "Saves, forks and ratings per day", "Count")


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def usage_dashboard(board: ModelDashboard) -> None:
    """Headline numbers, three charts, the top input values and CSV downloads."""
    columns = st.columns(5)
    columns[0].metric("Runs", f"{board.total('runs'):,}")
    columns[1].metric("Cache-hit share", _share(board.cache_hit_share))
    columns[2].metric("Error rate", _share(board.error_rate))
    columns[3].metric("Runtime p50", _ms(board.runtime_p50_ms))
    columns[4].metric("Runtime p95", _ms(board.runtime_p95_ms))
    peak = max((d["unique_users"] for d in board.daily), default=0)
    st.caption(escape(f"Unique users are counted per day (the most in one day: {peak}). Runtimes are of {board.runtime_runs:,} executed successful runs."))
    show_chart(runs_figure(board), key=f"usage.{board.slug}.runs")
    show_chart(rates_figure(board), key=f"usage.{board.slug}.rates")
    show_chart(social_figure(board), key=f"usage.{board.slug}.social")
    st.subheader("Most used input values")
    if board.top_inputs:
        inputs = pd.DataFrame(board.top_inputs, columns=["name", "value", "runs"])
        st.table(escape_table(inputs.rename(columns={"name": "Input", "value": "Value", "runs": "Runs"}))[0], hide_index=True)
    else:
        st.caption("No runs in this period yet.")
    row = st.container(horizontal=True, gap="small")
    with row:
        st.download_button("Daily usage (CSV)", board.daily_csv(), file_name=f"{board.slug}-usage.csv", mime="text/csv", key=f"usage.{board.slug}.csv", width="content")
        st.download_button("Input values (CSV)", board.inputs_csv(), file_name=f"{board.slug}-inputs.csv", mime="text/csv", key=f"usage.{board.slug}.inputs_csv",
                           width="content")
    st.caption(f"Usage of {escape(board.name)}.")
