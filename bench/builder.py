"""Builder benchmark (issue 12): validation of a 40-step model on each edit, and a builder rerun.

    python bench/builder.py

1. A 40-step model (fetches, spreads, rolling statistics, z-scores, summaries, outputs) is edited 200
   times the way the step editor does it (a parameter set, an input rewired, an output relabelled);
   each edit is applied through ``BuilderSession.apply`` and validated (``session.check()``: the
   validator, the step types and the problems' places). Target: p95 under 30 ms.
2. The builder page with that model loaded and a step selected, rerun in AppTest (server time of a
   whole script run: palette, canvas, list, inputs, outputs, JSON and the step editor). Target: under 300 ms.
Prints the figures; not a test.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EDITS = 200
RERUNS = 20


def forty_steps() -> tuple[dict, dict]:
    """A valid 40-step model: 8 fetches, 8 spreads, 8 rolling means, 8 z-scores, 8 summaries."""
    steps: list[dict] = []
    ids = ["DGS10", "DGS2", "DGS3MO", "UNRATE", "CPIAUCSL", "FEDFUNDS", "DGS5", "DGS1"]
    for i, sid in enumerate(ids):
        steps.append({"id": f"f{i}", "operation": "fetch_series", "params": {"series_id": sid, "start": "$start"}})
    for i in range(8):
        steps.append({"id": f"s{i}", "operation": "sub", "inputs": [f"f{i}", f"f{(i + 1) % 8}"]})
    for i in range(8):
        steps.append({"id": f"m{i}", "operation": "rolling_mean", "params": {"window": 20 + i}, "inputs": [f"s{i}"]})
    for i in range(8):
        steps.append({"id": f"z{i}", "operation": "zscore", "params": {"window": 250}, "inputs": [f"m{i}"]})
    for i in range(8):
        steps.append({"id": f"t{i}", "operation": "summary", "inputs": [f"z{i}"]})
    outputs = {"series": [{"id": f"z{i}", "source": f"z{i}", "label": f"z {i}"} for i in range(8)],
               "tables": [{"id": f"t{i}", "source": f"t{i}", "columns": ["metric", "value"]} for i in range(8)], "metrics": []}
    schema = {"fields": [{"name": "start", "type": "date", "default": "today-10y", "label": "Start"}]}
    return {"version": "1.0", "steps": steps, "outputs": outputs}, schema


def bench_validation() -> list[float]:
    from services.authoring import edits as E
    from services.authoring.document import Draft
    from services.authoring.session import BuilderSession

    dsl, schema = forty_steps()
    session = BuilderSession("new", Draft(dsl, schema))
    assert len(dsl["steps"]) == 40 and session.check().count == 0
    timings = []
    for n in range(EDITS):
        kind = n % 3
        started = time.perf_counter()
        if kind == 0:
            session.apply(E.set_param, f"z{n % 8}", "window", 100 + n)
        elif kind == 1:
            session.apply(E.set_input, f"s{n % 8}", 1, f"f{(n + 3) % 8}")
        else:
            session.apply(E.update_output, "series", n % 8, {"label": f"z-score {n}"})
        session.check()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def bench_rerun() -> list[float]:
    from streamlit.testing.v1 import AppTest

    import services
    from services.authoring.document import Draft

    folder = tempfile.mkdtemp(prefix="bench-builder-")
    os.environ.update(AUSTER_DB_PATH=str(Path(folder) / "auster.db"), AUSTER_DATA_MODE="sample")
    for key in ("FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY", "SUPABASE_URL", "SUPABASE_ANON_KEY", "REDIS_URL", "KV_URL"):
        os.environ.pop(key, None)
    svc = services.build()
    user = svc.auth.guest()
    dsl, schema = forty_steps()
    svc.store.drafts.save_draft(user, "new", Draft(dsl, schema).to_json())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["auster.user"] = user
    at.run()
    at.switch_page("views/builder.py").run()
    at.selectbox(key="builder.list.select").set_value("z3").run()
    assert not at.exception, [e.value for e in at.exception]
    timings = []
    for _ in range(RERUNS):
        started = time.perf_counter()
        at.run()
        timings.append((time.perf_counter() - started) * 1000)
    svc.close()
    return timings


def describe(name: str, timings: list[float], target: float) -> None:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"{name:<44} n={len(timings):>3}  median {statistics.median(timings):7.1f} ms  p95 {p95:7.1f} ms  max {max(timings):7.1f} ms"
          f"  target {target:.0f} ms: {'met' if p95 < target else 'MISSED'}")


def main() -> None:
    describe("validate a 40-step model after each edit", bench_validation(), 30)
    describe("builder rerun, 40 steps, a step selected", bench_rerun(), 300)


if __name__ == "__main__":
    main()
