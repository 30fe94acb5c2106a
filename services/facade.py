"""``Services``: the one object the app holds (per process), wiring the store, data and use cases."""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.data import DataAccess
from services.analytics import AnalyticsService
from services.auth import AuthService
from services.authoring.preview import PreviewService
from services.authoring.service import BuilderService
from services.coalesce import Coalescer, CrossProcessLocks, FileLocks, RedisLocks
from services.code import AUDIT_FILE
from services.code_editor import CodeEditorService
from services.config import Settings
from services.data import data_access, reference_date
from services.discussions import DiscussionsService
from services.health import HealthService
from services.labs import LabsService
from services.publishing import PublishingService
from services.queue import Backend, LocalQueue, QueueService, Recorder, RQBackend
from services.registry import ModelsService, RegistryService
from services.review import ReviewService
from services.runner import InlineRunner, ProcessPoolRunner, Runner, shared_pool
from services.runs import RunsService
from services.seeds import sync_seeds
from services.social import SocialService
from services.throttle import Events, GuestCaps, MemoryEvents, RedisEvents, SignInThrottle
from services.versions import VersionsService
from store import open_store
from store.base import Store

log = logging.getLogger(__name__)
_LOCAL_SECRET = secrets.token_hex(32)


def _runner(settings: Settings, data: DataAccess | None) -> Runner:
    if data is not None:
        return InlineRunner(lambda: data.fresh())
    if settings.runner == "inline":
        return InlineRunner()
    pool = shared_pool(settings.runner_workers, settings.max_memory_mb)
    threading.Thread(target=_warm, args=(pool,), name="auster-runner-warm", daemon=True).start()
    return pool


def _warm(pool: ProcessPoolRunner) -> None:
    try:
        pool.warm()
    except Exception as exc:  # the first run will try again and say what went wrong
        log.warning("model workers did not start: %s", exc)


def _queue_secret(settings: Settings) -> str:
    """The jobs' signing secret: the configured one, or one for this process (the local queue never leaves it)."""
    return settings.model_worker_secret or _LOCAL_SECRET


def _queue_backend(settings: Settings, store: Store, runner: Runner, data: DataAccess | None) -> Backend:
    """RQ on Redis when a queue is configured (``MODEL_WORKER_URL``, or ``REDIS_URL`` with a secret), else local threads."""
    if settings.queue_url and data is None:
        return RQBackend(settings.queue_url, _queue_secret(settings), settings.queue_name)
    audit = str(Path(settings.db_path).expanduser().parent / AUDIT_FILE)
    return LocalQueue(Recorder(store, settings.data, audit), _queue_secret(settings), settings.queue_threads,
                      execute=(lambda job: runner.run(job)))


def _locks(settings: Settings) -> CrossProcessLocks:
    """Redis locks when instances share a Redis; else file locks beside the sqlite file (one machine)."""
    if settings.redis_url:
        return RedisLocks(settings.redis_url)
    base = Path(settings.db_path).parent if settings.backend == "sqlite" else Path(tempfile.gettempdir()) / "auster"
    return FileLocks(base / "run-locks")


def _auth(settings: Settings, store: Store) -> AuthService:
    """Identity with its limits counted in Redis when instances share one, else in this process."""
    events: Events = RedisEvents(settings.redis_url) if settings.redis_url else MemoryEvents()
    caps = GuestCaps(events, per_address=settings.guests_per_address_hour, total=settings.guests_per_hour)
    return AuthService(store, throttle=SignInThrottle(events), guest_caps=caps)


@dataclass
class Services:
    settings: Settings
    store: Store
    auth: AuthService
    registry: RegistryService
    models: ModelsService
    runs: RunsService
    publishing: PublishingService
    social: SocialService
    labs: LabsService
    builder: BuilderService
    review: ReviewService
    editor: CodeEditorService
    queue: QueueService
    versions: VersionsService
    discussions: DiscussionsService
    analytics: AnalyticsService
    health: HealthService

    def close(self) -> None:
        self.queue.close()
        self.health.flush()  # the providers' counts since the last flush (it keeps them if the store is down)
        self.store.close()


def build(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    data: DataAccess | None = None,
    runner: Runner | None = None,
    load_seeds: bool = True,
) -> Services:
    """Open the configured store (migrating it and loading seed templates) and wire the services.

    ``data`` (tests, notebooks) pins the data access and runs models inline over it; otherwise the
    settings choose the runner: the shared supervised process pool (default) or inline.
    """
    settings = settings or Settings.load()
    if settings.backend == "supabase" and not settings.supabase_service_role_key:
        log.warning("Supabase without SUPABASE_SERVICE_ROLE_KEY: browsing works, but runs are recorded only by the server and will be refused")
    store = store or open_store(settings)
    if load_seeds and store.kind == "sqlite":
        sync_seeds(store, settings.seeds_dir)
    registry = RegistryService(store)
    fresh_data = (lambda: data.fresh()) if data is not None else (lambda: data_access(settings))
    runner = runner or _runner(settings, data)
    runs = RunsService(
        store,
        registry,
        runner,
        limits=settings.limits,
        data_mode=settings.data_mode,
        data=settings.data,
        coalescer=Coalescer(_locks(settings)),
        reference_date=(data.reference_date() if data is not None else reference_date(settings)),
        audit_path=str(Path(settings.db_path).expanduser().parent / AUDIT_FILE),
    )
    models = ModelsService(store, registry)
    preview = PreviewService(runner, settings.limits, settings.data_mode if data is None else "sample", settings.data)
    return Services(
        settings=settings,
        store=store,
        auth=_auth(settings, store),
        registry=registry,
        models=models,
        runs=runs,
        publishing=PublishingService(store),
        social=SocialService(store, registry),
        labs=LabsService(settings, fresh_data),
        builder=BuilderService(store, registry, models, preview, today=runs.reference_date),
        review=ReviewService(store, registry, settings.limits, data, runs.reference_date),
        editor=CodeEditorService(registry, models, settings.limits, data, runs.reference_date),
        queue=QueueService(store, runs, _queue_backend(settings, store, runner, data), _queue_secret(settings), settings.queue_cap,
                           lost_after_s=settings.queue_lost_after_s),
        versions=VersionsService(store, registry, models, runs),
        discussions=DiscussionsService(store),
        analytics=AnalyticsService(store, registry),
        health=runs.health,
    )
