"""Honest code gives the right numbers: the 10y-2y spread, a 20-day rolling z-score and SPY's drawdown,
written in Python and in JavaScript, computed in the sandbox on the real bundled sample data and
compared with the same computation in pandas on the host."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sandbox import SandboxLimits

SAMPLE = Path(__file__).resolve().parents[2] / "gateways" / "sample_data"
LIMITS = SandboxLimits()  # the product's defaults


def _fred(series_id: str) -> pd.Series:
    frame = pd.read_csv(SAMPLE / "fred" / f"{series_id}.csv.gz", parse_dates=["observation_date"], index_col="observation_date")
    return frame[series_id].astype("float64").rename(series_id)


@pytest.fixture(scope="module")
def yields() -> dict[str, pd.Series]:
    return {"dgs10": _fred("DGS10"), "dgs2": _fred("DGS2")}


@pytest.fixture(scope="module")
def spy_close() -> pd.Series:
    frame = pd.read_csv(SAMPLE / "equities" / "daily_split_adjusted" / "SPY.csv.gz", parse_dates=["date"], index_col="date")
    return frame["close"].astype("float64").rename("SPY")


def reference_spread(dgs10: pd.Series, dgs2: pd.Series) -> pd.Series:
    return (dgs10 - dgs2).dropna()


def reference_zscore(close: pd.Series, window: int = 20) -> pd.Series:
    rolling = close.rolling(window)
    return ((close - rolling.mean()) / rolling.std()).dropna()


def reference_drawdown(close: pd.Series) -> pd.Series:
    return close / close.cummax() - 1.0


PY_SPREAD = """
def run(inputs):
    return (inputs["dgs10"] - inputs["dgs2"]).dropna()
"""

PY_ZSCORE = """
def run(inputs):
    close = inputs["close"]
    rolling = close.rolling(20)
    return ((close - rolling.mean()) / rolling.std()).dropna()
"""

PY_DRAWDOWN = """
import numpy as np
import pandas as pd

def run(inputs):
    close = inputs["close"]
    return pd.Series(close.to_numpy() / np.maximum.accumulate(close.to_numpy()) - 1.0, index=close.index)
"""

JS_SPREAD = """
function run(inputs) {
  const two = new Map();
  inputs.dgs2.index.forEach((date, i) => two.set(date, inputs.dgs2.values[i]));
  const index = [], values = [];
  inputs.dgs10.index.forEach((date, i) => {
    const a = inputs.dgs10.values[i], b = two.get(date);
    if (b !== undefined && !Number.isNaN(a - b)) { index.push(date); values.push(a - b); }
  });
  return { index, values, name: 'spread' };
}
"""

JS_ZSCORE = """
function run(inputs) {
  const { index, values } = inputs.close, window = 20, outIndex = [], out = [];
  for (let i = window - 1; i < values.length; i++) {
    let sum = 0;
    for (let j = i - window + 1; j <= i; j++) sum += values[j];
    const mean = sum / window;
    let squares = 0;
    for (let j = i - window + 1; j <= i; j++) squares += (values[j] - mean) ** 2;
    const std = Math.sqrt(squares / (window - 1));
    outIndex.push(index[i]);
    out.push((values[i] - mean) / std);
  }
  return { index: outIndex, values: out };
}
"""

JS_DRAWDOWN = """
function run(inputs) {
  let peak = -Infinity;
  const values = inputs.close.values.map((v) => { peak = Math.max(peak, v); return v / peak - 1; });
  return { index: inputs.close.index, values };
}
"""


def _compare(got: pd.Series, expected: pd.Series, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    assert isinstance(got.index, pd.DatetimeIndex)
    assert got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=rtol, atol=atol)


def test_python_spread_matches_pandas(py, yields):
    result = py(PY_SPREAD, inputs=yields, limits=LIMITS)
    _compare(result.value, reference_spread(**yields))
    assert result.kind == "series" and len(result.value) > 12_000
    assert result.audit.exit_cause == "ok"


def test_python_zscore_matches_pandas(py, spy_close):
    _compare(py(PY_ZSCORE, inputs={"close": spy_close}, limits=LIMITS).value, reference_zscore(spy_close), rtol=1e-9, atol=1e-9)


def test_python_drawdown_matches_pandas(py, spy_close):
    result = py(PY_DRAWDOWN, inputs={"close": spy_close}, limits=LIMITS).value
    _compare(result, reference_drawdown(spy_close))
    assert result.min() < -0.3  # the 2020 crash is in the sample


def test_js_spread_matches_pandas(js, yields):
    _compare(js(JS_SPREAD, inputs=yields, limits=LIMITS).value, reference_spread(**yields))


def test_js_zscore_matches_pandas(js, spy_close):
    _compare(js(JS_ZSCORE, inputs={"close": spy_close}, limits=LIMITS).value, reference_zscore(spy_close), rtol=1e-9, atol=1e-9)


def test_js_drawdown_matches_pandas(js, spy_close):
    _compare(js(JS_DRAWDOWN, inputs={"close": spy_close}, limits=LIMITS).value, reference_drawdown(spy_close))


def test_python_frame_scalar_and_record_round_trip(py, spy_close):
    frame = pd.DataFrame({"close": spy_close, "up": spy_close.diff() > 0, "label": "SPY"}).iloc[:50]
    code = """
    import statistics
    import scipy.stats
    import statsmodels.api as sm

    def run(inputs):
        frame = inputs["bars"]
        fit = sm.OLS(frame["close"].to_numpy(), sm.add_constant(range(len(frame)))).fit()
        return {"rows": len(frame), "ups": int(frame["up"].sum()), "slope": float(fit.params[1]),
                "label": frame["label"].iloc[0], "scale": inputs["scale"] * 2, "median": statistics.median([1, 2, 3]),
                "p": float(scipy.stats.norm.cdf(0.0))}
    """
    value = py(code, inputs={"bars": frame, "scale": 1.5}, limits=LIMITS).value
    assert value["rows"] == 50 and value["ups"] == int((frame["up"]).sum()) and value["label"] == "SPY"
    assert value["scale"] == 3.0 and value["median"] == 2 and value["p"] == 0.5
    assert value["slope"] == pytest.approx(np.polyfit(range(50), frame["close"].to_numpy(), 1)[0], rel=1e-9)


def test_python_returns_a_frame(py, spy_close):
    code = "def run(inputs):\n    s = inputs['close']\n    return s.to_frame('close').assign(ret=s.pct_change())"
    value = py(code, inputs={"close": spy_close.iloc[:30]}, limits=LIMITS).value
    expected = spy_close.iloc[:30].to_frame("close").assign(ret=spy_close.iloc[:30].pct_change())
    pd.testing.assert_frame_equal(value, expected, check_freq=False, check_names=False)


def test_js_returns_a_frame_and_a_record(js):
    code = "function run(inputs) { return { index: ['a', 'b'], columns: { x: [1, null], ok: [true, false], s: ['p', 'q'] } }; }"
    frame = js(code, limits=LIMITS).value
    assert list(frame.index) == ["a", "b"] and frame["x"].isna().tolist() == [False, True] and frame["ok"].tolist() == [True, False]
    assert js("function run(inputs) { return { n: 2, name: 'x', flag: true, missing: null, inf: Infinity }; }", limits=LIMITS).value == {
        "n": 2, "name": "x", "flag": True, "missing": None, "inf": None,
    }


def test_prints_are_kept_in_the_audit(py, js):
    assert py("def run(inputs):\n    print('hello from python')\n    return 1.0", limits=LIMITS).audit.stdout == "hello from python\n"
    assert js("function run(inputs) { console.log('hello', {a: 1}); console.error('oops'); return 1; }", limits=LIMITS).audit.stderr.endswith("oops\n")
