"""The function RQ calls for each queued run, and what a worker process keeps between jobs."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from services.code import AUDIT_FILE
from services.config import Settings
from services.queue import QueuedJob, Recorder, RedisClaims, perform

log = logging.getLogger(__name__)


@functools.cache
def context() -> tuple[Settings, Recorder, RedisClaims, str]:
    """This worker's settings, store (server-side key), claims and secret, opened once per process."""
    from redis import Redis

    from store import open_store

    settings = Settings.load()
    if not settings.queue_url or not settings.model_worker_secret:
        raise SystemExit("A worker needs MODEL_WORKER_URL (or REDIS_URL) and MODEL_WORKER_SECRET, the same as the app's.")
    store = open_store(settings)
    audit = str(Path(settings.db_path).expanduser().parent / AUDIT_FILE)
    claims = RedisClaims(Redis.from_url(settings.queue_url, socket_timeout=5, socket_connect_timeout=2), f"auster:{settings.queue_name}")
    return settings, Recorder(store, settings.data, audit), claims, settings.model_worker_secret


def perform_run(wire: dict[str, Any]) -> str:
    """Verify, claim, execute and record one queued run; return "done", "failed" or "skipped"."""
    _, recorder, claims, secret = context()
    try:
        job = QueuedJob.from_wire(wire, secret)
    except PermissionError as exc:
        log.error("refused a queued job: %s", exc)
        return "refused"
    return perform(job, claims, recorder)
