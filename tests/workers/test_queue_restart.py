"""Redis restarting loses no recorded run (issue 15). A Redis server of the test's own (never the shared one)
is stopped and started again under a real worker process, once keeping its data (append-only file) and once
losing it: every recorded run ends done, or failed with a sentence and its quota given back; none stays
queued or running, and none is run twice."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.code import CodeBundle
from services.code_templates import TEMPLATES
from services.facade import Services
from services.queue import QUEUE_LOST
from tests.conftest import missing_service
from tests.workers.test_queue import INPUTS, ROOT, SEED, app, person, stop

pytestmark = pytest.mark.services

NAPS = "import time\n\ndef run(inputs):\n    time.sleep(6)\n    return (inputs['dgs10'] - inputs['dgs2']).dropna()\n"


class OwnRedis:
    """A redis-server on a free port in a temporary directory, stopped and started at will."""

    def __init__(self, directory: Path, persistent: bool):
        self.directory = directory
        self.persistent = persistent
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        keep = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory), "--save", "", *keep],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        from redis import Redis

        deadline = time.monotonic() + 10
        while True:
            try:
                Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM: Redis shuts down cleanly (with no save points and no append-only file, its data is gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture(params=["keeps its data", "loses its data"])
def own_redis(request, tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        missing_service("redis-server is not installed (apt-get install -y redis-server)")
    from sandbox import unavailable_reason

    reason = unavailable_reason("python")
    if reason:
        missing_service(f"the Python sandbox cannot run here: {reason}")
    (tmp_path / "redis").mkdir()
    server = OwnRedis(tmp_path / "redis", persistent=request.param == "keeps its data")
    server.start()
    yield server
    server.stop()


def start_logged_worker(env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KV_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY")} | env
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "workers", "--name", name], cwd=ROOT, env=full, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)


def times_taken(worker_log: str, run_id: str) -> int:
    """How often the worker took the run's job (RQ logs "<queue>: <call>(...) (<job id>)" as it starts one)."""
    return sum(1 for line in worker_log.splitlines() if "perform_run(" in line and line.endswith(f"({run_id})"))


def wait_until(svc: Services, user, run_id: str, state: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while (now := svc.queue.status(user, run_id).state) != state and time.monotonic() < deadline:
        time.sleep(0.2)
    return now


def test_redis_restarting_loses_no_recorded_run(own_redis: OwnRedis, tmp_path: Path) -> None:
    env = {
        "AUSTER_DB_PATH": str(tmp_path / "auster.db"), "AUSTER_DATA_MODE": "sample", "AUSTER_SEEDS_DIR": str(ROOT / "seeds"),
        "MODEL_WORKER_URL": own_redis.url, "MODEL_WORKER_SECRET": uuid.uuid4().hex, "AUSTER_QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "AUSTER_RUNNER": "inline",
    }
    svc = app(env)
    log = tmp_path / "worker.log"
    worker = start_logged_worker(env, f"w-{uuid.uuid4().hex[:6]}", log)
    try:
        ana, bob = person(svc), person(svc)
        slug = f"naps-{uuid.uuid4().hex[:6]}"
        svc.models.create(ana, TEMPLATES["python"].meta(slug, "Naps"), "private", "naps", code=CodeBundle("python", NAPS))
        running = svc.queue.submit(ana, slug, INPUTS)
        assert wait_until(svc, ana, running.run_id, "running") == "running"
        waiting = svc.queue.submit(bob, SEED, INPUTS)  # the only worker is busy: it waits in Redis
        assert svc.queue.status(bob, waiting.run_id).state == "queued"

        own_redis.stop()
        time.sleep(1.0)
        own_redis.start()

        # The running job goes on in its worker (its heartbeat writes its claim back) and is recorded once.
        done = svc.queue.wait(ana, running.run_id, 60)
        assert done.state == "done" and done.run.outputs["outputs"]["series"], done
        if own_redis.persistent:  # the waiting job was kept: the worker reconnects and runs it
            kept = svc.queue.wait(bob, waiting.run_id, 60)
            assert kept.state == "done", (kept.run.error_message, log.read_text(errors="replace"))
            assert svc.store.runs.runs_today(bob) == 1
        else:  # the waiting job is gone: its run is failed with a sentence and not charged
            lost = svc.queue.wait(bob, waiting.run_id, 60)
            assert lost.state == "failed" and lost.run.error_message == QUEUE_LOST, lost
            assert svc.store.runs.runs_today(bob) == 0
        after = svc.queue.submit(bob, SEED, {"start": "2023-01-01", "end": "2023-12-31"})
        assert svc.queue.wait(bob, after.run_id, 60).state == "done"  # the worker serves the restarted Redis

        for run in svc.store.runs.list_runs(ana, 50) + svc.store.runs.list_runs(bob, 50):
            assert run.status in ("success", "error"), run  # nothing left queued or running
        taken = log.read_text(errors="replace")
        assert [times_taken(taken, r.run_id) for r in (running, waiting, after)] == [1, 1 if own_redis.persistent else 0, 1], taken
        assert "already claimed" not in taken
    finally:
        stop(worker, signal.SIGKILL)
        svc.close()
