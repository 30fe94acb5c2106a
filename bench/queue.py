"""Queue benchmark (a report, never a test): throughput and latency of queued code runs with 1, 2 and 4 workers.

    python bench/queue.py [--runs 24] [--workers 1 2 4] [--redis redis://127.0.0.1:6379/15]

For each worker count: a fresh sqlite file, that many `python -m workers` processes on the local Redis (a
queue of the bench's own), and one Python code model (the starter template: the 10y-2y spread of the
sample data in the sandbox). ``--runs`` runs with distinct inputs (so none is a cache hit) are submitted at
once by several users (two each: the per-user cap), then followed until done. Latency is submit to done as
the app sees it (status polled every 50 ms); throughput is runs divided by the time from the first submit
to the last done. Workers are started and warmed (one run each) before the clock starts.
"""

from __future__ import annotations

import sys

# This file is named queue.py: drop its folder from the path so `import queue` still finds the standard library.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import services  # noqa: E402
from contracts.code import CodeBundle  # noqa: E402
from services.code_templates import TEMPLATES  # noqa: E402
from services.config import Settings  # noqa: E402


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def one_round(workers: int, runs: int, redis_url: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    env = {
        "AUSTER_DB_PATH": str(folder / "auster.db"), "AUSTER_DATA_MODE": "sample", "AUSTER_SEEDS_DIR": str(ROOT / "seeds"),
        "MODEL_WORKER_URL": redis_url, "MODEL_WORKER_SECRET": uuid.uuid4().hex, "AUSTER_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
        "AUSTER_RUNNER": "inline", "AUSTER_QUEUE_CAP": "2",
    }
    svc = services.build(Settings.load(env=env, secrets={}))
    base_env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KV_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY")} | env
    procs = [subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT, env=base_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True) for _ in range(workers)]
    try:
        users = []
        for i in range((runs + 1) // 2 + workers):
            email = f"bench{i}-{uuid.uuid4().hex[:6]}@example.com"
            svc.store.users.sign_up(email, "bench password")
            users.append(svc.store.users.set_profile(email, tier="paid"))
        owner = users[0]
        template = TEMPLATES["python"]
        slug = f"bench-{uuid.uuid4().hex[:6]}"
        meta = template.meta(slug, "Bench spread")
        meta["input_schema"] = {"fields": [{"name": "start", "type": "date", "default": "2000-01-01", "label": "Start"},
                                           {"name": "end", "type": "date", "default": "2026-08-20", "label": "End"}]}
        svc.models.create(owner, meta, "private", "bench", code=CodeBundle("python", template.code, ("pandas",)))
        version = svc.registry.get_model(slug, owner).latest
        admin_email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
        svc.store.users.sign_up(admin_email, "bench password")
        admin = svc.store.users.set_profile(admin_email, role="admin")
        svc.review.decide(admin, version.id, "approved", "bench", CodeBundle("python", template.code).sha256)
        svc.models.set_visibility(owner, slug, "public")

        def inputs(k: int) -> dict[str, str]:
            return {"start": date(1990 + k // 12, 1 + k % 12, 1).isoformat(), "end": "2026-08-20"}

        warm = [svc.queue.submit(users[-1 - w], slug, inputs(500 + w)) for w in range(workers)]  # one run per worker, off the clock
        for state in warm:
            svc.queue.wait(users[-1 - warm.index(state)], state.run_id, 120)
        started = time.perf_counter()
        pending = {}
        for k in range(runs):
            user = users[k // 2]
            submitted = time.perf_counter()
            pending[svc.queue.submit(user, slug, inputs(k)).run_id] = (user, submitted)
        latencies, failures, reasons = [], 0, []
        while pending:
            for run_id, (user, submitted) in list(pending.items()):
                state = svc.queue.status(user, run_id)
                if state.finished:
                    latencies.append(time.perf_counter() - submitted)
                    if state.state != "done":
                        failures += 1
                        reasons.append(state.run.error_message if state.run else state.state)
                    del pending[run_id]
            time.sleep(0.05)
        total = time.perf_counter() - started
        return {"workers": workers, "runs": runs, "failed": failures, "seconds": total, "throughput": runs / total,
                "p50": statistics.median(latencies), "p95": p95(latencies), "reasons": reasons}
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--redis", default=os.environ.get("AUSTER_TEST_REDIS", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"{args.runs} queued code runs (Python, the 10y-2y spread on sample data) per round; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'workers':>7} {'runs/s':>7} {'p50 s':>7} {'p95 s':>7} {'total s':>8} {'failed':>6}")
    for count in args.workers:
        row = one_round(count, args.runs, args.redis)
        print(f"{row['workers']:>7} {row['throughput']:>7.2f} {row['p50']:>7.2f} {row['p95']:>7.2f} {row['seconds']:>8.1f} {row['failed']:>6}")
        for reason in sorted(set(row["reasons"])):
            print(f"        failed: {reason}")


if __name__ == "__main__":
    main()
