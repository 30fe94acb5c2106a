"""Engine benchmark (a report, never a test): run time of every seed on warm sample data, the cost of
building its outputs, and the engine's overhead against the same computation done without it.

    python bench/engine.py [--runs 50] [--only SLUG ...]

Overhead is measured in CPU time (``time.process_time``), engine and reference runs interleaved so both
see the same machine load, and reported as the ratio of medians. Two references:

- ``pandas``: four seeds written by hand in pandas over the same data access, with a quick vectorised
  JSON conversion (yield curve, CPI, drawdown, volatility premium);
- ``direct``: every seed, calling the same operation functions in the same order with their params
  built once beforehand (no validation, no binding, no trace, no limits) and the same quick JSON
  conversion; for the options seeds this is the only fair reference, as their maths is the library's.

Targets (issue 10): overhead ratio under 1.5 on every seed; p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import graphlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contracts.dsl import InputSchema, ModelDSL  # noqa: E402
from contracts.inputs import resolve_inputs  # noqa: E402
from engine.executor import bind_params, execute, run_values  # noqa: E402
from engine.outputs import build_outputs, estimate_bytes  # noqa: E402
from engine.registry import REGISTRY, load_all  # noqa: E402
from services.data import sample_access  # noqa: E402

AS_OF = date(2026, 8, 21)
DATA = sample_access()
load_all()


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm: files parsed, caches filled
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def _series_json(s: pd.Series) -> dict[str, list]:
    """JSON-ready x/y the quick way a pandas user would write it (NaN and infinities to None)."""
    values = s.to_numpy(dtype=float)
    return {
        "x": np.datetime_as_string(s.index.to_numpy(dtype="datetime64[ns]"), unit="D").tolist(),
        "y": [v if np.isfinite(v) else None for v in values.tolist()],
    }


# The same computations as four seeds, written directly in pandas over the same data access.
def direct_yield_curve() -> Any:
    d10 = DATA.series("DGS10", "1996-08-21", "2026-08-21")
    d2 = DATA.series("DGS2", "1996-08-21", "2026-08-21")
    a, b = d10.align(d2, join="inner")
    spread = (a - b).dropna()
    neg = spread < 0
    runs = (neg != neg.shift()).cumsum()[neg]
    episodes = [
        {"start": g.index[0].date().isoformat(), "end": g.index[-1].date().isoformat(), "observations": len(g), "extreme": float(spread[g.index].min())}
        for _, g in runs.groupby(runs) if len(g) >= 5
    ]
    stats = {"latest": float(spread.iloc[-1]), "mean": float(spread.mean()), "share_negative": float(neg.mean())}
    return _series_json(spread), episodes, stats


def direct_cpi() -> Any:
    out = []
    for sid in ("CPIAUCSL", "CPILFESL"):
        level = DATA.series(sid, "2006-08-21", "2026-08-21")
        prior = level.reindex(level.index - pd.DateOffset(years=1))
        yoy = pd.Series((level.to_numpy() / prior.to_numpy() - 1) * 100, index=level.index).dropna()
        out.append((_series_json(yoy), float(yoy.iloc[-1])))
    return out


def direct_drawdown() -> Any:
    px = DATA.daily_bars("SPY", "2016-08-21", "2026-08-21")["close"]
    dd = (px / px.cummax() - 1) * 100
    return _series_json(dd), _series_json(px), float(dd.min()), dd.idxmin()


def direct_realized_vs_implied() -> Any:
    px = DATA.daily_bars("SPY", "2021-08-21", "2026-08-21")["close"]
    vix = DATA.series("VIXCLS", "2021-08-21", "2026-08-21")
    rv = np.log(px).diff().rolling(21).std() * np.sqrt(252) * 100
    rv_fwd = rv.shift(-21)
    a, b = vix.align(rv_fwd.dropna(), join="inner")
    premium = a - b
    c, d = vix.align(rv.dropna(), join="inner")
    trailing = c - d
    return (_series_json(vix), _series_json(rv_fwd), _series_json(premium), _series_json(trailing),
            {"mean": float(premium.mean()), "latest": float(premium.iloc[-1])}, float(rv.dropna().iloc[-1]), float(vix.iloc[-1]))


DIRECT = {
    "yield-curve-10y-2y": direct_yield_curve,
    "cpi-inflation": direct_cpi,
    "drawdown": direct_drawdown,
    "realized-vs-implied-vol": direct_realized_vs_implied,
}


def cpu(fn: Callable[[], Any]) -> float:
    t0 = time.process_time()
    fn()
    return (time.process_time() - t0) * 1000


def _quick_json(value: Any) -> Any:
    """The JSON a hand-written script would produce: vectorised dates and numbers, records as they are."""
    if isinstance(value, pd.Series):
        return _series_json(value) if isinstance(value.index, pd.DatetimeIndex) else {"x": value.index.tolist(), "y": value.tolist()}
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index() if isinstance(value.index, pd.DatetimeIndex) or value.index.name else value
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].dt.strftime("%Y-%m-%d")
        return json.loads(frame.to_json(orient="records"))
    return value


def direct_runner(seed: dict[str, Any]) -> Callable[[], Any]:
    """The seed's steps called directly, params built once, outputs converted by hand."""
    schema = InputSchema.model_validate(seed["input_schema"])
    inputs = resolve_inputs(schema, {}, AS_OF)
    model = ModelDSL.model_validate(seed["dsl"])
    steps = {s.id: s for s in model.steps}
    order = list(graphlib.TopologicalSorter({s.id: set(s.inputs) for s in model.steps}).static_order())
    prepared = [(sid, REGISTRY[steps[sid].operation], steps[sid].inputs, REGISTRY[steps[sid].operation].params_model.model_validate(bind_params(steps[sid].params, inputs))) for sid in order]
    shown = [o.source for o in (*model.outputs.series, *model.outputs.tables, *model.outputs.metrics)]

    def go() -> Any:
        data = DATA.fresh()
        values: dict[str, Any] = {}
        for sid, op, refs, params in prepared:
            values[sid] = op.invoke([values[r] for r in refs], params, data)
        return [_quick_json(values[s]) for s in shown]

    return go


def output_building_ms(seed: dict[str, Any], runs: int) -> tuple[float, float]:
    """Median CPU ms of estimating the output size and of building the outputs, from computed values."""
    model = ModelDSL.model_validate(seed["dsl"])
    values = run_values(seed["dsl"], {}, DATA, input_schema=seed["input_schema"], today=AS_OF)
    inputs = resolve_inputs(InputSchema.model_validate(seed["input_schema"]), {}, AS_OF)
    estimate = [cpu(lambda: estimate_bytes(model.outputs, values)) for _ in range(runs)]
    build = [cpu(lambda: build_outputs(model.outputs, values, inputs)) for _ in range(runs)]
    return statistics.median(estimate), statistics.median(build)


def ratio_row(engine_fn: Callable[[], Any], reference: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    engine_fn(), reference()  # warm
    engine_times, reference_times = [], []
    for _ in range(runs):  # interleaved
        engine_times.append(cpu(engine_fn))
        reference_times.append(cpu(reference))
    e, r = statistics.median(engine_times), statistics.median(reference_times)
    return e, r, e / r


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    seeds = sorted((ROOT / "seeds").glob("*.json"))
    if args.only:
        seeds = [s for s in seeds if s.stem in args.only]
    print(f"engine benchmark: {len(seeds)} seeds, {args.runs} runs each, warm sample data, as of {AS_OF}")
    print()
    print("wall clock per run, and CPU time of the output stage (size estimate from shapes, then building):")
    print(f"{'seed':<30} {'median ms':>10} {'p95 ms':>9} {'target':>7} {'estimate ms':>12} {'build ms':>9}")
    worst = 0.0
    for path in seeds:
        seed = json.loads(path.read_text())
        times = timed(lambda s=seed: execute(s["dsl"], {}, DATA, input_schema=s["input_schema"], today=AS_OF), args.runs)
        worst = max(worst, p95(times))
        est, build = output_building_ms(seed, args.runs)
        print(f"{seed['slug']:<30} {statistics.median(times):10.2f} {p95(times):9.2f} {'ok' if p95(times) < 50 else 'MISS':>7} {est:12.3f} {build:9.3f}")
    print(f"worst p95: {worst:.2f} ms (target < 50 ms; the original spec asks < 500 ms)")
    print()
    print("engine overhead in CPU time (process_time), interleaved runs, medians; target ratio < 1.5:")
    print(f"{'seed':<30} {'reference':>9} {'engine ms':>10} {'ref ms':>9} {'ratio':>7}")
    worst_ratio = 0.0
    for path in seeds:
        seed = json.loads(path.read_text())
        run_engine = lambda s=seed: execute(s["dsl"], {}, DATA, input_schema=s["input_schema"], today=AS_OF)  # noqa: E731
        references = [("direct", direct_runner(seed))]
        if seed["slug"] in DIRECT:
            references.insert(0, ("pandas", DIRECT[seed["slug"]]))
        for kind, reference in references:
            e, r, ratio = ratio_row(run_engine, reference, args.runs)
            worst_ratio = max(worst_ratio, ratio)
            print(f"{seed['slug']:<30} {kind:>9} {e:10.2f} {r:9.2f} {ratio:7.2f}{'' if ratio < 1.5 else '  MISS'}")
    print(f"worst ratio: {worst_ratio:.2f} (target < 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
