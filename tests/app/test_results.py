"""Pure helpers behind the results panel, the form and the escaping of user text."""

from __future__ import annotations

import io
import json
from datetime import date

import pandas as pd
import pytest

from components.downloads import ResultMeta, safe_cell, series_csv, series_frame, table_csv
from components.labels import readable
from components.results_panel import data_mode_text, result_json
from components.run_form import context_query, prefill_from_query, widget_value
from components.tables import table_frame, table_view
from components.text import JOINER, escape
from contracts.dsl import InputField, InputSchema

SCHEMA = InputSchema(fields=[InputField(name="symbol", type="symbol"), InputField(name="start", type="date"), InputField(name="window", type="integer")])


def test_a_record_mixing_dates_and_numbers_shows_each_value_formatted():
    view = table_view({"columns": ["metric", "value"], "rows": [{"metric": "latest", "value": 0.5}, {"metric": "as_of", "value": "2026-08-20"}]})
    assert list(view.frame["Value"]) == ["0.5", "2026-08-20"]
    assert list(view.frame["Metric"]) == ["Latest", "As of"]


def test_a_numeric_column_stays_numeric():
    view = table_view({"columns": ["strike", "iv"], "rows": [{"strike": 100, "iv": 0.2}, {"strike": 105, "iv": None}]})
    assert view.frame["Implied volatility"].dtype.kind == "f"
    assert view.formats["Implied volatility"] == ".1%"
    assert table_frame({"columns": ["strike"], "rows": [{"strike": 100}]})["strike"].tolist() == [100]


def test_series_csv_columns_name_the_axis():
    dated = series_frame({"id": "spread", "x": ["2026-01-02"], "y": [1.0]})
    assert list(dated.columns) == ["date", "spread"]
    strikes = series_frame({"id": "smile.iv", "column": "iv", "x_column": "strike", "x": [100], "y": [0.2]})
    assert list(strikes.columns) == ["strike", "iv"]


def test_result_json_is_strict_json():
    assert json.loads(result_json({"outputs": {}, "runtime_ms": 1.0})) == {"outputs": {}, "runtime_ms": 1.0}


@pytest.mark.parametrize(
    ("provenance", "expected"),
    [
        ([], "No external data was fetched."),
        ([{"provider": "sample", "as_of": "2026-08-20", "live": False}], "Sample data (bundled snapshot), as of 2026-08-20."),
        (
            [{"provider": "sample", "as_of": "2026-08-20", "live": False, "detail": {"vendor": "FRED"}},
             {"provider": "sample", "as_of": "2026-05-01", "live": False, "detail": {"vendor": "Yahoo"}}],
            "Sample data (bundled snapshot of FRED, Yahoo data), as of 2026-08-20.",
        ),
        ([{"provider": "fred", "as_of": "2026-11-25T10:00:00", "live": True}], "Live data from FRED, as of 2026-11-25."),
    ],
)
def test_data_mode_sentence(provenance, expected):
    assert data_mode_text(provenance) == expected


@pytest.mark.parametrize("text", ["<script>alert(1)</script>", "**bold** _it_ [x](javascript:alert(1))", ":red[colour] $x$ `code`", "a\\b"])
def test_escaped_text_has_every_punctuation_mark_escaped(text):
    escaped = escape(text)
    assert escaped.replace("\\", "").replace(JOINER, "") == text.replace("\\", "")  # the word joiners are invisible
    assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch in "<>*_[]`:$" and i > 0)


def test_query_parameters_prefill_only_the_models_fields():
    assert prefill_from_query({"slug": "x", "symbol": "aapl", "expiration": "2026-08-28", "window": ["5", "10"]}, SCHEMA) == {"symbol": "aapl", "window": "10"}


def test_lab_context_becomes_canonical_query_parameters():
    query = context_query({"start": date(2020, 1, 1), "series": ["DGS10", "DGS2"], "symbol": "SPY", "spot_price": None})
    assert query == {"start": "2020-01-01", "symbol": "SPY", "series_id": "DGS10", "series_ids": "DGS10,DGS2"}


def test_widget_values_are_typed_and_bad_ones_refused():
    today = date(2026, 1, 1)
    assert widget_value(SCHEMA.fields[1], "today-1y", today) == date(2025, 1, 1)
    assert widget_value(SCHEMA.fields[0], "spy", today) == "SPY"
    with pytest.raises(ValueError, match="whole number"):
        widget_value(SCHEMA.fields[2], "2.5", today)


# ---------------------------------------------------------------------------------------------
# Tables a reader can use and CSV files that say what they are (issue 11)
# ---------------------------------------------------------------------------------------------

RESULT = {
    "outputs": {
        "series": [{"id": "spread", "label": "10y - 2y (pp)", "x": ["2026-01-02", "2026-01-05"], "y": [0.5599999999999996, -0.07000000000000028]},
                   {"id": "smile", "label": "IV", "column": "iv", "x_column": "strike", "x": [100.0, 105.0], "y": [0.2012345678, None]}],
        "tables": [{"id": "stats", "columns": ["metric", "value"], "rows": [{"metric": "count", "value": 6662.0}, {"metric": "share_negative", "value": 0.13932221624529317},
                                                                           {"metric": "latest_date", "value": "2026-08-20"}, {"metric": "note", "value": "=HYPERLINK(\"http://x\")"}]},
                   {"id": "periods", "columns": ["start", "end", "observations", "extreme"],
                    "rows": [{"start": "2022-07-06", "end": None, "observations": 537, "extreme": -1.0800000000000005}]}],
    },
    "inputs": {"start": "1996-01-01", "end": "2026-08-21"},
    "provenance": [{"provider": "sample", "dataset": "fred_series", "symbol": "DGS10", "as_of": "2026-08-20", "live": False, "detail": {"vendor": "FRED"}},
                   {"provider": "sample", "dataset": "fred_series", "symbol": "DGS2", "as_of": "2026-08-20", "live": False, "detail": {"vendor": "FRED"}}],
}
META = ResultMeta(slug="yield-curve-10y-2y", name="Yield curve", version=3, run_id="run-1")


def read_csv(data: bytes) -> tuple[dict[str, str], pd.DataFrame]:
    text = data.decode()
    lines = dict(line.split(",", 1) for line in text.splitlines() if line.startswith("# "))
    return {k[2:]: v for k, v in lines.items()}, pd.read_csv(io.StringIO(text), comment="#")


@pytest.mark.parametrize(("name", "label"), [("one_sigma_move", "One-sigma move"), ("atm_iv", "ATM IV"), ("move_pct", "Move (%)"),
                                             ("days_to_expiry", "Days to expiry"), ("open_interest", "Open interest"), ("Already Readable", "Already Readable")])
def test_labels_are_readable_not_snake_case(name, label):
    assert readable(name) == label


def test_tables_show_empty_cells_empty_dates_as_dates_and_counts_as_whole_numbers():
    record = table_view(RESULT["outputs"]["tables"][0]).frame
    assert list(record["Metric"]) == ["Count", "Share negative", "Latest date", "Note"]
    assert list(record["Value"]) == ["6,662", "13.9%", "2026-08-20", '=HYPERLINK("http://x")']
    frame = table_view(RESULT["outputs"]["tables"][1])
    assert list(frame.frame.columns) == ["Start", "End", "Observations", "Extreme"]
    assert frame.frame["End"].tolist() == [""], "an empty cell is empty, never the text None"
    assert frame.frame["Observations"].dtype.kind in "if" and frame.formats["Observations"] == ",.0f"
    assert frame.frame["Extreme"].tolist() == [-1.08]


def test_series_csv_carries_its_metadata_and_no_float_noise():
    meta, frame = read_csv(series_csv(RESULT, META, RESULT["outputs"]["series"][0]))
    assert meta["model"] == "Yield curve (yield-curve-10y-2y)" and meta["version"] == "3" and meta["run"] == "run-1"
    assert meta["inputs"] == "start=1996-01-01; end=2026-08-21" and meta["series ids"] == "DGS10; DGS2"
    assert meta["as of"] == "2026-08-20" and meta["provider"] == "bundled sample (FRED)" and meta["units"] == "spread: 10y - 2y (pp)"
    assert list(frame.columns) == ["date", "spread"] and frame["spread"].tolist() == [0.56, -0.07]
    meta, frame = read_csv(series_csv(RESULT, META, RESULT["outputs"]["series"][1]))
    assert meta["units"] == "iv: fraction (0.124 = 12.4%)" and list(frame.columns) == ["strike", "iv"]
    assert frame["iv"].tolist()[0] == 0.2012346 and pd.isna(frame["iv"].tolist()[1])


def test_table_csv_keeps_numbers_as_numbers_and_escapes_formulas():
    data = table_csv(RESULT, META, RESULT["outputs"]["tables"][0])
    _, frame = read_csv(data)
    assert frame["value"].tolist()[:3] == ["6662", "0.1393222", "2026-08-20"]
    assert "\ncount,6662\n" in data.decode(), "a count is written as a number, not '6,662'"
    assert "'=HYPERLINK" in data.decode(), "a spreadsheet shows the formula as text instead of running it"


@pytest.mark.parametrize(("cell", "expected"), [("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
                                                ("plain", "plain"), (-2.5, -2.5), (7436.0, 7436)])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(cell, expected):
    assert safe_cell(cell) == expected


def test_metadata_lines_are_escaped_too():
    result = dict(RESULT, inputs={"symbol": "=cmd|' /C calc'!A0"})
    text = series_csv(result, META, RESULT["outputs"]["series"][0]).decode()
    assert "# inputs,'symbol==cmd" not in text and "# inputs,symbol==cmd" in text
