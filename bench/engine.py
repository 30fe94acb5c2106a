"""Engine benchmark (a report, never a test): run time of every seed on warm sample data, and the
engine's overhead against the same computation written directly in pandas.

    python bench/engine.py [--runs 50] [--only SLUG ...]

Targets (issue 2): p95 under 50 ms for every seed on warm data; overhead ratio under 1.3.
"""

from __future__ import annotations

import argparse
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

from engine.executor import execute  # noqa: E402
from services.data import sample_access  # noqa: E402

AS_OF = date(2026, 8, 21)
DATA = sample_access()


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
    rv = (np.log(px).diff().rolling(21).std() * np.sqrt(252) * 100).dropna()
    a, b = vix.align(rv, join="inner")
    premium = (a - b).dropna()
    return _series_json(vix), _series_json(rv), _series_json(premium), float(premium.mean())


DIRECT = {
    "yield-curve-10y-2y": direct_yield_curve,
    "cpi-inflation": direct_cpi,
    "drawdown": direct_drawdown,
    "realized-vs-implied-vol": direct_realized_vs_implied,
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    seeds = sorted((ROOT / "seeds").glob("*.json"))
    if args.only:
        seeds = [s for s in seeds if s.stem in args.only]
    print(f"engine benchmark: {len(seeds)} seeds, {args.runs} runs each, warm sample data, as of {AS_OF}")
    print(f"{'seed':<32} {'median ms':>10} {'p95 ms':>9} {'target':>7}")
    worst = 0.0
    for path in seeds:
        seed = json.loads(path.read_text())
        times = timed(lambda s=seed: execute(s["dsl"], {}, DATA, input_schema=s["input_schema"], today=AS_OF), args.runs)
        worst = max(worst, p95(times))
        print(f"{seed['slug']:<32} {statistics.median(times):10.2f} {p95(times):9.2f} {'ok' if p95(times) < 50 else 'MISS':>7}")
    print(f"worst p95: {worst:.2f} ms (target < 50 ms; the original spec asks < 500 ms)")
    print()
    print("overhead against direct pandas (same data access, same JSON-ready output), measured side by side:")
    print(f"{'seed':<32} {'engine ms':>10} {'pandas ms':>10} {'ratio':>7}")
    for slug, direct in DIRECT.items():
        if args.only and slug not in args.only:
            continue
        seed = json.loads((ROOT / "seeds" / f"{slug}.json").read_text())
        engine_times, direct_times = [], []
        for _ in range(args.runs):  # interleave so both see the same machine load
            engine_times += timed(lambda s=seed: execute(s["dsl"], {}, DATA, input_schema=s["input_schema"], today=AS_OF), 1)
            direct_times += timed(direct, 1)
        e, d = statistics.median(engine_times), statistics.median(direct_times)
        print(f"{slug:<32} {e:10.2f} {d:10.2f} {e / d:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
