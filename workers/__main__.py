"""``python -m workers [--burst] [--name NAME]``: run queued model runs until stopped (or, with --burst, until the queue is empty).

Each worker also reaps: every two seconds it fails the runs whose worker stopped beating (killed,
machine gone), so their users see a sentence and get their quota back. And it sweeps: every
``AUSTER_QUEUE_SWEEP_S`` (jittered), if no other worker swept within that interval (a lock in Redis), it
fails the recorded queued runs the queue lost (Redis restarted without its data), whether or not their
owners ever look again (services/queue.py, ``sweep_lost``).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable

from services.health import HealthService
from services.queue import LOST_CONFIRM_S, RedisSweepLock, Sweeper, reap, rq_knows, sweep_lost
from workers.jobs import context

REAP_EVERY_S = 2.0


def _reaper(stop: threading.Event) -> None:
    _, recorder, claims, _ = context()
    while not stop.wait(REAP_EVERY_S):
        try:
            for run_id in reap(claims, recorder.store):
                logging.getLogger("workers").warning("run %s lost its worker; failed it", run_id)
        except Exception as exc:  # Redis or the database blinked: try again next round
            logging.getLogger("workers").warning("reaping failed: %s", exc)


def _sweeper() -> Sweeper | None:
    """This worker's share of the sweep (None when ``AUSTER_QUEUE_SWEEP_S`` is 0)."""
    settings, recorder, claims, _ = context()
    if settings.queue_sweep_s <= 0:
        return None
    lock = RedisSweepLock(claims.redis, f"{claims.prefix}:sweep", max(settings.queue_sweep_s, LOST_CONFIRM_S + 1))

    def sweep(wait: Callable[[float], bool]) -> list[str]:
        if not lock.acquire():
            return []  # another worker swept within the interval
        return sweep_lost(recorder.store, lambda run: rq_knows(claims, run.id), settings.queue_lost_after_s, wait=wait)

    return Sweeper(sweep, settings.queue_sweep_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description="Run queued Auster model runs.")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--name", help="this worker's name (default: host and process id)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from rq import Queue, SimpleWorker

    settings, _, claims, _ = context()  # fail fast on missing configuration
    import services.worker_boot  # noqa: F401  (the engine and the sample data loaded once, before the first job)

    stop = threading.Event()
    threading.Thread(target=_reaper, args=(stop,), name="reaper", daemon=True).start()
    sweeper = _sweeper()
    if sweeper is not None:
        sweeper.start()
    # SimpleWorker runs each job in this process: the engine stays warm between jobs, and a killed worker
    # takes its job with it (its heartbeat stops and the run is failed) instead of leaving an orphan.
    worker = SimpleWorker([Queue(settings.queue_name, connection=claims.redis)], connection=claims.redis, name=args.name)
    try:
        worker.work(burst=args.burst, with_scheduler=False)
    finally:
        stop.set()
        if sweeper is not None:
            sweeper.stop()
        HealthService(context()[1].store).flush()  # this worker's providers' counts since its last flush
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
