"""The validator reports every problem at once, each with a stable code, a JSON path and a hint."""

from __future__ import annotations

import copy

import pytest

from contracts.errors import ValidationFailed
from engine.validator import check, validate

SCHEMA = {"fields": [
    {"name": "start", "type": "date", "default": "today-5y"},
    {"name": "end", "type": "date", "default": "today"},
]}

SPREAD = {
    "version": "1.0",
    "steps": [
        {"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "$start", "end": "$end"}},
        {"id": "dgs2", "operation": "fetch_series", "params": {"series_id": "DGS2", "start": "$start", "end": "$end"}},
        {"id": "spread", "operation": "sub", "inputs": ["dgs10", "dgs2"]},
        {"id": "latest", "operation": "summary", "inputs": ["spread"]},
    ],
    "outputs": {
        "series": [{"id": "spread", "source": "spread", "label": "10y - 2y (pp)", "color": "#1f77b4"}],
        "tables": [{"id": "stats", "source": "latest", "columns": ["metric", "value"]}],
    },
}


def doc(**changes):
    out = copy.deepcopy(SPREAD)
    out.update(changes)
    return out


def codes(problems):
    return [p.code for p in problems]


def test_the_design_example_is_valid():
    assert validate(SPREAD, SCHEMA) == []
    assert check(SPREAD, SCHEMA).steps[2].operation == "sub"


@pytest.mark.parametrize("bad, code, path", [
    ({"version": "2.0"}, "E_VERSION", "$.version"),
    ({"steps": []}, "E_SCHEMA", "$.steps"),
    ({"extra": 1}, "E_SCHEMA", "$.extra"),
])
def test_root_problems(bad, code, path):
    problems = validate(doc(**bad), SCHEMA)
    assert (code, path) in [(p.code, p.path) for p in problems]


def test_a_typo_in_an_operation_suggests_the_closest_name():
    broken = doc()
    broken["steps"].append({"id": "avg", "operation": "rolling_men", "inputs": ["spread"], "params": {"window": 5}})
    problems = validate(broken, SCHEMA)
    assert str(problems[0]) == "E_UNKNOWN_OP at $.steps[4].operation: unknown operation 'rolling_men' (did you mean 'rolling_mean'?)"


def test_every_problem_is_reported_at_once():
    broken = doc(version="9")
    broken["steps"][1]["id"] = "dgs10"  # duplicate
    broken["steps"][2]["inputs"] = ["dgs10", "dgs3"]  # unknown ref
    broken["steps"][0]["params"]["units"] = "percent"  # bad param
    broken["steps"][0]["params"]["end"] = "$finish"  # undeclared input
    broken["outputs"]["tables"][0]["source"] = "nowhere"
    found = set(codes(validate(broken, SCHEMA)))
    assert {"E_VERSION", "E_DUPLICATE_ID", "E_UNKNOWN_REF", "E_PARAM", "E_UNDECLARED_INPUT", "E_OUTPUT_SOURCE"} <= found
    with pytest.raises(ValidationFailed) as info:
        check(broken, SCHEMA)
    assert str(info.value).startswith(f"{len(info.value.problems)} errors found:")


def test_cycles_are_found_and_named():
    looped = doc()
    looped["steps"][0]["inputs"] = ["spread"]
    looped["steps"][0]["operation"] = "rolling_mean"
    looped["steps"][0]["params"] = {"window": 3}
    problems = validate(looped, SCHEMA)
    cycle = [p for p in problems if p.code == "E_CYCLE"]
    assert cycle and "dgs10" in cycle[0].message and "spread" in cycle[0].message


def test_a_step_using_itself_is_a_cycle():
    selfish = doc()
    selfish["steps"][2]["inputs"] = ["spread", "dgs2"]
    assert "E_CYCLE" in codes(validate(selfish, SCHEMA))


def test_type_mismatch_names_the_expected_kind():
    mismatched = doc()
    mismatched["steps"].append({"id": "again", "operation": "summary", "inputs": ["latest"]})
    problems = [p for p in validate(mismatched, SCHEMA) if p.code == "E_TYPE"]
    assert problems and problems[0].path == "$.steps[4].inputs[0]"
    assert "expects a series" in problems[0].message and "produces a record" in problems[0].message


def test_arity_is_checked():
    short = doc()
    short["steps"][3]["inputs"] = []
    assert "E_ARITY" in codes(validate(short, SCHEMA))


def test_unknown_params_are_refused_with_the_list_of_known_ones():
    extra = doc()
    extra["steps"][0]["params"]["seriesid"] = "X"
    problems = [p for p in validate(extra, SCHEMA) if p.code == "E_PARAM"]
    assert problems[0].path == "$.steps[0].params.seriesid"
    assert "series_id" in problems[0].hint


def test_dollar_dollar_is_a_literal_dollar():
    literal = doc()
    literal["steps"][0]["params"]["series_id"] = "$$DGS10"
    assert validate(literal, SCHEMA) == []


def test_metric_from_a_record_needs_a_field():
    metric = doc()
    metric["outputs"]["metrics"] = [{"id": "m", "source": "latest", "label": "Latest"}]
    assert "E_OUTPUT_COLUMN" in codes(validate(metric, SCHEMA))


def test_chart_of_a_record_is_refused():
    chart = doc()
    chart["outputs"]["series"].append({"id": "bad", "source": "latest", "label": "x"})
    assert "E_OUTPUT_SOURCE" in codes(validate(chart, SCHEMA))


def test_table_columns_of_a_known_frame_are_checked():
    frame = doc()
    frame["steps"].append({"id": "bars", "operation": "fetch_bars", "params": {"symbol": "SPY"}})
    frame["outputs"]["tables"].append({"id": "bars", "source": "bars", "columns": ["close", "vwap"]})
    problems = [p for p in validate(frame, SCHEMA) if p.code == "E_OUTPUT_COLUMN"]
    assert problems and "vwap" in problems[0].message


def test_too_many_steps_is_a_limit_error():
    big = doc()
    big["steps"] += [{"id": f"s{i}", "operation": "abs", "inputs": ["spread"]} for i in range(70)]
    assert "E_LIMIT" in codes(validate(big, SCHEMA))


def test_a_broken_input_schema_is_reported():
    problems = validate(SPREAD, {"fields": [{"name": "start", "type": "calendar"}]})
    assert "E_INPUT_SCHEMA" in codes(problems)


def test_non_object_documents_are_one_clear_problem():
    assert [str(p) for p in validate([1, 2], SCHEMA)] == ["E_SCHEMA at $: a model must be a JSON object, not list"]


def test_reference_marks_and_formats_are_checked():
    marked = doc()
    marked["outputs"]["series"][0]["reference"] = [
        {"value": 0, "label": "zero"},
        {"axis": "x", "value": "2020-03-01", "label": "March 2020"},
        {"axis": "x", "metric": "latets", "label": "latest"},
        {"value": "soon", "label": "bad"},
    ]
    marked["outputs"]["metrics"] = [{"id": "latest", "source": "latest", "field": "latest", "label": "Latest"}]
    problems = validate(marked, SCHEMA)
    assert [(p.code, p.path) for p in problems] == [
        ("E_OUTPUT_SOURCE", "$.outputs.series[0].reference[2].metric"),
        ("E_BAD_PARAM", "$.outputs.series[0].reference[3].value"),
    ]
    assert "did you mean 'latest'?" in problems[0].hint
    marked["outputs"]["series"][0]["format"] = ".1q"
    assert "E_SCHEMA" in codes(validate(marked, SCHEMA))


def test_a_reference_mark_needs_exactly_one_place():
    marked = doc()
    marked["outputs"]["series"][0]["reference"] = [{"label": "nowhere"}]
    assert "exactly one of 'value' and 'metric'" in validate(marked, SCHEMA)[0].message


def test_input_constraints_must_name_fields_that_exist():
    schema = {"fields": [
        {"name": "start", "type": "date"},
        {"name": "end", "type": "date", "after": "strat", "min_span": {"field": "windw", "unit": "trading_days"}},
        {"name": "window", "type": "integer"},
        {"name": "symbol", "type": "symbol", "after": "start"},
        {"name": "other", "type": "date", "min_span": {"value": 30}},
    ]}
    problems = [(p.path, p.message) for p in validate(SPREAD, schema)]
    assert problems == [
        ("$.input_schema.fields[1].after", "input 'end' must follow 'strat', which is not another date input"),
        ("$.input_schema.fields[1].min_span.field", "the minimum span of 'end' reads 'windw', which is not an integer input"),
        ("$.input_schema.fields[3].after", "'after' applies to date inputs, and 'symbol' is a symbol"),
        ("$.input_schema.fields[4].min_span", "input 'other' has a minimum span but no 'after' date to measure it from"),
    ]
