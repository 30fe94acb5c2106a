"""Sandbox benchmark (a report, never a test): a code step over a 10,000-point series, cold and warm,
p50 and p95, next to the same computation as a DSL step and in plain pandas in-process.

    python bench/sandbox.py [--runs 40]

The step is a 20-day rolling z-score of the last 10,000 observations of DGS10 (sample data), written in
Python and in JavaScript. "cold" starts a new sandbox for the run (Python: AUSTER_SANDBOX_SPARES=0
behaviour; JS always starts one); "warm" takes a ready spare (requests spaced out, as runs are);
"back-to-back" takes the next spare immediately, so it may still be importing.

Target (issue 14): p95 under 500 ms warm.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox import SandboxLimits, run_code  # noqa: E402
from sandbox.runner import _backend  # noqa: E402

PY_ZSCORE = """
def run(inputs):
    x = inputs["x"]
    rolling = x.rolling(20)
    return (x - rolling.mean()) / rolling.std()
"""

JS_ZSCORE = """
function run(inputs) {
  const { index, values } = inputs.x, window = 20, out = new Array(values.length).fill(null);
  for (let i = window - 1; i < values.length; i++) {
    let sum = 0, squares = 0;
    for (let j = i - window + 1; j <= i; j++) sum += values[j];
    const mean = sum / window;
    for (let j = i - window + 1; j <= i; j++) squares += (values[j] - mean) ** 2;
    out[i] = (values[i] - mean) / Math.sqrt(squares / (window - 1));
  }
  return { index, values: out };
}
"""


def series_10k() -> pd.Series:
    frame = pd.read_csv(ROOT / "gateways/sample_data/fred/DGS10.csv.gz", parse_dates=["observation_date"], index_col="observation_date")
    return frame["DGS10"].dropna().astype("float64").iloc[-10_000:].rename("DGS10")


def pandas_step(x: pd.Series) -> pd.Series:
    rolling = x.rolling(20)
    return (x - rolling.mean()) / rolling.std()


def dsl_step() -> Callable[[pd.Series], Any] | None:
    """The engine's own ``zscore`` operation (window 20), when the engine is importable."""
    try:
        from engine.primitives.stats import OptionalWindowParams, zscore
    except Exception:  # the bench still reports the rest
        return None
    params = OptionalWindowParams(window=20)
    function = getattr(zscore, "function", zscore)
    return lambda x: function(x, params=params)


def timed(fn: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> list[float]:
    out = []
    for _ in range(runs):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    x = series_10k()
    limits = SandboxLimits()
    inputs = {"x": x}
    backend = _backend()
    pool = backend.pool
    rows: list[tuple[str, list[float]]] = []

    expected = pandas_step(x)
    got = run_code("python", PY_ZSCORE, inputs=inputs, limits=limits).value
    got_js = run_code("js", JS_ZSCORE, inputs=inputs, limits=limits).value
    assert np.allclose(got.to_numpy(), expected.to_numpy(), equal_nan=True, atol=1e-9)
    assert np.allclose(got_js.to_numpy(), expected.to_numpy(), equal_nan=True, atol=1e-9)

    rows.append(("pandas in-process", timed(lambda: pandas_step(x), args.runs * 5)))
    dsl = dsl_step()
    if dsl is not None:
        rows.append(("DSL step (engine zscore op)", timed(lambda: dsl(x), args.runs * 5)))

    def python_run() -> Any:
        return run_code("python", PY_ZSCORE, inputs=inputs, limits=limits)

    pool.close()
    pool._size = 0  # cold: a fresh sandbox per run, started on the run's clock
    rows.append(("python sandbox, cold", timed(python_run, args.runs)))

    pool._size = 1
    pool.prime()

    def spare_ready() -> None:
        for spare in list(pool._spares):
            spare.wait_ready(60)

    rows.append(("python sandbox, warm", timed(python_run, args.runs, before=spare_ready)))
    rows.append(("python sandbox, back-to-back", timed(python_run, args.runs)))
    rows.append(("js sandbox (fresh node per run)", timed(lambda: run_code("js", JS_ZSCORE, inputs=inputs, limits=limits), args.runs)))

    starts = [run_code("python", "def run(inputs):\n    return 1.0", limits=limits).audit for _ in range(3)]
    print(f"code step: 20-day rolling z-score of {len(x):,} points (DGS10 sample), {args.runs} runs per sandbox row\n")
    print(f"{'scenario':34} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9}")
    for name, values in rows:
        print(f"{name:34} {p(values, 50):9.1f} {p(values, 95):9.1f} {statistics.fmean(values):9.1f}")
    print("\nrun_code ms = encode inputs + hand the job to the sandbox + compute + decode the value;")
    print(f"peak memory of a warm Python run: {starts[-1].peak_memory_mb} MB; limits: {limits.max_memory_mb} MB, {limits.max_runtime_ms} ms")


if __name__ == "__main__":
    main()
