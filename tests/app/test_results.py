"""Pure helpers behind the results panel, the form and the escaping of user text."""

from __future__ import annotations

import json
from datetime import date

import pytest

from components.results_panel import data_mode_text, result_json, series_frame, table_frame
from components.run_form import context_query, prefill_from_query, widget_value
from components.text import escape
from contracts.dsl import InputField, InputSchema

SCHEMA = InputSchema(fields=[InputField(name="symbol", type="symbol"), InputField(name="start", type="date"), InputField(name="window", type="integer")])


def test_a_column_mixing_dates_and_numbers_becomes_text():
    frame = table_frame({"columns": ["metric", "value"], "rows": [{"metric": "latest", "value": 0.5}, {"metric": "as_of", "value": "2026-08-20"}]})
    assert list(frame["value"]) == ["0.5", "2026-08-20"]


def test_a_numeric_column_stays_numeric():
    frame = table_frame({"columns": ["strike", "iv"], "rows": [{"strike": 100, "iv": 0.2}, {"strike": 105, "iv": None}]})
    assert frame["iv"].dtype.kind == "f"


def test_series_csv_columns_name_the_axis():
    dated = series_frame({"id": "spread", "x": ["2026-01-02"], "y": [1.0]})
    assert list(dated.columns) == ["date", "spread"]
    strikes = series_frame({"id": "smile.iv", "column": "iv", "x": [100], "y": [0.2]})
    assert list(strikes.columns) == ["x", "iv"]


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
    assert escaped.replace("\\", "") == text.replace("\\", "")
    assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch in "<>*_[]()`:$" and i > 0)


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
