"""The run flow (DESIGN.md section 5).

validate inputs (per-field errors) -> execution cache (same model version + canonical inputs, one
hour; a hit is logged as a run with cached=true, referring to the run it reuses and taking its
canonical inputs; it counts against the per-minute limit only) -> identical concurrent runs coalesce
into one execution (``services.coalesce``: in this process and across processes) -> reserve the run
within the limits (free 10/day, paid 100/day, 3/minute/user/model; atomic in the store) -> execute
through the runner (``services.runner``: by default a supervised pool of worker processes, so the
app's process never executes a model) -> record the run (outputs, runtime, status, error) and bump
daily usage. Failed runs are recorded with their error and do not use the daily quota. If recording
fails it is tried once more; if it still fails the user gets the result with a warning, and the run,
left pending, is failed by the store before the user's next reservation once the run budget has
passed (``stale_after_s``), so it never counts for ever. With Supabase every write here goes through
the server-side key (store/supabase/runs.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cachetools import TTLCache

from contracts.code import CodeBundle
from contracts.dsl import InputSchema
from contracts.errors import (
    AusterError,
    EngineError,
    InputInvalid,
    NotFoundError,
    RateLimitExceeded,
    RunFailed,
    ServiceError,
    StepFailed,
    StoreUnavailable,
    ValidationFailed,
)
from contracts.inputs import resolve_inputs
from contracts.limits import Limits
from contracts.records import ModelVersion, RunRecord, User
from contracts.result import RunResult
from contracts.rules import EXECUTION_CACHE_TTL_S
from contracts.settings import DataSettings
from services.auth import require_user
from services.coalesce import Coalescer
from services.health import HealthService, failure_origin
from services.registry import RegistryService
from services.runner import GRACE_MS, RunJob, Runner
from store.base import Store

log = logging.getLogger(__name__)
UNRESERVED = "The database did not answer, so this run could not be checked against your limits; try again in a moment."
NOT_SAVED = "Your result is shown but could not be saved to your history ({reason}); it will not appear under your runs."
RECORD_ATTEMPTS = 2
RECORD_RETRY_S = 0.5
STALE_MARGIN_S = 60.0  # beyond the run budget, before a run still pending counts as lost


@dataclass
class RunOutcome:
    """A finished run as the app shows it."""

    run_id: str | None
    result: RunResult
    cached: bool
    model_slug: str
    version: int
    warnings: list[str] = field(default_factory=list)


def bundle_of(version: ModelVersion) -> CodeBundle | None:
    """The code a version carries (None for a DSL model)."""
    if version.runtime == "dsl" or version.code_bundle is None:
        return None
    return CodeBundle(version.runtime, version.code_bundle, tuple(version.dependencies))


def inputs_hash(version_id: str, canonical: dict[str, Any]) -> str:
    """The execution-cache key: model version + canonical inputs."""
    body = json.dumps([version_id, canonical], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class _Executed:
    """What the leader of a run produced: its run id (None when it could not be recorded) and result."""

    run_id: str | None
    result_json: dict[str, Any]
    warnings: tuple[str, ...] = ()


class RunsService:
    """The run flow over a store, a registry and a runner (where models execute)."""

    def __init__(
        self,
        store: Store,
        registry: RegistryService,
        runner: Runner,
        *,
        limits: Limits | None = None,
        data_mode: str = "sample",
        data: DataSettings | None = None,
        coalescer: Coalescer | None = None,
        reference_date: date | None = None,
        cache_ttl_s: float = EXECUTION_CACHE_TTL_S,
        audit_path: str | None = None,
    ):
        self._store = store
        self._registry = registry
        self.runner = runner
        self._limits = limits or Limits()
        self._data_mode = data_mode
        self._data = data or DataSettings()
        self.coalescer = coalescer or Coalescer()
        self.reference_date = reference_date  # what "today" means for relative inputs (the sample's as-of on sample data)
        self._cache: TTLCache[str, tuple[str, dict[str, Any]]] = TTLCache(maxsize=1024, ttl=cache_ttl_s)
        self._schemas: dict[str, InputSchema] = {}
        self._lock = threading.Lock()
        self.audit_path = audit_path  # the sandbox audit of code runs (JSON lines)
        self.health = HealthService(store)  # keeps the data providers' counts (gathered during runs) in the store

    def _schema(self, version_id: str, raw: dict[str, Any]) -> InputSchema:
        schema = self._schemas.get(version_id)
        if schema is None:
            schema = self._schemas[version_id] = InputSchema.model_validate(raw)
        return schema

    def run_model(self, user: User | None, slug: str, inputs: dict[str, Any] | None = None, version: int | None = None, today: date | None = None) -> RunOutcome:
        """Run ``slug`` (its current version, or ``version``) for ``user``; see the module docstring."""
        user = require_user(user, "run a model")
        model = self._registry.get_model(slug, user)
        ver = model.latest
        if version is not None and (ver is None or ver.version != version):
            ver = next((v for v in self._registry.list_versions(slug, user) if v.version == version), None)
        if ver is None:
            raise NotFoundError(f"Model '{slug}' has no version {version}." if version else f"Model '{slug}' has no version to run yet.")

        today = today or self.reference_date
        canonical = resolve_inputs(self._schema(ver.id, ver.input_schema), inputs or {}, today)
        canonical = {k: v.isoformat() if isinstance(v, date) else v for k, v in canonical.items()}
        key = inputs_hash(ver.id, canonical)

        hit = self._cache_get(key) or self._store_cache_get(user, ver.id, key)
        if hit is not None:
            return self._serve_cached(user, model.slug, ver.version, key, hit)

        job = RunJob(ver.dsl, ver.input_schema, canonical, self._limits, self._data_mode, self._data, today,
                     code=bundle_of(ver), actor=user.id, audit_path=self.audit_path)
        wait_s = (self._limits.max_runtime_ms + GRACE_MS) / 1000 + 5
        executed, origin = self.coalescer.once(
            key,
            # look again first: a run that finished between the lookup above and now is a hit, not a rerun
            lambda: self._lookup(user, ver.id, key) or self._execute(user, model.id, ver.id, canonical, key, job),
            lookup=lambda: self._lookup(user, ver.id, key),
            wait_s=wait_s,
            shareable=lambda exc: isinstance(exc, RunFailed),  # a model that fails fails for everyone; a refusal is personal
        )
        if origin == "led" and isinstance(executed, _Executed):
            result = RunResult.from_json(executed.result_json)
            return RunOutcome(executed.run_id, result, False, model.slug, ver.version, list(executed.warnings))
        if isinstance(executed, _Executed):
            if executed.run_id is None:  # the leader's run could not be recorded: nothing to refer to
                return RunOutcome(None, RunResult.from_json(executed.result_json), True, model.slug, ver.version, [NOT_SAVED.format(reason="the database did not answer")])
            executed = (executed.run_id, executed.result_json)
        return self._serve_cached(user, model.slug, ver.version, key, executed)

    def _execute(self, user: User, model_id: str, version_id: str, canonical: dict[str, Any], key: str, job: RunJob) -> _Executed:
        """Reserve the run within the limits, execute it through the runner and record it."""
        warnings: list[str] = []
        try:
            run_id = self._store.runs.reserve_run(user, model_id, version_id, canonical, key, stale_after_s=self.stale_after_s)
        except ServiceError:
            raise  # over a limit, not found, signed out, database unavailable: each is a sentence
        except Exception as exc:
            # Without the database the limits cannot be checked; running anyway would lift them for
            # as long as it is down (or busy), so refuse with a sentence instead.
            log.warning("could not reserve run: %s", exc)
            raise StoreUnavailable(UNRESERVED) from exc

        try:
            result_json = self.runner.run(job)
        except InputInvalid as exc:
            self._record(user, run_id, "error", None, None, "invalid inputs", warnings, failure=exc)
            raise
        except EngineError as exc:
            self._record(user, run_id, "error", None, None, str(exc), warnings, failure=exc)
            step = exc.step_id if isinstance(exc, StepFailed) else None
            message = str(exc) if not isinstance(exc, ValidationFailed) else f"This model version is invalid and cannot run: {exc}"
            raise RunFailed(message, run_id, step, exc.code) from exc
        except AusterError as exc:
            self._record(user, run_id, "error", None, None, str(exc), warnings, failure=exc)
            raise RunFailed(str(exc), run_id, None, exc.code) from exc
        except Exception as exc:
            self._record(user, run_id, "error", None, None, f"internal error: {type(exc).__name__}: {exc}", warnings, failure=exc)
            raise RunFailed("The model stopped on an unexpected error; it has been recorded. Try again or report it.", run_id, None, "E_INTERNAL") from exc
        finally:
            self.health.maybe_flush()  # the providers' counts, at most once a minute

        recorded = self._record(user, run_id, "success", result_json, result_json.get("runtime_ms"), None, warnings)
        if recorded:
            with self._lock:
                self._cache[key] = (run_id, result_json)
        return _Executed(run_id if recorded else None, result_json, tuple(warnings))

    @property
    def stale_after_s(self) -> float:
        """How long a run may stay pending before the store fails it: the run budget and a margin."""
        return (self._limits.max_runtime_ms + GRACE_MS) / 1000 + STALE_MARGIN_S

    def _serve_cached(self, user: User, slug: str, version: int, key: str, hit: tuple[str, dict[str, Any]]) -> RunOutcome:
        """Log a cache hit as the user's run (a reference to the run it reuses, with its inputs) and return its result.

        A hit counts against the per-minute limit: over it, the hit is refused like a run.
        """
        source_run_id, result_json = hit
        warnings: list[str] = []
        try:
            run_id: str | None = self._store.runs.log_cached_run(user, source_run_id, key)
        except RateLimitExceeded:
            raise
        except ServiceError as exc:
            run_id, warnings = None, [NOT_SAVED.format(reason=exc)]
        except Exception as exc:  # the store is down: the result still stands
            log.warning("could not log cached run: %s", exc)
            run_id, warnings = None, [NOT_SAVED.format(reason="the database did not answer")]
        return RunOutcome(run_id, RunResult.from_json(result_json), True, slug, version, warnings)

    def _lookup(self, user: User, version_id: str, key: str) -> tuple[str, dict[str, Any]] | None:
        return self._cache_get(key) or self._store_cache_get(user, version_id, key)

    def _record(
        self, user: User, run_id: str | None, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None, warnings: list[str],
        failure: BaseException | None = None,
    ) -> bool:
        """Finish the reserved run, trying twice; if both fail add a warning instead of losing the result.
        A failed run keeps its error's code and the failing step's operation (``failure``), for the admin page.

        A run that could not be finished stays pending until the store fails it, before the user's
        next reservation once ``stale_after_s`` has passed: it never counts against the quota for ever.
        """
        if run_id is None:
            return False
        code, operation = failure_origin(failure) if failure is not None else (None, None)
        for attempt in range(RECORD_ATTEMPTS):
            try:
                self._store.runs.finish_run(user, run_id, status, outputs, runtime_ms, error, error_code=code, error_operation=operation)
                return True
            except NotFoundError:
                break  # already finished (or swept): nothing left to record
            except Exception as exc:
                log.warning("could not record run %s (attempt %d): %s", run_id, attempt + 1, exc)
                if attempt + 1 < RECORD_ATTEMPTS:
                    time.sleep(RECORD_RETRY_S)
        if not warnings:
            warnings.append(NOT_SAVED.format(reason="the database did not answer"))
        return False

    def _cache_get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            return self._cache.get(key)

    def _store_cache_get(self, user: User, version_id: str, key: str) -> tuple[str, dict[str, Any]] | None:
        try:
            hit = self._store.runs.find_cached_run(user, version_id, key)
        except Exception as exc:
            log.warning("execution cache lookup failed: %s", exc)
            return None
        if hit is not None:
            with self._lock:
                self._cache[key] = hit
        return hit

    def remaining_today(self, user: User | None) -> int:
        """Runs left today (cache hits are free)."""
        if user is None:
            return 0
        fresh = self._store.users.refresh_user(user)
        return max(0, fresh.daily_limit - self._store.runs.runs_today(user))

    def list_runs(self, user: User | None, limit: int = 50) -> list[RunRecord]:
        user = require_user(user, "see your runs")
        return self._store.runs.list_runs(user, limit)

    def get_run(self, user: User | None, run_id: str) -> RunRecord:
        user = require_user(user, "see a run")
        run = self._store.runs.get_run(user, run_id)
        if run is None:
            raise NotFoundError("That run does not exist or is not yours.")
        return run
