"""Benchmark of execution-cache hits on sqlite: bytes stored per hit and hits per second.

    python bench/cache_hits.py [--hits 1000]

A real run of the yield-curve template over the sample data (about 220 KB of outputs) is the source;
each hit is what a process without that run in its own in-process cache does: ``find_cached_run``
then ``log_cached_run``. Run in one process and in four sharing the file. Issue 8 made a hit record
a reference to the run it reuses instead of a copy of its outputs. A hit counts against its user's
per-minute limit (issue 9), so each hit is made by a different guest. Never a test.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from multiprocessing import Process, Queue
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import services
from contracts.records import User
from services.config import Settings
from services.data import sample_access
from services.runs import inputs_hash
from store.sqlite import SqliteStore

SLUG = "yield-curve-10y-2y"


def database_bytes(path: str) -> int:
    """The file's size once the WAL is folded in."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]
    finally:
        db.close()


def hit_repeatedly(path: str, user_ids: list[str], version_id: str, key: str, done: Queue) -> None:
    """One process: a cache hit by each of ``user_ids`` through its own store."""
    store = SqliteStore(path)
    for user_id in user_ids:
        user = User(user_id, None, "")
        found = store.runs.find_cached_run(user, version_id, key)
        assert found is not None
        store.runs.log_cached_run(user, found[0], key)
    store.close()
    done.put(len(user_ids))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "hits.db")
        svc = services.build(Settings(db_path=path), data=sample_access())
        user = svc.auth.guest()
        outcome = svc.runs.run_model(user, SLUG, {})
        version_id = svc.registry.get_model(SLUG, user).latest.id
        run = svc.runs.get_run(user, outcome.run_id)
        key = inputs_hash(version_id, run.inputs)
        guests = [svc.auth.guest().id for _ in range(2 * args.hits)]
        svc.close()
        print(f"source run: {SLUG}, outputs {len(json.dumps(run.outputs)):,} bytes of JSON")
        for round_, processes in enumerate((1, 4)):
            before = database_bytes(path)
            done: Queue = Queue()
            mine = guests[round_ * args.hits:(round_ + 1) * args.hits]
            share = args.hits // processes
            workers = [Process(target=hit_repeatedly, args=(path, mine[i * share:(i + 1) * share], version_id, key, done)) for i in range(processes)]
            start = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - start
            grown = database_bytes(path) - before
            print(f"{processes} process(es), {args.hits} hits: {args.hits / elapsed:,.0f} hits/s; the database grew {grown / args.hits:,.0f} bytes per hit")


if __name__ == "__main__":
    main()
