"""Pure Plotly figure builders over the stored output JSON shape (no Streamlit here).

A run's ``outputs.series`` is a list of entries ``{"id", "label", "color", "chart", "axis", "x", "y",
"column"?}``. ``figures_for(series)`` groups them into figures an analyst can read: one figure for
the series that share an x axis of dates, one for those over categories (strikes, tenors), and one
heatmap per heatmap output. Chart kinds ``line, bar, area, scatter, band, heatmap``, the left/right
axis and the colours are honoured; a ``band`` output of two or more columns is drawn as a shaded
region between its lowest and highest column.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from typing import Any

import plotly.graph_objects as go

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CHART_KINDS = ("line", "bar", "area", "scatter", "band", "heatmap")


@dataclass(frozen=True)
class Chart:
    """One figure to show, with a stable key and a title."""

    key: str
    title: str
    figure: go.Figure


def output_id(entry: dict[str, Any]) -> str:
    """The DSL output an entry came from (a frame output gives ``"out.column"`` ids)."""
    return str(entry.get("id", "")).split(".", 1)[0]


def is_date_axis(values: list[Any]) -> bool:
    """True when every non-null x value is an ISO date or datetime."""
    seen = False
    for value in values:
        if value is None:
            continue
        if not isinstance(value, str) or len(value) < 10:
            return False
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return False
        seen = True
    return seen


def plotly_text(text: object) -> str:
    """Text for a Plotly label, shown as written: Plotly reads ``<b>``, ``<br>`` and ``<a href>`` in
    names and titles, and labels come from model authors, so ``<``, ``>`` and ``&`` become entities."""
    return html.escape(str(text), quote=False)


def _name(entry: dict[str, Any]) -> str:
    return plotly_text(entry.get("label") or entry.get("id"))


def _with_alpha(color: str, alpha: float) -> str:
    """``#rrggbb`` -> ``rgba(r, g, b, alpha)``; other colour strings are returned unchanged."""
    text = color.strip()
    if text.startswith("#") and len(text) == 7:
        r, g, b = (int(text[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r}, {g}, {b}, {alpha})"
    return text


def _colour(entry: dict[str, Any], index: int) -> str:
    return entry.get("color") or PALETTE[index % len(PALETTE)]


def _trace(entry: dict[str, Any], colour: str, kind: str) -> go.BaseTraceType:
    """One trace for a line, bar, area or scatter entry."""
    common: dict[str, Any] = {
        "x": entry.get("x", []),
        "y": entry.get("y", []),
        "name": _name(entry),
        "yaxis": "y2" if entry.get("axis") == "right" else "y",
    }
    if kind == "bar":
        return go.Bar(marker_color=colour, **common)
    if kind == "scatter":
        return go.Scatter(mode="markers", marker={"color": colour, "size": 6}, **common)
    if kind == "area":
        return go.Scatter(mode="lines", line={"color": colour, "width": 1.5}, fill="tozeroy", fillcolor=_with_alpha(colour, 0.25), **common)
    return go.Scatter(mode="lines", line={"color": colour, "width": 2}, connectgaps=False, **common)


def _band_traces(entries: list[dict[str, Any]], colour: str) -> list[go.BaseTraceType]:
    """A shaded region between the band's columns; a lone band column is shaded down to zero."""
    if len(entries) == 1:
        return [_trace(entries[0], colour, "area")]
    traces: list[go.BaseTraceType] = []
    for i, entry in enumerate(entries):
        traces.append(
            go.Scatter(
                x=entry.get("x", []),
                y=entry.get("y", []),
                name=_name(entry),
                mode="lines",
                line={"color": colour, "width": 1, "dash": "dot"},
                fill="tonexty" if i > 0 else None,
                fillcolor=_with_alpha(colour, 0.18),
                yaxis="y2" if entry.get("axis") == "right" else "y",
            )
        )
    return traces


def heatmap_figure(entries: list[dict[str, Any]], title: str = "") -> go.Figure:
    """A heatmap whose rows are the entries (one per frame column) and columns the shared x values."""
    x = entries[0].get("x", []) if entries else []
    rows = [plotly_text(e.get("column") or e.get("label") or e.get("id")) for e in entries]
    z = [e.get("y", []) for e in entries]
    figure = go.Figure(
        go.Heatmap(z=z, x=[plotly_text(v) for v in x], y=rows, colorscale="RdBu", zmid=0, hoverongaps=False, texttemplate="%{z:.2f}")
    )
    figure.update_layout(title={"text": plotly_text(title)}, yaxis={"autorange": "reversed"})
    return _tidy(figure)


def _tidy(figure: go.Figure) -> go.Figure:
    titled = bool(figure.layout.title.text)
    figure.update_layout(
        template="plotly_white",
        margin={"l": 50, "r": 50, "t": 90 if titled else 40, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        hovermode="x unified",
        height=420,
    )
    return figure


def series_figure(entries: list[dict[str, Any]], title: str = "") -> go.Figure:
    """One figure over a shared x axis: lines, bars, areas, markers and bands, on a left and/or right axis."""
    figure = go.Figure()
    by_output: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_output.setdefault(output_id(entry), []).append(entry)
    colour_index = 0
    for group in by_output.values():
        kind = group[0].get("chart") or "line"
        if kind not in CHART_KINDS:
            raise ValueError(f"Chart kind '{kind}' is not one of {', '.join(CHART_KINDS)}.")
        if kind == "band":
            figure.add_traces(_band_traces(group, _colour(group[0], colour_index)))
            colour_index += 1
            continue
        for entry in group:
            figure.add_trace(_trace(entry, _colour(entry, colour_index), kind))
            colour_index += 1
    left = [e for e in entries if e.get("axis") != "right"]
    right = [e for e in entries if e.get("axis") == "right"]
    layout: dict[str, Any] = {"title": {"text": plotly_text(title)}, "barmode": "group"}
    if right:
        layout["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False, "title": {"text": plotly_text(_axis_title(right))}}
        layout["yaxis"] = {"title": {"text": plotly_text(_axis_title(left))}}
    if entries and not is_date_axis(entries[0].get("x", [])):
        layout["xaxis"] = {"type": "category"} if not _numeric(entries[0].get("x", [])) else {}
    figure.update_layout(**layout)
    return _tidy(figure)


def _axis_title(entries: list[dict[str, Any]]) -> str:
    labels = list(dict.fromkeys(str(e.get("label") or e.get("id")) for e in entries))
    return labels[0] if len(labels) == 1 else ""


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None)


def figures_for(series: list[dict[str, Any]]) -> list[Chart]:
    """Group a run's series entries into figures: dates together, categories together, heatmaps alone."""
    heatmaps: dict[str, list[dict[str, Any]]] = {}
    dated: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for entry in series:
        if entry.get("chart") == "heatmap":
            heatmaps.setdefault(output_id(entry), []).append(entry)
        elif is_date_axis(entry.get("x", [])):
            dated.append(entry)
        else:
            other.append(entry)
    charts: list[Chart] = []
    for group in (dated, other):
        if group:
            title = _axis_title(group) if len({output_id(e) for e in group}) == 1 else ""
            charts.append(Chart(f"chart-{output_id(group[0])}", title, series_figure(group, title)))
    for key, group in heatmaps.items():
        title = str(group[0].get("label", key)).split(" (")[0]
        charts.append(Chart(f"heatmap-{key}", title, heatmap_figure(group, title)))
    return charts


def context_figure(series: dict[str, dict[str, list[Any]]], units: dict[str, str], title: str = "") -> go.Figure:
    """Lab context chart: one line per series on its own dates; series whose units differ from the
    first one's go on the right axis (so percent and thousands of persons are both readable)."""
    first_units = units.get(next(iter(series), ""), "")
    entries = [
        {
            "id": f"ctx.{name}", "label": f"{name} ({units[name]})" if units.get(name) else name, "chart": "line",
            "axis": "right" if units.get(name, first_units) != first_units else "left", "x": points["x"], "y": points["y"],
        }
        for name, points in series.items()
    ]
    return series_figure(entries, title)


def smile_figure(calls: dict[str, list[Any]], puts: dict[str, list[Any]], spot: float | None, title: str = "") -> go.Figure:
    """An implied-volatility smile: call and put IV against strike, with the spot marked."""
    entries = [
        {"id": "calls", "label": "Calls IV", "chart": "scatter", "color": "#1f77b4", "x": calls.get("strike", []), "y": calls.get("iv", [])},
        {"id": "puts", "label": "Puts IV", "chart": "scatter", "color": "#d62728", "x": puts.get("strike", []), "y": puts.get("iv", [])},
    ]
    figure = series_figure(entries, title)
    figure.update_layout(xaxis={"title": {"text": "strike"}, "type": "linear"}, yaxis={"title": {"text": "implied volatility"}, "tickformat": ".0%"})
    if spot is not None:
        figure.add_vline(x=spot, line_dash="dash", line_color="#555", annotation_text=f"spot {spot:,.2f}")
    return figure
