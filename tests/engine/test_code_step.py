"""The ``code`` operation: the engine hands the fetch steps' values to a code runner and uses what it returns.

These tests give the engine a runner that computes on the host, so they check the engine's side of the
contract (what the code receives, type checks, errors, the time budget) without a sandbox; the sandbox
itself runs the same models in tests/sandbox/test_code_models.py.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pandas as pd
import pytest

from contracts.code import ARGS_KEY, CodeBundle
from contracts.errors import CodeFailed, StepFailed, ValidationFailed
from contracts.limits import Limits
from engine.executor import execute
from engine.validator import static_types, validate
from services.code_templates import TEMPLATES

TODAY = date(2026, 8, 21)
TEMPLATE = TEMPLATES["python"]
BUNDLE = CodeBundle("python", TEMPLATE.code, ("pandas",))
INPUTS = {"start": "2024-01-01", "end": "2024-12-31"}


class HostRunner:
    """Stands in for the sandbox: calls a Python function on the host and remembers what it was given."""

    def __init__(self, fn: Any):
        self.fn = fn
        self.calls: list[tuple[CodeBundle, str, dict[str, Any], Limits]] = []

    def run(self, bundle: CodeBundle, entrypoint: str, inputs: dict[str, Any], limits: Limits) -> Any:
        self.calls.append((bundle, entrypoint, inputs, limits))
        return self.fn(inputs)


def spread(inputs: dict[str, Any]) -> pd.Series:
    return (inputs["dgs10"] - inputs["dgs2"]).dropna()


def with_code_step(**params: Any) -> dict[str, Any]:
    doc = copy.deepcopy(TEMPLATE.dsl)
    doc["steps"][2]["params"] = {"returns": "series", **params}
    return doc


def test_the_code_step_receives_each_input_step_by_id_and_the_run_inputs_as_args(sample_data):
    runner = HostRunner(spread)
    execute(TEMPLATE.dsl, INPUTS, sample_data, input_schema=TEMPLATE.input_schema, today=TODAY, code=BUNDLE, code_runner=runner)
    (bundle, entrypoint, given, limits), = runner.calls
    assert bundle is BUNDLE and entrypoint == "run"
    assert set(given) == {"dgs10", "dgs2", ARGS_KEY}
    assert isinstance(given["dgs10"], pd.Series) and given["dgs10"].index.min() >= pd.Timestamp("2024-01-01")
    assert given[ARGS_KEY] == {"start": "2024-01-01", "end": "2024-12-31"}
    assert 1000 <= limits.max_runtime_ms <= Limits().max_runtime_ms


def test_a_code_model_gives_the_seed_spread_and_keeps_fetch_provenance(sample_data):
    result = execute(TEMPLATE.dsl, INPUTS, sample_data, input_schema=TEMPLATE.input_schema, today=TODAY, code=BUNDLE, code_runner=HostRunner(spread))
    published = sample_data.series("T10Y2Y", date(2024, 1, 1), date(2024, 12, 31))
    ours = dict(zip(result.outputs["series"][0]["x"], result.outputs["series"][0]["y"], strict=True))
    diffs = [abs(ours[d.date().isoformat()] - v) for d, v in published.items() if d.date().isoformat() in ours]
    assert len(diffs) > 240 and max(diffs) <= 0.005 + 1e-9  # FRED's own T10Y2Y, rounded to 0.01
    assert {p["symbol"] for p in result.provenance} == {"DGS10", "DGS2"}  # the fetches ran on the trusted side
    assert [t.operation for t in result.trace if t.step == "spread"] == ["code"]


@pytest.mark.parametrize(
    ("returns", "value", "table"),
    [
        ("scalar", 1.5, None),
        ("record", {"latest": 0.3, "label": "pp"}, [{"metric": "latest", "value": 0.3}, {"metric": "label", "value": "pp"}]),
    ],
)
def test_scalars_and_records_flow_into_outputs_like_any_step(sample_data, returns, value, table):
    doc = with_code_step(returns=returns)
    doc["steps"] = doc["steps"][:3]
    doc["outputs"] = {"tables": [{"id": "out", "source": "spread", "columns": ["metric", "value"]}]} if table else {
        "metrics": [{"id": "out", "source": "spread", "label": "Value"}]}
    result = execute(doc, INPUTS, sample_data, input_schema=TEMPLATE.input_schema, today=TODAY, code=BUNDLE, code_runner=HostRunner(lambda _: value))
    if table:
        assert result.outputs["tables"][0]["rows"] == table
    else:
        assert result.outputs["metrics"][0]["value"] == 1.5


def test_the_declared_type_is_what_later_steps_and_the_validator_see():
    assert static_types(TEMPLATE.dsl, TEMPLATE.input_schema)["spread"].value == "series"
    doc = with_code_step(returns="scalar")  # summary takes a series: the validator says so before anything runs
    assert any(p.code == "E_TYPE" and "summary" in p.message for p in validate(doc, TEMPLATE.input_schema))


def test_a_value_of_another_kind_than_declared_fails_the_step_with_a_sentence(sample_data):
    with pytest.raises(StepFailed) as caught:
        execute(TEMPLATE.dsl, INPUTS, sample_data, input_schema=TEMPLATE.input_schema, today=TODAY, code=BUNDLE, code_runner=HostRunner(lambda _: 2.0))
    assert caught.value.step_id == "spread"
    assert "the code returned a number but the step declares a series" in str(caught.value)


def test_a_sandbox_error_becomes_the_step_failure_with_the_sandbox_code(sample_data):
    def boom(_: Any) -> Any:
        raise CodeFailed("The code raised ValueError on line 3: no data.", "E_SANDBOX_CODE")

    with pytest.raises(StepFailed) as caught:
        execute(TEMPLATE.dsl, INPUTS, sample_data, input_schema=TEMPLATE.input_schema, today=TODAY, code=BUNDLE, code_runner=HostRunner(boom))
    assert str(caught.value) == "Step 'spread' (code) failed: The code raised ValueError on line 3: no data."
    assert caught.value.cause_code == "E_SANDBOX_CODE"


def test_a_code_step_without_code_says_what_to_do(sample_data):
    with pytest.raises(StepFailed, match="no code to run; save the model's code first"):
        execute(TEMPLATE.dsl, INPUTS, sample_data, input_schema=TEMPLATE.input_schema, today=TODAY)


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        (lambda d: d["steps"].append({"id": "again", "operation": "code", "inputs": ["dgs10"], "params": {"returns": "series"}}), "E_CODE_STEPS", "second code step"),
        (lambda d: d["steps"][2].update(params={"returns": "list"}), "E_PARAM", "series"),
        (lambda d: d["steps"][2].update(params={"returns": "series", "entrypoint": "os.system"}), "E_PARAM", "pattern"),
        (lambda d: (d["steps"][0].update(id="args"), d["steps"][2].update(inputs=["args", "dgs2"])), "E_CODE_STEPS", "run inputs under 'args'"),
    ],
)
def test_the_validator_refuses_malformed_code_steps(change, code, fragment):
    doc = copy.deepcopy(TEMPLATE.dsl)
    change(doc)
    problems = [p for p in validate(doc, TEMPLATE.input_schema) if p.code == code]
    assert problems and fragment in str(problems[0]), validate(doc, TEMPLATE.input_schema)


def test_the_code_step_gets_only_what_is_left_of_the_run_clock(sample_data):
    runner = HostRunner(spread)
    execute(TEMPLATE.dsl, INPUTS, sample_data, input_schema=TEMPLATE.input_schema, today=TODAY, code=BUNDLE, code_runner=runner,
            limits=Limits(max_runtime_ms=5000))
    assert runner.calls[0][3].max_runtime_ms <= 5000


def test_a_code_model_validates_like_any_model():
    assert validate(TEMPLATE.dsl, TEMPLATE.input_schema) == []
    with pytest.raises(ValidationFailed):
        execute({"version": "1.0", "steps": [{"id": "c", "operation": "code", "params": {}}], "outputs": {"metrics": [{"id": "m", "source": "c", "label": "x"}]}}, {})
