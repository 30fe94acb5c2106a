"""Figure builders are pure functions of the stored output JSON: tested without Streamlit."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from components.charts import figures_for, heatmap_figure, is_date_axis, series_figure, smile_figure

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
        texts.append(figure.layout.title.text or "")
        assert not any("<" in text or ">" in text for text in texts), texts
    assert charts[0].figure.data[0].name == "Spread &lt;a href='https://evil.example'&gt;click&lt;/a&gt; &lt;b&gt;&amp;&lt;/b&gt;"
