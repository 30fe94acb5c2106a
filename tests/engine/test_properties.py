"""Property tests: random and malformed documents never crash the validator or the executor with
anything but the engine's own typed errors."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.errors import EngineError, Problem
from engine.executor import execute
from engine.registry import ValueType, load_all
from engine.validator import validate
from services.data import sample_access

OPS = sorted(load_all())
DATA = sample_access()
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


# Chains that mostly type-check, over real sample data, so the primitives themselves are exercised
# with awkward parameters (tiny windows, empty ranges, mixed frequencies, constants of zero).
SERIES_OPS = sorted(
    name for name, op in load_all().items()
    if op.family not in ("fetch", "options") and op.inputs and all(ValueType.SERIES in slot.types for slot in op.inputs)
)
PARAM_POOL = {
    "window": [1, 2, 3, 5, 20, 300], "periods": [1, 2, 12], "span": [1.0, 5.0], "rule": ["W", "M", "Q", "A"],
    "how": ["mean", "last", "sum", "max"], "yoy": [True, False], "constant": [0.0, 1.5, -2.0], "factor": [0.0, 100.0, -1.0],
    "offset": [0.0, 1.0], "lower": [0.0], "upper": [1.0], "op": ["lt", "gt", "between", "eq"], "value": [0.0, 1.0, 3.0],
    "value2": [5.0], "min_length": [1, 3], "method": ["pearson", "spearman"], "align": ["inner", "ffill", "same_period", "mean", "last", "sum"], "pct": [True, False],
    "descending": [True, False], "base": ["e", "10"], "min_periods": [1, 2], "windows": [[5, 21], [2]], "returns": [True, False],
    "start": ["2020-01-01"], "end": ["2021-06-30"],
    # issue 10: calendar windows and shifts, threshold tolerance, forward windows, partial periods, matrix dates
    "unit": ["observations", "days", "months", "years"], "tolerance": [0.0, 1e-9, 0.5], "direction": ["trailing", "forward"],
    "partial": ["drop", "keep"], "dates": ["common", "pairwise"],
}
SOURCES = [("fetch_series", {"series_id": s}) for s in ("DGS10", "UNRATE", "CPIAUCSL", "ICSA", "GDPC1", "T10Y2Y")] + [
    ("fetch_prices", {"symbol": s}) for s in ("SPY", "AAPL", "VIX", "GLD")
]
RANGES = [("2018-01-01", "2021-12-31"), ("2024-01-01", "2024-03-31"), ("2026-08-01", "2026-08-21"), ("1950-01-01", "1950-02-01")]


@st.composite
def series_chains(draw):
    steps = []
    for index in range(draw(st.integers(1, 2))):
        operation, params = draw(st.sampled_from(SOURCES))
        start, end = draw(st.sampled_from(RANGES))
        steps.append({"id": f"src{index}", "operation": operation, "params": {**params, "start": start, "end": end}})
    for index in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(SERIES_OPS))
        op = load_all()[name]
        params = {k: draw(st.sampled_from(PARAM_POOL[k])) for k in op.params_model.model_fields if k in PARAM_POOL and draw(st.booleans())}
        count = draw(st.integers(2, 3)) if op.max_inputs is None else max(op.min_inputs, 1)
        inputs = [draw(st.sampled_from([s["id"] for s in steps])) for _ in range(count)]
        steps.append({"id": f"s{index}", "operation": name, "params": params, "inputs": inputs})
    return {"version": "1.0", "steps": steps, "outputs": {"tables": [{"id": "t", "source": steps[-1]["id"]}]}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(series_chains())
def test_primitives_on_real_data_fail_only_with_sentences(model):
    try:
        execute(model, {}, DATA, today=date(2026, 11, 26))
    except EngineError as exc:
        assert str(exc) and getattr(exc, "cause_code", "") != "E_INTERNAL", str(exc)


OPTION_OPS = sorted(name for name, op in load_all().items() if op.family == "options")
OPTION_PARAMS = {
    "expiration": ["2026-05-08", "2026-08-28", "2026-08-07", "2030-01-01"], "rate": [0.0, 0.05, -0.01], "dividend_yield": [0.0, 0.02],
    "confidence": [0.5, 0.6827, 0.99], "spot": [1.0, 700.0], "by": ["volume", "open_interest"], "price": ["mid", "last"],
    "use_vendor_iv": [True, False], "source": ["computed", "vendor", "vendor_iv"], "min_volume": [0, 10, 10**9],
    "min_open_interest": [0, 10**9], "max_days": [1, 30, 400], "contract_size": [100, 1], "delta": [0.1, 0.25, 0.4],
    # issue 10: carry, exercise style and time basis on every pricing operation
    "carry": ["implied", "given", "zero"], "exercise_style": ["european", "american"], "time_basis": ["days", "clock"],
}


@st.composite
def option_models(draw):
    chain = {"symbol": draw(st.sampled_from(["SPY", "AAPL", "MSFT"]))}
    choice = draw(st.sampled_from(["nearest", "target", "all", "expiration"]))
    if choice == "target":
        chain["target_days"] = draw(st.sampled_from([0, 7, 30, 365, 3000]))
    elif choice == "all":
        chain.update(all_expirations=True, max_days=draw(st.sampled_from([1, 30, 1000])))
    elif choice == "expiration":
        chain["expiration"] = draw(st.sampled_from(OPTION_PARAMS["expiration"]))
    steps = [{"id": "chain", "operation": "fetch_options_chain", "params": chain}]
    name = draw(st.sampled_from(OPTION_OPS))
    fields = load_all()[name].params_model.model_fields
    params = {k: draw(st.sampled_from(OPTION_PARAMS[k])) for k in fields if k in OPTION_PARAMS and draw(st.booleans())}
    source = "chain"
    if name == "calculate_expected_move":
        steps.append({"id": "straddle", "operation": "find_atm_straddle", "inputs": ["chain"]})
        source = "straddle"
    steps.append({"id": "out", "operation": name, "params": params, "inputs": [source]})
    return {"version": "1.0", "steps": steps, "outputs": {"tables": [{"id": "t", "source": "out"}]}}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option_models())
def test_options_on_real_chains_fail_only_with_sentences(model):
    try:
        execute(model, {}, DATA, today=date(2026, 11, 26))
    except EngineError as exc:
        assert str(exc) and getattr(exc, "cause_code", "") != "E_INTERNAL", str(exc)
