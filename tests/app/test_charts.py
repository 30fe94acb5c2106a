"""Figure builders are pure functions of the stored output JSON: tested without Streamlit."""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import pytest

from components.charts import (
    DISPLAY_POINTS,
    SUBTITLE_CLOSE,
    SUBTITLE_OPEN,
    WEBGL_POINTS,
    ChartContext,
    context_figure,
    context_from_result,
    figures_for,
    heatmap_figure,
    is_date_axis,
    series_figure,
    smile_figure,
    thin,
)

DATES = ["2026-01-02", "2026-01-05", "2026-01-06"]


def entry(id_: str, chart: str = "line", axis: str = "left", color: str | None = None, x=None, y=None, column=None) -> dict:
    item = {"id": id_, "label": id_.replace(".", " "), "color": color, "chart": chart, "axis": axis, "x": x or DATES, "y": y or [1.0, None, 3.0]}
    if column:
        item["column"] = column
    return item


@pytest.mark.parametrize(
    ("chart", "trace_type", "mode", "fill"),
    [("line", go.Scatter, "lines", None), ("bar", go.Bar, None, None), ("area", go.Scatter, "lines", "tozeroy"), ("scatter", go.Scatter, "markers", None)],
)
def test_each_chart_kind_draws_its_trace(chart, trace_type, mode, fill):
    trace = series_figure([entry("s", chart)]).data[0]
    assert isinstance(trace, trace_type)
    if mode:
        assert trace.mode == mode
        assert trace.fill == fill


def test_colours_are_honoured_and_missing_ones_come_from_the_palette():
    fig = series_figure([entry("a", color="#123456"), entry("b")])
    assert fig.data[0].line.color == "#123456"
    assert fig.data[1].line.color not in (None, "#123456")


def test_right_axis_series_go_on_a_second_overlaid_axis():
    fig = series_figure([entry("rate"), entry("vix", axis="right")])
    assert [t.yaxis for t in fig.data] == ["y", "y2"]
    assert fig.layout.yaxis2.overlaying == "y"
    assert fig.layout.yaxis2.side == "right"


def test_no_second_axis_when_everything_is_on_the_left():
    fig = series_figure([entry("a"), entry("b")])
    assert "yaxis2" not in fig.layout.to_plotly_json()


def test_nulls_stay_gaps_not_zeros():
    fig = series_figure([entry("a", y=[1.0, None, 3.0])])
    assert list(fig.data[0].y) == [1.0, None, 3.0]


def test_band_of_two_columns_is_a_shaded_region_between_them():
    lower = entry("range.low", "band", y=[1, 2, 3], column="low")
    upper = entry("range.high", "band", y=[2, 3, 4], column="high")
    fig = series_figure([lower, upper])
    assert [t.fill for t in fig.data] == [None, "tonexty"]
    assert fig.data[1].fillcolor.startswith("rgba(")


def test_heatmap_rows_are_columns_of_the_frame():
    rows = [entry(f"corr.{c}", "heatmap", x=["A", "B"], y=[1.0, v], column=c) for c, v in (("A", 0.5), ("B", 1.0))]
    fig = heatmap_figure(rows, "Correlation")
    assert isinstance(fig.data[0], go.Heatmap)
    assert list(fig.data[0].y) == ["A", "B"]
    assert [list(r) for r in fig.data[0].z] == [[1.0, 0.5], [1.0, 1.0]]


def test_figures_group_dates_categories_and_heatmaps_separately():
    dated = entry("spread")
    strikes = entry("smile", "scatter", x=[90, 100, 110], y=[0.3, 0.2, 0.25])
    heat = entry("corr.A", "heatmap", x=["A"], y=[1.0], column="A")
    charts = figures_for([dated, strikes, heat])
    assert [c.key for c in charts] == ["chart-spread", "chart-smile", "heatmap-corr"]


def test_no_series_means_no_figures():
    assert figures_for([]) == []


def test_unknown_chart_kind_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="line, bar, area, scatter, band, heatmap"):
        series_figure([entry("a", "pie")])


@pytest.mark.parametrize(("values", "expected"), [(DATES, True), (["2026-01-02T10:00:00"], True), ([90, 100], False), (["1M", "3M"], False), ([], False), ([None], False)])
def test_date_axis_detection(values, expected):
    assert is_date_axis(values) is expected


def test_smile_marks_the_spot():
    fig = smile_figure({"strike": [90, 100], "iv": [0.3, 0.2]}, {"strike": [90, 100], "iv": [0.35, 0.22]}, spot=98.5)
    assert len(fig.data) == 2
    assert fig.layout.shapes[0].x0 == 98.5


def test_lab_context_chart_keeps_each_series_dates_and_moves_other_units_right():
    from components.charts import context_figure

    daily = {"x": ["2024-01-02", "2024-01-03", "2024-02-01"], "y": [4.0, 4.1, 4.2]}
    monthly = {"x": ["2024-01-01", "2024-02-01"], "y": [3.7, 3.9]}
    claims = {"x": ["2024-01-06"], "y": [210000.0]}
    figure = context_figure({"DGS10": daily, "UNRATE": monthly, "ICSA": claims}, {"DGS10": "Percent", "UNRATE": "Percent", "ICSA": "Number"})
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name["DGS10 (Percent)"].y) == [4.0, 4.1, 4.2] and list(by_name["UNRATE (Percent)"].y) == [3.7, 3.9]
    assert by_name["UNRATE (Percent)"].yaxis in (None, "y") and by_name["ICSA (Number)"].yaxis == "y2"


def test_author_written_labels_reach_plotly_as_text_not_markup() -> None:
    """Plotly reads <b>, <br> and <a href> in names and titles; a model author's label is shown as written."""
    hostile = "Spread <a href='https://evil.example'>click</a> <b>&</b>"
    line = {"id": "s", "label": hostile, "chart": "line", "x": ["2024-01-01", "2024-01-02"], "y": [1.0, 2.0]}
    heat = {"id": "m.a", "column": "<i>a</i>", "label": hostile, "chart": "heatmap", "x": ["<b>x</b>"], "y": [0.5]}
    charts = figures_for([line, heat])
    for chart in charts:
        figure = chart.figure
        texts = [t.name or "" for t in figure.data] + [str(v) for t in figure.data for v in (getattr(t, "y", None) or []) if isinstance(v, str)]
        texts += [str(v) for t in figure.data for v in (getattr(t, "x", None) or []) if isinstance(v, str)]
        title = figure.layout.title.text or ""
        texts.append(title.replace(SUBTITLE_OPEN, "", 1).replace(SUBTITLE_CLOSE, "", 1) if title.count(SUBTITLE_OPEN) == 1 else title)
        assert not any("<" in text or ">" in text for text in texts), texts
    assert charts[0].figure.data[0].name == "Spread &lt;a href='https://evil.example'&gt;click&lt;/a&gt; &lt;b&gt;&amp;&lt;/b&gt;"


# ---------------------------------------------------------------------------------------------
# Charts that explain themselves (issue 11)
# ---------------------------------------------------------------------------------------------

def seed_results() -> list[tuple[str, dict]]:
    """Every seed run on the bundled sample data (the real outputs the app draws)."""
    import json
    from pathlib import Path

    from engine.executor import execute
    from services.data import sample_access

    out = []
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("seeds").glob("*.json")):
        meta = json.loads(path.read_text())
        out.append((meta["name"], execute(meta["dsl"], {}, sample_access(), input_schema=meta["input_schema"], today=date(2026, 8, 21)).to_json()))
    return out


SEED_RESULTS = seed_results()


@pytest.mark.parametrize(("name", "result"), SEED_RESULTS, ids=[n for n, _ in SEED_RESULTS])
def test_every_seed_chart_has_a_title_with_subject_and_as_of_and_titled_axes(name, result):
    context = context_from_result(result, name)
    for chart in figures_for(result["outputs"]["series"], context):
        layout = chart.figure.layout
        assert context.subject and context.subject in layout.title.text and f"as of {context.as_of}" in layout.title.text
        assert layout.xaxis.title.text, (name, chart.key, "x axis title")
        assert layout.yaxis.title.text, (name, chart.key, "y axis title")
        if "yaxis2" in layout.to_plotly_json():
            assert layout.yaxis2.title.text
        legend_items = [t for t in chart.figure.data if t.showlegend is not False]
        assert layout.showlegend is (len(legend_items) > 1)


def test_implied_volatility_is_in_percent_on_every_chart():
    for name, result in SEED_RESULTS:
        for chart in figures_for(result["outputs"]["series"], context_from_result(result, name)):
            iv_traces = [t for t in chart.figure.data if "IV" in (t.name or "") or "mplied vol" in (t.name or "")]
            if iv_traces and "VIX" not in chart.title:
                assert chart.figure.layout.yaxis.tickformat == ".0%", (name, chart.title)
                assert chart.figure.layout.yaxis.hoverformat == ".1%"
    smile = smile_figure({"strike": [90, 100], "iv": [0.3, 0.2]}, {"strike": [90, 100], "iv": [0.35, 0.22]}, spot=98.5)
    assert smile.layout.yaxis.tickformat == ".0%" and "(%)" in smile.layout.yaxis.title.text


def test_calls_and_puts_are_told_apart_by_colour_marker_and_name():
    smile = smile_figure({"strike": [90, 100], "iv": [0.3, 0.2]}, {"strike": [90, 100], "iv": [0.35, 0.22]}, spot=98.5)
    calls, puts = smile.data
    assert (calls.marker.color, calls.marker.symbol) != (puts.marker.color, puts.marker.symbol)
    assert calls.name.endswith("calls") and puts.name.endswith("puts")
    sides = [entry("sides.call_iv", "scatter", x=[90, 100], y=[0.3, 0.2], column="call_iv"), entry("sides.put_iv", "scatter", x=[90, 100], y=[0.3, 0.2], column="put_iv")]
    fig = series_figure(sides)
    assert fig.data[0].marker.symbol == "circle" and fig.data[1].marker.symbol == "triangle-down"


def test_zero_is_drawn_where_the_sign_matters():
    crossing = series_figure([entry("spread", y=[0.5, -0.2, 0.1])])
    assert crossing.layout.yaxis.zeroline and crossing.layout.yaxis.zerolinecolor == "#555"
    spread = dict(entry("s", y=[0.5, 0.4, 0.6]), label="10y - 2y (pp)")
    assert series_figure([spread]).layout.yaxis.rangemode == "tozero", "a spread that stays positive still shows zero"
    level = dict(entry("yield", y=[4.1, 4.2, 4.3]), label="10y yield (%)")
    assert series_figure([level]).layout.yaxis.rangemode is None


def test_declared_reference_marks_are_drawn_at_constants_and_at_metrics():
    sahm = dict(entry("sahm", y=[0.1, 0.6, 0.2]), reference=[{"axis": "y", "value": 0.5, "label": "Sahm rule threshold 0.50"}])
    fig = series_figure([sahm])
    line = fig.layout.shapes[0]
    assert (line.type, line.y0, line.y1, line.xref) == ("line", 0.5, 0.5, "paper")
    assert fig.layout.annotations[0].text == "Sahm rule threshold 0.50"
    flip = dict(entry("gex", "bar", x=[90, 100, 110], y=[-1.0, 0.5, 2.0]), reference=[{"axis": "x", "metric": "flip", "label": "Zero gamma"}])
    fig = series_figure([flip], context=ChartContext(values={"flip": 101.5}))
    assert fig.layout.shapes[0].x0 == 101.5
    missing = series_figure([flip], context=ChartContext(values={}))
    assert not missing.layout.shapes, "a mark whose metric the run lacks is left out, not drawn at zero"
    window = dict(entry("d"), reference=[{"axis": "x", "value": "2026-01-05", "to": "2026-01-06", "label": "holiday"}])
    rect = series_figure([window]).layout.shapes[0]
    assert (rect.type, rect.x0, rect.x1) == ("rect", "2026-01-05", "2026-01-06")


def test_strike_charts_mark_spot_the_expected_move_and_zero_gamma_from_the_output_data():
    smile = dict(entry("smile", x=[90.0, 100.0, 110.0], y=[0.3, 0.2, 0.25], column="iv"), x_column="strike")
    values = {"spot": 99.0, "lower": 95.0, "upper": 103.0, "zero_gamma_strike": 97.0, "max_pain_strike": 500.0}
    fig = series_figure([smile], context=ChartContext(values=values))
    shapes = [(s.type, s.x0, s.x1) for s in fig.layout.shapes]
    assert ("rect", 95.0, 103.0) in shapes and ("line", 99.0, 99.0) in shapes and ("line", 97.0, 97.0) in shapes
    assert all(s.x0 != 500.0 for s in fig.layout.shapes), "a level off the chart is not drawn"
    texts = [a.text for a in fig.layout.annotations]
    assert "Spot 99.00" in texts and "Expected move 95.00 to 103.00" in texts and "Zero gamma 97.00" in texts


def test_spot_comes_from_a_record_table_or_a_smiles_moneyness():
    record = {"outputs": {"tables": [{"columns": ["metric", "value"], "rows": [{"metric": "spot", "value": 720.65}]}]}, "inputs": {"symbol": "SPY"}}
    assert context_from_result(record).values["spot"] == 720.65
    smile = {"outputs": {"tables": [{"columns": ["strike", "moneyness"], "rows": [{"strike": 700.0, "moneyness": 0.97}, {"strike": 730.0, "moneyness": 1.0130}]}]}}
    assert context_from_result(smile).values["spot"] == pytest.approx(721.0, abs=0.5)


def test_the_volatility_cone_is_nested_shaded_bands_with_todays_value():
    columns = {"min": [5.0, 6.0], "p25": [9.0, 10.0], "median": [12.0, 13.0], "p75": [15.0, 16.0], "max": [40.0, 30.0], "current": [11.0, 14.0]}
    cone = [dict(entry(f"cone.{c}", x=[21, 63], y=y, column=c), label=f"Realized vol (%) ({c})", x_column="window") for c, y in columns.items()]
    fig = series_figure(cone)
    fills = [t.fill for t in fig.data]
    assert fills[:4] == [None, "tonexty", None, "tonexty"], "min-max, then p25-p75 shaded"
    assert fig.data[1].fillcolor != fig.data[3].fillcolor, "the inner band is darker"
    assert fig.data[4].name.endswith("median") and fig.data[-1].name.endswith("today") and fig.data[-1].mode == "lines+markers"
    assert fig.layout.xaxis.title.text == "Window (trading days)"


def test_a_legend_only_when_there_is_more_than_one_trace():
    assert series_figure([entry("a")]).layout.showlegend is False
    assert series_figure([entry("a"), entry("b")]).layout.showlegend is True


def test_chart_values_carry_no_float_noise():
    fig = series_figure([entry("s", y=[0.5599999999999996, -0.07000000000000028, 720.6500244140625])])
    assert list(fig.data[0].y) == [0.56, -0.07, 720.65]


def test_long_series_are_thinned_for_display_keeping_extremes_and_drawn_with_webgl():
    n = 10_000
    x = [f"2000-01-01T00:00:{i:05d}" for i in range(n)]
    y = [float(i % 97) for i in range(n)]
    y[4321], y[8765] = 1_000.0, -1_000.0
    tx, ty = thin(x, y)
    assert len(ty) <= DISPLAY_POINTS + 2 and 1_000.0 in ty and -1_000.0 in ty and tx[0] == x[0] and tx[-1] == x[-1]
    line = series_figure([{"id": "long", "label": "long", "x": [f"{2000 + i // 365}-01-01" for i in range(n)], "y": y}]).data[0]
    assert isinstance(line, go.Scattergl) and len(line.y) <= DISPLAY_POINTS + 2 < n and n > WEBGL_POINTS
    area = series_figure([{"id": "long", "label": "long", "chart": "area", "x": x, "y": y}]).data[0]
    assert isinstance(area, go.Scatter), "WebGL fills draw wrongly: areas stay SVG"
    gappy = [None if i % 1000 == 5 else 1.0 for i in range(n)]
    assert None in thin(x, gappy)[1], "a gap stays a gap"


def test_a_long_title_breaks_after_what_is_shown_so_a_narrow_screen_keeps_it():
    context = ChartContext(subject="DGS10, DGS2", as_of="2026-08-20")
    fig = figures_for([dict(entry("spread"), label="10y - 2y <pp>")], context)[0].figure
    assert fig.layout.title.text == "10y - 2y &lt;pp&gt;" + SUBTITLE_OPEN + "DGS10, DGS2 · 2026-01-02 to 2026-01-06 · as of 2026-08-20" + SUBTITLE_CLOSE
    short = series_figure([entry("a")], "Short title")
    assert short.layout.title.text == "Short title"


# ----------------------------------------------------------------------------------------------
# Shaded spans (outputs with ``shade: true``, such as NBER recessions) and category labels
# ----------------------------------------------------------------------------------------------

MONTHS = ["2019-10-01", "2019-11-01", "2019-12-01", "2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01", "2020-05-01", "2020-06-01"]


def recessions(spans, months=MONTHS) -> dict:
    """A ``recession_indicator`` output as the engine stores it: 0/1 values plus the spans to shade."""
    on = {m for start, end in spans for m in months if start <= m < end}
    return {"id": "recessions", "label": "NBER recession", "color": "#c7c7c7", "chart": "band", "axis": "right", "shade": True,
            "x": months, "y": [1.0 if m in on else 0.0 for m in months], "spans": spans}


def shapes(figure: go.Figure, kind: str) -> list:
    return [s for s in figure.layout.shapes if s.type == kind]


def test_a_shade_output_is_drawn_as_bands_behind_the_series_not_as_a_trace():
    unemployment = entry("unrate", x=MONTHS, y=[3.6, 3.6, 3.6, 3.5, 3.5, 4.4, 14.8, 13.2, 11.0])
    figure = series_figure([unemployment, recessions([["2020-03-01", "2020-05-01"]])])
    bands = shapes(figure, "rect")
    assert [(b.x0, b.x1) for b in bands] == [("2020-03-01", "2020-05-01")]
    assert all(b.layer == "below" and b.yref == "paper" and (b.y0, b.y1) == (0, 1) for b in bands), "behind the lines, the plot's full height"
    drawn = [t for t in figure.data if list(t.x) != [None]]
    assert [t.name for t in drawn] == ["unrate"], "the 0/1 indicator itself is not drawn"
    assert "yaxis2" not in figure.layout.to_plotly_json(), "no right axis just for the indicator"


def test_the_shading_has_one_legend_entry_named_nber_recession():
    figure = series_figure([entry("unrate", x=MONTHS, y=list(range(9))), recessions([["2019-11-01", "2019-12-01"], ["2020-03-01", "2020-05-01"]])])
    legend = [t.name for t in figure.data if t.showlegend is not False]
    assert legend == ["unrate", "NBER recession"]
    assert figure.layout.showlegend is True
    assert len(shapes(figure, "rect")) == 2


def test_shading_is_cut_to_the_dates_the_chart_shows():
    """A span running past the plotted series (the indicator covers whole months) does not widen the axis."""
    figure = series_figure([entry("spread", x=MONTHS[:5], y=[0.1, 0.2, 0.3, 0.2, 0.1]), recessions([["2019-11-01", "2020-06-01"]])])
    assert [(b.x0, b.x1) for b in shapes(figure, "rect")] == [("2019-11-01", "2020-02-01")]


def test_no_recession_in_range_means_no_band_and_no_legend_entry():
    figure = series_figure([entry("spread", x=MONTHS, y=list(range(9))), recessions([])])
    assert shapes(figure, "rect") == [] and [t.name for t in figure.data] == ["spread"]
    assert figure.layout.showlegend is False


def test_the_chart_title_names_the_series_not_the_shading():
    charts = figures_for([entry("sahm", x=MONTHS, y=list(range(9))) | {"label": "Sahm indicator (pp)"}, recessions([["2020-03-01", "2020-05-01"]])])
    assert len(charts) == 1 and charts[0].title.startswith("Sahm indicator (pp)")


def test_a_mark_on_the_right_axis_is_labelled_on_the_right():
    """A z-score's +2 line is read against the z-score's axis, not the spread's on the left."""
    spread = entry("spread", x=MONTHS, y=[3.0 + i / 10 for i in range(9)])
    z = entry("z", axis="right", x=MONTHS, y=[-1.0, 0.0, 1.0, 2.5, 1.0, 0.0, -1.0, -2.5, 0.0]) | {"reference": [{"value": 2, "label": "+2 standard deviations"}]}
    [mark] = series_figure([spread, z]).layout.annotations
    assert (mark.yref, mark.xanchor, mark.x) == ("y2", "right", 0.995)


def test_category_ticks_and_hover_are_escaped_for_plotly():
    """Plotly reads a subset of HTML in tick labels: a category such as a typed symbol is shown as written."""
    hostile = "<a href='https://evil.example'>SPY</a>"
    figure = series_figure([entry("beta", chart="bar", x=[hostile, "QQQ"], y=[1.0, 1.2])])
    assert list(figure.data[0].x) == ["&lt;a href='https://evil.example'&gt;SPY&lt;/a&gt;", "QQQ"]
    assert figure.layout.xaxis.type == "category"


@pytest.mark.parametrize("colour", ["notacolour", "#12345g", "rgb(1,2)", "red; background:url(x)", 12])
def test_a_stored_colour_plotly_would_refuse_falls_back_to_the_palette(colour):
    """Regression (issue 9): a result stored before the validator refused such colours raised inside the page."""
    figure = series_figure([entry("a", color=colour), entry("b", chart="bar", color=colour)])
    assert figure.data[0].line.color.startswith("#") and figure.data[1].marker.color.startswith("#")


def test_the_econ_lab_chart_shades_the_recessions_it_is_given():
    from services.labs import recession_spans

    daily = {"x": ["2019-06-03", "2020-01-02", "2020-06-01", "2021-01-04"], "y": [2.1, 1.9, 0.7, 0.9]}
    spans = recession_spans(date(2019, 6, 1), date(2021, 1, 31))
    assert spans == [["2020-03-01", "2020-05-01"]], "the 2020 recession: February's peak to April's trough, as FRED's USREC"
    figure = context_figure({"DGS10": daily}, {"DGS10": "Percent"}, shading=spans)
    assert [(b.x0, b.x1) for b in shapes(figure, "rect")] == [("2020-03-01", "2020-05-01")]
    assert [t.name for t in figure.data if t.showlegend is not False] == ["DGS10 (Percent)", "NBER recession"]
