"""The executor runs in topological order, traces every step, records provenance and explains failures."""

from __future__ import annotations

import json
from datetime import date

import pytest

from contracts.errors import InputInvalid, LimitExceeded, StepFailed, ValidationFailed
from contracts.limits import Limits
from engine.executor import RunResult, execute
from tests.engine.test_validator import SCHEMA, SPREAD, doc

TODAY = date(2026, 11, 26)


def test_the_spread_runs_on_sample_data_and_matches_fred_published_t10y2y(sample_data):
    result = execute(SPREAD, {"start": "2024-01-01", "end": "2024-12-31"}, sample_data, input_schema=SCHEMA, today=TODAY)
    series = result.outputs["series"][0]
    assert series["x"][0] == "2024-01-02" and series["x"][-1] == "2024-12-31"
    published = sample_data.series("T10Y2Y", "2024-01-01", "2024-12-31")
    ours = dict(zip(series["x"], series["y"], strict=True))
    diffs = [abs(ours[d.date().isoformat()] - v) for d, v in published.items() if d.date().isoformat() in ours]
    assert len(diffs) > 240 and max(diffs) <= 0.005 + 1e-9


def test_steps_run_in_topological_order_whatever_the_document_order(sample_data):
    shuffled = doc()
    shuffled["steps"] = list(reversed(shuffled["steps"]))
    result = execute(shuffled, {}, sample_data, input_schema=SCHEMA, today=TODAY)
    order = [t.step for t in result.trace]
    assert order.index("spread") > order.index("dgs10") and order.index("latest") > order.index("spread")


def test_trace_and_provenance_say_what_ran_and_where_data_came_from(sample_data):
    result = execute(SPREAD, {}, sample_data, input_schema=SCHEMA, today=TODAY)
    assert [t.operation for t in result.trace if t.step.startswith("dgs")] == ["fetch_series", "fetch_series"]
    assert all(t.ms >= 0 and t.rows > 0 for t in result.trace)
    assert {(p["provider"], p["symbol"]) for p in result.provenance} == {("sample", "DGS10"), ("sample", "DGS2")}
    assert result.provenance[0]["as_of"] == "2026-08-20"
    assert result.runtime_ms > 0


def test_result_round_trips_through_strict_json(sample_data):
    result = execute(SPREAD, {}, sample_data, input_schema=SCHEMA, today=TODAY)
    text = result.dumps()
    assert "NaN" not in text
    again = RunResult.from_json(json.loads(text))
    assert again.outputs == result.outputs and again.trace == result.trace


def test_nan_becomes_null_and_dates_are_iso(sample_data):
    gaps = doc()
    gaps["steps"][2] = {"id": "spread", "operation": "div", "inputs": ["dgs10", "dgs2"]}
    gaps["steps"].insert(2, {"id": "zero", "operation": "scale", "params": {"factor": 0}, "inputs": ["dgs2"]})
    gaps["steps"][3]["inputs"] = ["dgs10", "zero"]  # division by zero everywhere
    gaps["steps"][4]["inputs"] = ["dgs10"]
    result = execute(gaps, {"start": "2024-01-01", "end": "2024-01-31"}, sample_data, input_schema=SCHEMA, today=TODAY)
    assert set(result.outputs["series"][0]["y"]) == {None}
    assert result.outputs["series"][0]["x"][0] == "2024-01-02"


def test_invalid_documents_raise_validation_failed_before_any_fetch(sample_data):
    with pytest.raises(ValidationFailed):
        execute(doc(version="0.9"), {}, sample_data, input_schema=SCHEMA)
    assert sample_data.provenance == []


def test_bad_inputs_are_reported_per_field(sample_data):
    with pytest.raises(InputInvalid) as info:
        execute(SPREAD, {"start": "yesterday-ish", "colour": "red"}, sample_data, input_schema=SCHEMA)
    assert set(info.value.fields) == {"start", "colour"}
    assert "not a date" in info.value.fields["start"]


def test_an_unknown_series_fails_naming_the_step_and_what_the_sample_has(sample_data):
    unknown = doc()
    unknown["steps"][0]["params"]["series_id"] = "DGS11"
    with pytest.raises(StepFailed) as info:
        execute(unknown, {}, sample_data, input_schema=SCHEMA)
    message = str(info.value)
    assert message.startswith("Step 'dgs10' (fetch_series) failed: The sample data has no FRED series 'DGS11'.")
    assert "DGS10" in message and info.value.cause_code == "E_DATA_NOT_FOUND"


def test_a_range_with_no_data_is_explained(sample_data):
    with pytest.raises(StepFailed) as info:
        execute(SPREAD, {"start": "1900-01-01", "end": "1900-12-31"}, sample_data, input_schema=SCHEMA)
    assert "no observations between 1900-01-01 and 1900-12-31" in str(info.value)


def test_point_limit_stops_a_run(sample_data):
    with pytest.raises(LimitExceeded, match="over the limit of 100"):
        execute(SPREAD, {}, sample_data, input_schema=SCHEMA, limits=Limits(max_points=100), today=TODAY)


def test_output_size_limit_stops_a_run(sample_data):
    with pytest.raises(LimitExceeded, match="KB"):
        execute(SPREAD, {"start": "1990-01-01"}, sample_data, input_schema=SCHEMA, limits=Limits(max_output_kb=1), today=TODAY)


def test_a_frame_series_output_gives_one_entry_per_column(sample_data):
    bars = {
        "version": "1.0",
        "steps": [{"id": "bars", "operation": "fetch_bars", "params": {"symbol": "SPY", "start": "2026-05-01", "end": "2026-05-08"}}],
        "outputs": {"series": [{"id": "hl", "source": "bars", "label": "SPY", "y": ["high", "low"]}]},
    }
    result = execute(bars, {}, sample_data)
    assert [s["id"] for s in result.outputs["series"]] == ["hl.high", "hl.low"]
    first = result.outputs["series"][0]
    assert first["x"][0] == "2026-05-01" and len(first["x"]) == len(first["y"]) == 6


def test_display_options_pass_through_to_the_stored_series(sample_data):
    from engine.executor import execute

    doc = {
        "version": "1.0",
        "steps": [{"id": "u", "operation": "fetch_series", "params": {"series_id": "UNRATE", "start": "2020-01-01", "end": "2020-12-31"}}],
        "outputs": {"series": [{"id": "u", "source": "u", "label": "Unemployment", "unit": "%", "format": ".1f", "x_title": "Month",
                                "reference": [{"value": 5, "label": "five"}, {"axis": "x", "value": "2020-04-01", "to": "2020-06-01", "label": "lockdown"}]}],
                    "tables": [{"id": "t", "source": "u", "formats": {"value": ".1f"}}]},
    }
    result = execute(doc, {}, sample_data).to_json()
    entry = result["outputs"]["series"][0]
    assert entry["unit"] == "%" and entry["format"] == ".1f" and entry["x_title"] == "Month"
    assert entry["reference"] == [{"axis": "y", "value": 5.0, "label": "five"}, {"axis": "x", "value": "2020-04-01", "to": "2020-06-01", "label": "lockdown"}]
    assert result["outputs"]["tables"][0]["formats"] == {"value": ".1f"}
