"""Property tests: random and malformed documents never crash the validator or the executor with
anything but the engine's own typed errors."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import DataAccess
from engine.errors import EngineError, Problem
from engine.executor import execute
from engine.registry import load_all
from engine.validator import validate

OPS = sorted(load_all())
DATA = DataAccess.sample()
SCHEMA = {"fields": [{"name": "start", "type": "date", "default": "2024-01-01"}, {"name": "end", "type": "date", "default": "2024-06-30"}]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 500) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)

param_values = st.sampled_from([
    "DGS10", "UNRATE", "SPY", "$start", "$end", "$nope", "$$x", 0, 1, 3, 5, 21, -1, 0.5, 1.5, None, True,
    "2024-03-01", "not-a-date", "inner", "ffill", "lt", "gt", "close", "mean", "M", [], ["close"], {"a": 1},
])
param_names = st.sampled_from([
    "series_id", "symbol", "start", "end", "window", "periods", "constant", "align", "factor", "value", "op",
    "field", "rule", "how", "yoy", "column", "columns", "n", "by", "confidence", "expiration", "bogus",
])


@st.composite
def random_models(draw):
    count = draw(st.integers(1, 6))
    steps = []
    for index in range(count):
        earlier = [s["id"] for s in steps]
        refs = st.sampled_from([*earlier, "ghost"]) if earlier else st.just("ghost")
        step = {
            "id": draw(st.sampled_from([f"s{index}", f"s{index}", "s0", "Bad-Id"])),
            "operation": draw(st.sampled_from([*OPS, "rolling_men"])),
            "params": draw(st.dictionaries(param_names, param_values, max_size=4)),
            "inputs": draw(st.lists(refs, max_size=3)),
        }
        steps.append(step)
    sources = [s["id"] for s in steps] + ["ghost"]
    outputs = {
        "series": [{"id": "chart", "source": draw(st.sampled_from(sources)), "label": "c"}] if draw(st.booleans()) else [],
        "tables": [{"id": "table", "source": draw(st.sampled_from(sources))}] if draw(st.booleans()) else [],
        "metrics": [{"id": "metric", "source": draw(st.sampled_from(sources)), "label": "m", "field": draw(st.sampled_from([None, "latest", "ratio"]))}],
    }
    return {"version": draw(st.sampled_from(["1.0", "1.0", "1.0", "2.0"])), "steps": steps, "outputs": outputs}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_the_validator_survives_arbitrary_json(document):
    problems = validate(document, SCHEMA)
    assert problems and all(isinstance(p, Problem) for p in problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_models())
def test_the_validator_returns_problems_never_raises(model):
    assert all(isinstance(p, Problem) for p in validate(model, SCHEMA))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_models())
def test_the_executor_raises_only_typed_engine_errors(model):
    try:
        result = execute(model, {}, DATA, input_schema=SCHEMA, today=date(2026, 11, 26))
    except EngineError as exc:
        assert str(exc)  # always a sentence
        assert getattr(exc, "cause_code", "") != "E_INTERNAL", str(exc)
    else:
        assert result.dumps()
