"""Pure Plotly figure builders over the stored output JSON shape (no Streamlit here).

A run's ``outputs.series`` is a list of entries ``{"id", "label", "color", "chart", "axis", "x", "y",
"column"?, "x_column"?, "unit"?, "format"?, "x_title"?, "reference"?}``. ``figures_for(series, context)``
groups them into figures an analyst can read: one figure for the series that share an x axis of dates,
one for those over categories (strikes, tenors), and one heatmap per heatmap output.

Every figure says what it shows: a title naming the model's output, the symbol or series and the data's
as-of date; axis titles with units; a zero line where values change sign; percents where the values are
fractions (implied volatility is shown in percent everywhere); a legend only when there is more than one
trace. Reference marks are the author's (``reference``: lines and shaded ranges at constants or at the
run's metrics) plus the ones the output data allows on a strike axis (spot, the expected move's range,
the zero-gamma level, max pain). Quantile columns (``min, p25, median, p75, max``) are drawn as nested
shaded bands with today's value on top (a volatility cone). Long series are thinned for display (the
downloads keep every point) and drawn with WebGL past a few thousand points.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import plotly.graph_objects as go

from components.labels import clean_numbers, default_format, is_fraction, readable
from contracts.dsl import COLOUR_PATTERN

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CHART_KINDS = ("line", "bar", "area", "scatter", "band", "heatmap")
DISPLAY_POINTS = 2_000  # per trace; more are thinned to each bucket's low and high (downloads keep them all)
WEBGL_POINTS = 1_500  # series with more points than this are drawn with WebGL (scattergl), fills excepted
CALL_STYLE = {"color": "#1f77b4", "symbol": "circle"}
PUT_STYLE = {"color": "#d62728", "symbol": "triangle-down"}
MARK_COLOUR = "#444"
SHADE_FILL = "rgba(127, 127, 127, 0.2)"  # shaded spans (NBER recessions): grey, light enough that every line stays readable
SHADE_LABEL = "NBER recession"
RANGE_COLOUR = "rgba(255, 127, 14, 0.12)"
QUANTILES = {"min": 0.0, "p5": 5.0, "p10": 10.0, "p25": 25.0, "median": 50.0, "p50": 50.0, "p75": 75.0, "p90": 90.0, "p95": 95.0, "max": 100.0}
UNIT_TITLES = {"%": "Percent", "pp": "Percentage points", "$": "US dollars", "% y/y": "Percent, year over year", "vol pts": "Volatility points"}
SIGNED_WORDS = re.compile(r"(spread| - |minus|z-score|change|gap|premium|drawdown|net |skew|\bpp\b|vs )", re.IGNORECASE)
# Values a run's output data may hold that mark a strike axis: name -> (label, kind).
STRIKE_MARKS = (("spot", "Spot"), ("zero_gamma_strike", "Zero gamma"), ("max_pain_strike", "Max pain"))
SPOT_NAMES = ("spot", "spot_price", "underlying_price")


@dataclass(frozen=True)
class Chart:
    """One figure to show, with a stable key and a title."""

    key: str
    title: str
    figure: go.Figure


@dataclass(frozen=True)
class ChartContext:
    """What the titles and marks need beyond the series: the model's name, the symbol or series shown,
    the data's as-of date, and named values of the run (metric ids and record fields such as ``spot``)."""

    name: str = ""
    subject: str = ""
    as_of: str = ""
    values: Mapping[str, float] = field(default_factory=dict)


def output_id(entry: dict[str, Any]) -> str:
    """The DSL output an entry came from (a frame output gives ``"out.column"`` ids)."""
    return str(entry.get("id", "")).split(".", 1)[0]


def is_date_axis(values: Sequence[Any]) -> bool:
    """True when the x values are ISO dates or datetimes (every one is text; the first and last 50 parse)."""
    present = [v for v in values if v is not None]
    if not present or not all(isinstance(v, str) for v in present):
        return False
    for value in present[:50] + present[-50:]:
        if len(value) < 10:
            return False
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return False
    return True


def plotly_text(text: object) -> str:
    """Text for a Plotly label, shown as written: Plotly reads ``<b>``, ``<br>`` and ``<a href>`` in
    names and titles, and labels come from model authors, so ``<``, ``>`` and ``&`` become entities."""
    return html.escape(str(text), quote=False)


def count_axis(fig: go.Figure, most: float, axis: str = "y") -> go.Figure:
    """An axis of counts: from zero, whole numbers only (a tick every 1 up to 10), and 0 to 1 when every count is 0
    (instead of Plotly's -1 to 1, which would show negative counts)."""
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(rangemode="tozero", tickformat=",d", **({"dtick": 1} if most <= 10 else {}), **({"range": [0, 1]} if most <= 0 else {}))
    return fig


# ----------------------------------------------------------------------------------------------
# What the run's result says about its charts
# ----------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def context_from_result(result: Mapping[str, Any], name: str = "") -> ChartContext:
    """Titles and marks from a stored result: the symbol (or series ids), the newest as-of date, and the
    run's named numbers (metrics by id, fields of metric/value tables, spot from a smile's moneyness)."""
    outputs = result.get("outputs") or {}
    inputs = result.get("inputs") or {}
    provenance = result.get("provenance") or []
    symbols = list(dict.fromkeys(str(p.get("symbol")) for p in provenance if p.get("symbol") and p.get("dataset") != "fred_search"))
    symbol = inputs.get("symbol")
    if symbol:
        subject = str(symbol)
    elif len(symbols) > 6:
        subject = ", ".join(symbols[:5]) + f" and {len(symbols) - 5} more"
    else:
        subject = ", ".join(symbols)
    expiration = inputs.get("expiration")
    if expiration:
        subject += f" {expiration} expiry"
    as_of = max((str(p.get("as_of") or "")[:10] for p in provenance), default="")
    values: dict[str, float] = {}
    for table in outputs.get("tables") or []:
        columns = table.get("columns") or []
        rows = table.get("rows") or []
        if columns[:2] == ["metric", "value"]:
            for row in rows:
                number = _number(row.get("value"))
                if number is not None and row.get("metric"):
                    values.setdefault(str(row["metric"]), number)
        elif "strike" in columns and "moneyness" in columns:
            ratios = [r["strike"] / r["moneyness"] for r in rows if _number(r.get("strike")) and _number(r.get("moneyness"))]
            if ratios:
                values.setdefault("spot", float(np.median(ratios)))
    for metric in outputs.get("metrics") or []:
        number = _number(metric.get("value"))
        if number is not None and metric.get("id"):
            values[str(metric["id"])] = number
    return ChartContext(name=name, subject=subject, as_of=as_of, values=values)


TITLE_SEPARATOR = " · "
SUBTITLE_OPEN, SUBTITLE_CLOSE = "<br><span style='font-size:12px;color:#555'>", "</span>"
TITLE_ONE_LINE = 60  # characters; a longer title puts what is shown on its own line, the rest under it


def title_markup(title: str) -> str:
    """A chart title for Plotly: every part escaped (labels are authors' text); a long one on two lines so
    it is not cut on a narrow screen (what is shown, then symbol or series, period and as-of, smaller)."""
    parts = title.split(TITLE_SEPARATOR)
    if len(title) <= TITLE_ONE_LINE or len(parts) == 1:
        return plotly_text(title)
    return plotly_text(parts[0]) + SUBTITLE_OPEN + plotly_text(TITLE_SEPARATOR.join(parts[1:])) + SUBTITLE_CLOSE


def chart_title(what: str, context: ChartContext | None = None, period: str = "") -> str:
    """``what · subject · period · as of date`` with the parts that are known."""
    parts = [what] if what else []
    if context and context.subject:
        parts.append(context.subject)
    if period:
        parts.append(period)
    if context and context.as_of:
        parts.append(f"as of {context.as_of}")
    return TITLE_SEPARATOR.join(parts)


# ----------------------------------------------------------------------------------------------
# Labels and axes
# ----------------------------------------------------------------------------------------------


def base_label(entry: dict[str, Any]) -> str:
    """The output's label without the column suffix a frame output adds (``"IV by side (call_iv)"`` -> ``"IV by side"``)."""
    label = str(entry.get("label") or entry.get("id") or "")
    column = entry.get("column")
    suffix = f" ({column})"
    return label[: -len(suffix)] if column and label.endswith(suffix) and label != suffix else label


def trace_name(entry: dict[str, Any], several: bool) -> str:
    """A legend name: the label, or for one column of several, the label and the column read as words."""
    column = entry.get("column")
    if several and column:
        side = _side(entry)
        part = {"call": "calls", "put": "puts"}.get(side or "", readable(column).lower())
        return f"{base_label(entry)}: {part}"
    return str(entry.get("label") or entry.get("id") or "")


def _unit_of(label: str) -> str | None:
    """The unit a label states at its end: ``"HY OAS (%)"`` -> ``%``; ``"CPI, % y/y"`` -> ``% y/y``."""
    match = re.search(r"\(([^()]*)\)\s*$", label)
    if match:
        return match.group(1).split(",")[-1].strip()
    match = re.search(r",\s*([^,]*%[^,]*)$", label)
    return match.group(1).strip() if match else None


def axis_title(entries: Sequence[dict[str, Any]]) -> str:
    """A y axis's title: the declared unit, the one label, or the unit the labels share (else the labels)."""
    declared = list(dict.fromkeys(str(e["unit"]) for e in entries if e.get("unit")))
    if len(declared) == 1:
        return UNIT_TITLES.get(declared[0], declared[0])
    names = [str(e.get("column") or output_id(e)) for e in entries]
    if names and all(is_fraction(n) and ("iv" in n or "vol" in n) for n in names) and len({base_label(e) for e in entries}) > 1:
        return "Implied volatility"
    labels = list(dict.fromkeys(base_label(e) for e in entries))
    if len(labels) == 1:
        return labels[0]
    units = {_unit_of(label) for label in labels}
    if len(units) == 1 and None not in units:
        unit = units.pop() or ""
        return UNIT_TITLES.get(unit, unit)
    joined = " / ".join(labels)
    return joined if len(joined) <= 70 else labels[0] + " / …"


def x_title(entries: Sequence[dict[str, Any]]) -> str:
    """The x axis's title: the declared one, "Date" for dates, else the x column read as words."""
    first = entries[0] if entries else {}
    if first.get("x_title"):
        return str(first["x_title"])
    if is_date_axis(first.get("x") or []):
        return "Date"
    column = first.get("x_column")
    if column:
        return {"strike": "Strike ($)", "window": "Window (trading days)", "days_to_expiry": "Days to expiry"}.get(str(column), readable(column))
    text = f"{first.get('id', '')} {first.get('label', '')}".lower()
    if "strike" in text or "smile" in text:
        return "Strike ($)"
    values = [v for v in first.get("x") or [] if v is not None]
    if values and all(isinstance(v, str) and re.fullmatch(r"[A-Z0-9.^=-]{1,12}", v) for v in values):
        return "Symbol"
    return "Category" if values and not _numeric(values) else "Value"


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None)


def _side(entry: dict[str, Any]) -> str | None:
    """``call`` or ``put`` when the entry is one side of a chain (by its column, id or label)."""
    text = f"{entry.get('column') or ''} {entry.get('id') or ''}".lower()
    if re.search(r"\bcalls?\b|call_|calls?$", text):
        return "call"
    if re.search(r"\bputs?\b|put_|puts?$", text):
        return "put"
    return None


def value_format(entry: dict[str, Any]) -> str | None:
    """The number format of an entry's values: declared, else a percent for a volatility stored as a fraction."""
    if entry.get("format"):
        return str(entry["format"])
    name = entry.get("column") or output_id(entry)
    if is_fraction(name) or "implied vol" in str(entry.get("label") or "").lower():
        values = [v for v in entry.get("y") or [] if isinstance(v, (int, float))]
        if values and max(abs(v) for v in values) < 10:
            return ".1%"
    return default_format(name) if entry.get("column") else None


def _tick_format(spec: str | None) -> str | None:
    """An axis tick format from a value format: one decimal fewer for percents (12% rather than 12.4%)."""
    if not spec:
        return None
    if spec.endswith("%"):
        return ".0%"
    return spec.replace("+", "")


# ----------------------------------------------------------------------------------------------
# Traces
# ----------------------------------------------------------------------------------------------


def thin(x: Sequence[Any], y: Sequence[Any], limit: int = DISPLAY_POINTS) -> tuple[list[Any], list[Any]]:
    """At most about ``limit`` points for display: each bucket keeps its first point, its low and its high
    (so peaks, troughs and gaps survive); shorter series are returned as they are."""
    n = len(y)
    if n <= limit:
        return list(x), list(y)
    values = np.array([np.nan if v is None else v for v in y], dtype=float)
    size = -(-n // max(1, limit // 3))  # points per bucket
    buckets = -(-n // size)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = values
    grid = padded.reshape(buckets, size)
    finite = np.isfinite(grid)
    starts = np.arange(buckets) * size
    lows = starts + np.argmin(np.where(finite, grid, np.inf), axis=1)
    highs = starts + np.argmax(np.where(finite, grid, -np.inf), axis=1)
    gaps = starts + np.argmin(finite, axis=1)  # a gap stays a gap: each bucket keeps its first missing point
    has_gap = ~finite.all(axis=1) & (gaps < n)
    keep = np.unique(np.concatenate([starts, lows[finite.any(axis=1)], highs[finite.any(axis=1)], gaps[has_gap], [n - 1]]))
    keep = keep[keep < n]
    return [x[i] for i in keep], [y[i] for i in keep]


def _xy(entry: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    return thin(list(entry.get("x") or []), clean_numbers(list(entry.get("y") or [])))


def _with_alpha(color: str, alpha: float) -> str:
    """``#rrggbb`` -> ``rgba(r, g, b, alpha)``; other colour strings are returned unchanged."""
    text = color.strip()
    if text.startswith("#") and len(text) == 7:
        r, g, b = (int(text[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r}, {g}, {b}, {alpha})"
    return text


def _colour(entry: dict[str, Any], index: int) -> str:
    """The entry's colour when Plotly accepts it (the validator refuses others, but a result stored before it
    did may hold one: Plotly would raise inside the page), else the side's or the palette's."""
    declared = entry.get("color")
    if declared and not (isinstance(declared, str) and re.fullmatch(COLOUR_PATTERN, declared)):
        declared = None
    side = _side(entry)
    if side and not declared:
        return (CALL_STYLE if side == "call" else PUT_STYLE)["color"]
    return declared or PALETTE[index % len(PALETTE)]


def _trace(entry: dict[str, Any], colour: str, kind: str, name: str) -> go.BaseTraceType:
    """One trace for a line, bar, area or scatter entry (WebGL past ``WEBGL_POINTS`` points)."""
    x, y = _xy(entry)
    common: dict[str, Any] = {"x": x, "y": y, "name": plotly_text(name), "yaxis": "y2" if entry.get("axis") == "right" else "y"}
    if kind == "bar":
        return go.Bar(marker_color=colour, **common)
    scatter = go.Scattergl if len(entry.get("y") or []) > WEBGL_POINTS and kind != "area" else go.Scatter  # WebGL fills draw wrongly
    if kind == "scatter":
        symbol = (PUT_STYLE if _side(entry) == "put" else CALL_STYLE)["symbol"] if _side(entry) else "circle"
        return scatter(mode="markers", marker={"color": colour, "size": 7, "symbol": symbol}, **common)
    if kind == "area":
        return scatter(mode="lines", line={"color": colour, "width": 1.5}, fill="tozeroy", fillcolor=_with_alpha(colour, 0.25), **common)
    return scatter(mode="lines", line={"color": colour, "width": 2}, connectgaps=False, **common)


def _quantile_columns(group: Sequence[dict[str, Any]]) -> bool:
    """True when a frame output's columns are quantiles (a cone): at least a low and a high one."""
    columns = [e.get("column") for e in group]
    return len(columns) >= 3 and sum(c in QUANTILES for c in columns) >= 2


def _band_traces(group: Sequence[dict[str, Any]], colour: str) -> list[go.BaseTraceType]:
    """Nested shaded bands between a band's columns (lowest with highest, then inwards), a middle column
    as a line, and columns that are no quantile (today's value) as a line with markers on top.
    A lone band column is shaded down to zero."""
    if len(group) == 1:
        return [_trace(group[0], colour, "area", trace_name(group[0], False))]
    quantiles = [e for e in group if e.get("column") in QUANTILES] or list(group)
    others = [e for e in group if e not in quantiles]
    if all(e.get("column") in QUANTILES for e in quantiles):
        quantiles.sort(key=lambda e: QUANTILES[str(e["column"])])
    traces: list[go.BaseTraceType] = []
    low, high = 0, len(quantiles) - 1
    depth = 0
    while low < high:
        lower, upper = quantiles[low], quantiles[high]
        name = f"{base_label(lower)}: {readable(lower.get('column') or lower.get('id')).lower()} to {readable(upper.get('column') or upper.get('id')).lower()}"
        alpha = 0.12 + 0.14 * depth
        axis = "y2" if lower.get("axis") == "right" else "y"
        for i, edge in enumerate((lower, upper)):
            x, y = _xy(edge)
            traces.append(go.Scatter(
                x=x, y=y, name=plotly_text(name), legendgroup=f"band{depth}", showlegend=i == 1, mode="lines",
                line={"color": _with_alpha(colour, 0.5), "width": 0.8}, fill="tonexty" if i == 1 else None,
                fillcolor=_with_alpha(colour, alpha), yaxis=axis, connectgaps=False,
            ))
        low, high, depth = low + 1, high - 1, depth + 1
    if low == high:
        middle = quantiles[low]
        x, y = _xy(middle)
        traces.append(go.Scatter(x=x, y=y, name=plotly_text(trace_name(middle, True)), mode="lines", line={"color": colour, "width": 2}))
    for entry in others:
        x, y = _xy(entry)
        traces.append(go.Scatter(
            x=x, y=y, name=plotly_text(trace_name(entry, True)), mode="lines+markers",
            line={"color": "#d62728", "width": 2.5}, marker={"size": 8, "color": "#d62728"},
        ))
    return traces


# ----------------------------------------------------------------------------------------------
# Reference marks
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """A line (``to`` is None) or a shaded range on one axis, with its label."""

    axis: str  # "x", "y" or "y2"
    value: float | str
    label: str
    to: float | str | None = None


def _mark_value(raw: Any, metric: Any, values: Mapping[str, float]) -> float | str | None:
    if metric is not None:
        return values.get(str(metric))
    return raw


def declared_marks(entries: Sequence[dict[str, Any]], values: Mapping[str, float]) -> list[Mark]:
    """The authors' ``reference`` marks, placed at their constants or at the run's metrics (unknown ones are skipped)."""
    marks: list[Mark] = []
    seen: set[tuple[Any, ...]] = set()
    for entry in entries:
        for ref in entry.get("reference") or []:
            value = _mark_value(ref.get("value"), ref.get("metric"), values)
            if value is None:
                continue
            to = _mark_value(ref.get("to"), ref.get("to_metric"), values) if ("to" in ref or "to_metric" in ref) else None
            axis = "x" if ref.get("axis") == "x" else ("y2" if entry.get("axis") == "right" else "y")
            key = (axis, value, to, ref.get("label"))
            if key not in seen:
                seen.add(key)
                marks.append(Mark(axis, value, str(ref.get("label") or ""), to))
    return marks


def strike_marks(values: Mapping[str, float], x: Sequence[Any]) -> list[Mark]:
    """Marks the output data allows on a strike axis: spot, the expected move's range around it, the
    zero-gamma level and max pain, each only when it falls on the chart."""
    numbers = [v for v in x if isinstance(v, (int, float))]
    if not numbers:
        return []
    low, high = min(numbers), max(numbers)
    inside = lambda v: v is not None and low <= v <= high  # noqa: E731
    marks: list[Mark] = []
    spot = next((values[n] for n in SPOT_NAMES if n in values), None)
    lower, upper = values.get("lower"), values.get("upper")
    if inside(lower) and inside(upper) and lower is not None and upper is not None and lower < upper:
        marks.append(Mark("x", lower, f"Expected move {lower:,.2f} to {upper:,.2f}", upper))
    if inside(spot) and spot is not None:
        marks.append(Mark("x", spot, f"Spot {spot:,.2f}"))
    for name, label in STRIKE_MARKS[1:]:
        value = values.get(name)
        if inside(value) and value is not None and (spot is None or abs(value - spot) > 1e-9):
            marks.append(Mark("x", value, f"{label} {value:,.2f}"))
    return marks


def _draw_marks(figure: go.Figure, marks: Sequence[Mark]) -> None:
    """Lines and shaded ranges as layout shapes, each labelled at the top (x marks) or the left (y marks)."""
    for index, mark in enumerate(marks):
        label = plotly_text(mark.label)
        if mark.axis == "x":
            if mark.to is not None:
                figure.add_shape(type="rect", xref="x", yref="paper", x0=mark.value, x1=mark.to, y0=0, y1=1, fillcolor=RANGE_COLOUR, line={"width": 0}, layer="below")
                figure.add_annotation(x=mark.value, xref="x", y=1, yref="paper", text=label, showarrow=False, xanchor="left", yanchor="top", font={"size": 11, "color": "#b35900"})
            else:
                figure.add_shape(type="line", xref="x", yref="paper", x0=mark.value, x1=mark.value, y0=0, y1=1, line={"color": MARK_COLOUR, "width": 1.2, "dash": "dash"})
                figure.add_annotation(x=mark.value, xref="x", y=0.93 - 0.07 * (index % 3), yref="paper", text=label, showarrow=False, xanchor="left", yanchor="top",
                                      font={"size": 11, "color": MARK_COLOUR}, bgcolor="rgba(255,255,255,0.7)")
        else:
            if mark.to is not None:
                figure.add_shape(type="rect", xref="paper", yref=mark.axis, x0=0, x1=1, y0=mark.value, y1=mark.to, fillcolor=RANGE_COLOUR, line={"width": 0}, layer="below")
            else:
                figure.add_shape(type="line", xref="paper", yref=mark.axis, x0=0, x1=1, y0=mark.value, y1=mark.value, line={"color": MARK_COLOUR, "width": 1.2, "dash": "dash"})
            right = mark.axis == "y2"  # labelled beside the axis it belongs to, so it is not read against the other one
            figure.add_annotation(x=0.995 if right else 0.005, xref="paper", y=mark.value, yref=mark.axis, text=label, showarrow=False,
                                  xanchor="right" if right else "left", yanchor="bottom", font={"size": 11, "color": MARK_COLOUR}, bgcolor="rgba(255,255,255,0.7)")


# ----------------------------------------------------------------------------------------------
# Figures
# ----------------------------------------------------------------------------------------------


def _finite(entries: Sequence[dict[str, Any]]) -> list[float]:
    return [float(v) for e in entries for v in (e.get("y") or []) if isinstance(v, (int, float)) and math.isfinite(v)]


def _y_axis(entries: Sequence[dict[str, Any]], marks: Sequence[Mark], axis: str) -> dict[str, Any]:
    """Title, number format and zero line of one y axis."""
    values = _finite(entries)
    title = axis_title(entries)
    layout: dict[str, Any] = {}
    formats = {value_format(e) for e in entries}
    if len(formats) == 1 and (spec := formats.pop()):
        layout["tickformat"] = _tick_format(spec)
        layout["hoverformat"] = spec
        if spec.endswith("%") and "%" not in title and "percent" not in title.lower():
            title += " (%)"
    layout["title"] = {"text": plotly_text(title)}
    crosses = bool(values) and min(values) < 0 < max(values)
    signed = any(SIGNED_WORDS.search(base_label(e)) for e in entries) or any(e.get("chart") in ("bar", "area") for e in entries)
    if crosses or signed:
        layout.update(zeroline=True, zerolinecolor="#555", zerolinewidth=1.2)
    if signed and values and not crosses:
        layout["rangemode"] = "tozero"  # a spread that stays positive still shows where zero is
    mark_values = [m.value for m in marks if m.axis == axis and isinstance(m.value, (int, float))]
    if mark_values and values:
        low, high = min(values + mark_values), max(values + mark_values)
        pad = (high - low) * 0.05 or 1.0
        layout["range"] = [low - pad, high + pad]
        if layout.get("rangemode") == "tozero":
            layout["range"] = [min(0.0, low - pad), max(0.0, high + pad)]
    return layout


def is_shade(entry: Mapping[str, Any]) -> bool:
    """True for an output drawn as shaded spans behind the others (``shade: true``, e.g. NBER recessions)."""
    return bool(entry.get("shade"))


def _clipped_spans(entry: Mapping[str, Any], low: str, high: str) -> list[tuple[str, str]]:
    """The entry's ``spans`` that overlap ``[low, high]`` (ISO dates), cut to it, so shading never widens the axis."""
    spans: list[tuple[str, str]] = []
    for span in entry.get("spans") or []:
        if not isinstance(span, (list, tuple)) or len(span) != 2 or not all(isinstance(v, str) and is_date_axis([v]) for v in span):
            continue
        start, end = max(span[0], low), min(span[1], high)
        if start < end:
            spans.append((start, end))
    return spans


def _draw_shading(figure: go.Figure, shaded: Sequence[dict[str, Any]], others: Sequence[dict[str, Any]]) -> None:
    """Each shade output's spans as grey vertical bands behind every trace, with one legend entry naming it."""
    dates = [str(v) for e in others for v in (e.get("x") or [])[:1] + (e.get("x") or [])[-1:] if isinstance(v, str)]
    if not dates:
        return
    low, high = min(dates), max(dates)
    for entry in shaded:
        spans = _clipped_spans(entry, low, high)
        colour = SHADE_FILL  # one grey for every chart, as FRED's graphs shade recessions
        for start, end in spans:
            figure.add_shape(type="rect", xref="x", yref="paper", x0=start, x1=end, y0=0, y1=1, fillcolor=colour, line={"width": 0}, layer="below")
        if spans:
            figure.add_trace(go.Scatter(
                x=[None], y=[None], mode="markers", name=plotly_text(shade_label(entry)), hoverinfo="skip",
                marker={"symbol": "square", "size": 14, "color": colour, "line": {"width": 0}},
            ))


def shade_label(entry: Mapping[str, Any]) -> str:
    """The legend name of a shaded output: its label, or "NBER recession"."""
    return str(entry.get("label") or SHADE_LABEL)


def _escaped_categories(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries whose x values are categories (text that is not a date) with each category escaped: Plotly
    reads a subset of HTML in tick labels and hover text, and categories can come from inputs or data."""
    if not entries:
        return entries
    x_values = entries[0].get("x") or []
    if is_date_axis(x_values) or _numeric(x_values):
        return entries
    return [{**e, "x": [v if v is None or isinstance(v, (int, float)) else plotly_text(v) for v in e.get("x") or []]} for e in entries]


def series_figure(entries: list[dict[str, Any]], title: str = "", context: ChartContext | None = None) -> go.Figure:
    """One figure over a shared x axis: lines, bars, areas, markers and bands, on a left and/or right axis,
    with axis titles, formats, zero lines and reference marks; ``shade`` outputs as bands behind them all."""
    context = context or ChartContext()
    figure = go.Figure()
    shaded = [e for e in entries if is_shade(e)]
    if shaded and len(shaded) < len(entries) and is_date_axis([v for e in entries for v in (e.get("x") or [])[:1]]):
        entries = [e for e in entries if not is_shade(e)]
    else:
        shaded = []
    entries = _escaped_categories(entries)
    by_output: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_output.setdefault(output_id(entry), []).append(entry)
    colour_index = 0
    for group in by_output.values():
        kind = group[0].get("chart") or "line"
        if kind not in CHART_KINDS:
            raise ValueError(f"Chart kind '{kind}' is not one of {', '.join(CHART_KINDS)}.")
        if kind == "band" or (kind == "line" and _quantile_columns(group)):
            figure.add_traces(_band_traces(group, _colour(group[0], colour_index)))
            colour_index += 1
            continue
        several = len(group) > 1
        for entry in group:
            figure.add_trace(_trace(entry, _colour(entry, colour_index), kind, trace_name(entry, several)))
            colour_index += 1
    left = [e for e in entries if e.get("axis") != "right"]
    right = [e for e in entries if e.get("axis") == "right"]
    x_values = entries[0].get("x", []) if entries else []
    marks = declared_marks(entries, context.values)
    strike_axis = (entries[0].get("x_column") == "strike" or x_title(entries).startswith("Strike")) if entries else False
    if strike_axis:
        marks += [m for m in strike_marks(context.values, x_values) if m.label not in {k.label for k in marks}]
    layout: dict[str, Any] = {"title": {"text": title_markup(title)}, "barmode": "group"}
    layout["yaxis"] = _y_axis(left or right, marks, "y")
    if right:
        layout["yaxis2"] = {**_y_axis(right, marks, "y2"), "overlaying": "y", "side": "right", "showgrid": False, "tickmode": "auto"}
    xaxis: dict[str, Any] = {"title": {"text": plotly_text(x_title(entries))}}
    if entries and not is_date_axis(x_values):
        xaxis["type"] = "linear" if _numeric(x_values) else "category"
    layout["xaxis"] = xaxis
    if shaded:
        _draw_shading(figure, shaded, entries)
    layout["showlegend"] = sum(1 for t in figure.data if t.showlegend is not False) > 1
    figure.update_layout(**layout)
    _draw_marks(figure, marks)
    return _tidy(figure)


def heatmap_figure(entries: list[dict[str, Any]], title: str = "") -> go.Figure:
    """A heatmap whose rows are the entries (one per frame column) and columns the shared x values."""
    x = entries[0].get("x", []) if entries else []
    rows = [plotly_text(e.get("column") or e.get("label") or e.get("id")) for e in entries]
    z = [clean_numbers(list(e.get("y", []))) for e in entries]
    name = axis_title(entries[:1]) if entries else ""
    figure = go.Figure(
        go.Heatmap(
            z=z, x=[plotly_text(v) for v in x], y=rows, colorscale="RdBu", zmid=0, hoverongaps=False, texttemplate="%{z:.2f}",
            colorbar={"title": {"text": plotly_text(name)}},
        )
    )
    title_x = x_title(entries)
    figure.update_layout(
        title={"text": title_markup(title)}, yaxis={"autorange": "reversed", "title": {"text": plotly_text(title_x)}}, xaxis={"title": {"text": plotly_text(title_x)}},
        showlegend=False,
    )
    return _tidy(figure).update_layout(hovermode="closest")


def _tidy(figure: go.Figure) -> go.Figure:
    titled = bool(figure.layout.title.text)
    figure.update_layout(
        template="plotly_white",
        margin={"l": 60, "r": 60, "t": (75 if "<br>" in (figure.layout.title.text or "") else 55) if titled else 30, "b": 110 if figure.layout.showlegend else 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        title={"font": {"size": 15}, "x": 0, "xanchor": "left"},
        hovermode="x unified",
        height=460 if figure.layout.showlegend else 420,
    )
    return figure


def _period(entries: Sequence[dict[str, Any]]) -> str:
    dates = [v for e in entries for v in (e.get("x") or [])[:1] + (e.get("x") or [])[-1:] if isinstance(v, str)]
    return f"{min(dates)[:10]} to {max(dates)[:10]}" if dates else ""


def figures_for(series: list[dict[str, Any]], context: ChartContext | None = None) -> list[Chart]:
    """Group a run's series entries into figures: dates together, categories together, heatmaps alone."""
    context = context or ChartContext()
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
            named = [e for e in group if not is_shade(e)] or group  # shading explains a chart, it does not name it
            outputs = list(dict.fromkeys(output_id(e) for e in named))
            labels = list(dict.fromkeys(base_label(e) for e in named))
            what = labels[0] if len(outputs) == 1 else (context.name or " and ".join(labels[:3]))
            title = chart_title(what, context, _period(group) if group is dated else "")
            charts.append(Chart(f"chart-{output_id(group[0])}", title, series_figure(group, title, context)))
    for key, group in heatmaps.items():
        title = chart_title(base_label(group[0]).split(" (")[0], context)
        charts.append(Chart(f"heatmap-{key}", title, heatmap_figure(group, title)))
    return charts


def placeholder_figure(text: str = "Press Run model to draw this model's chart.") -> go.Figure:
    """An empty chart frame where a result's chart will be: it says what to do, and the browser loads its
    charting library while the analyst fills the form, so the first chart after Run draws at once.
    ``layout.meta`` is ``"placeholder"`` so tests and the benchmark can tell it from a result's chart."""
    figure = go.Figure()
    figure.add_annotation(text=plotly_text(text), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 14, "color": "#888"})
    figure.update_layout(
        template="plotly_white", height=200, margin={"l": 20, "r": 20, "t": 20, "b": 20}, meta="placeholder", showlegend=False,
        xaxis={"visible": False}, yaxis={"visible": False}, hovermode=False,
    )
    return figure


def context_figure(
    series: dict[str, dict[str, list[Any]]], units: dict[str, str], title: str = "", context: ChartContext | None = None,
    shading: Sequence[Sequence[str]] = (),
) -> go.Figure:
    """Lab context chart: one line per series on its own dates; series whose units differ from the
    first one's go on the right axis (so percent and thousands of persons are both readable); ``shading``
    (``[start, end)`` ISO date pairs, NBER recessions) drawn as bands behind them."""
    first_units = units.get(next(iter(series), ""), "")
    entries = [
        {
            "id": f"ctx.{name}", "label": f"{name} ({units[name]})" if units.get(name) else name, "chart": "line", "unit": units.get(name) or None,
            "axis": "right" if units.get(name, first_units) != first_units else "left", "x": points["x"], "y": points["y"],
        }
        for name, points in series.items()
    ]
    if shading and entries:
        entries.append({"id": "ctx.recessions", "label": SHADE_LABEL, "chart": "band", "axis": "right", "shade": True, "x": [], "y": [], "spans": [list(s) for s in shading]})
    return series_figure(entries, title, context)


def smile_figure(calls: dict[str, list[Any]], puts: dict[str, list[Any]], spot: float | None, title: str = "") -> go.Figure:
    """An implied-volatility smile: call and put IV (in percent) against strike, told apart by colour and marker, with spot marked."""
    entries = [
        {"id": "smile.calls", "label": "Implied volatility", "column": "call_iv", "x_column": "strike", "chart": "scatter", "x": calls.get("strike", []), "y": calls.get("iv", []), "format": ".1%"},
        {"id": "smile.puts", "label": "Implied volatility", "column": "put_iv", "x_column": "strike", "chart": "scatter", "x": puts.get("strike", []), "y": puts.get("iv", []), "format": ".1%"},
    ]
    values = {"spot": spot} if spot is not None else {}
    return series_figure(entries, title, ChartContext(values=values))
