"""The run flow (DESIGN.md section 5).

validate inputs (per-field errors) -> execution cache (same model version + canonical inputs, one
hour; a hit is logged as a run with cached=true and does not count) -> reserve the run within the
limits (free 10/day, paid 100/day, 3/minute/user/model; atomic in the store) -> execute the DSL ->
record the run (outputs, runtime, status, error) and bump daily usage. Failed runs are recorded with
their error. If recording fails the user still gets the result, with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cachetools import TTLCache

from contracts.dsl import InputSchema
from contracts.errors import EngineError, InputInvalid, NotFoundError, RunFailed, ServiceError, StepFailed, StoreUnavailable, ValidationFailed
from contracts.inputs import resolve_inputs
from contracts.records import RunRecord, User
from contracts.result import RunResult
from contracts.rules import EXECUTION_CACHE_TTL_S
from engine.data import DataAccess
from engine.executor import execute
from services.auth import require_user
from services.registry import RegistryService
from store.base import Store

log = logging.getLogger(__name__)
UNRESERVED = "The database did not answer, so this run could not be checked against your limits; try again in a moment."
NOT_SAVED = "Your result is shown but could not be saved to your history ({reason}); it will not appear under your runs."


@dataclass
class RunOutcome:
    """A finished run as the app shows it."""

    run_id: str | None
    result: RunResult
    cached: bool
    model_slug: str
    version: int
    warnings: list[str] = field(default_factory=list)


def inputs_hash(version_id: str, canonical: dict[str, Any]) -> str:
    """The execution-cache key: model version + canonical inputs."""
    body = json.dumps([version_id, canonical], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class RunsService:
    def __init__(self, store: Store, registry: RegistryService, data: DataAccess | Any, cache_ttl_s: float = EXECUTION_CACHE_TTL_S):
        self._store = store
        self._registry = registry
        self._data = data
        self._cache: TTLCache[str, tuple[str, dict[str, Any]]] = TTLCache(maxsize=1024, ttl=cache_ttl_s)
        self._schemas: dict[str, InputSchema] = {}
        self._lock = threading.Lock()

    @property
    def data(self) -> DataAccess:
        if callable(self._data) and not isinstance(self._data, DataAccess):
            self._data = self._data()
        return self._data

    def _schema(self, version_id: str, raw: dict[str, Any]) -> InputSchema:
        schema = self._schemas.get(version_id)
        if schema is None:
            schema = self._schemas[version_id] = InputSchema.model_validate(raw)
        return schema

    def run_model(self, user: User | None, slug: str, inputs: dict[str, Any] | None = None, version: int | None = None, today: date | None = None) -> RunOutcome:
        user = require_user(user, "run a model")
        model = self._registry.get_model(slug, user)
        ver = model.latest
        if version is not None and (ver is None or ver.version != version):
            ver = next((v for v in self._registry.list_versions(slug, user) if v.version == version), None)
        if ver is None:
            raise NotFoundError(f"Model '{slug}' has no version {version}." if version else f"Model '{slug}' has no version to run yet.")

        canonical = resolve_inputs(self._schema(ver.id, ver.input_schema), inputs or {}, today)
        canonical = {k: v.isoformat() if isinstance(v, date) else v for k, v in canonical.items()}
        key = inputs_hash(ver.id, canonical)

        hit = self._cache_get(key) or self._store_cache_get(user, ver.id, key)
        if hit is not None:
            source_run_id, result_json = hit
            warnings: list[str] = []
            try:
                run_id: str | None = self._store.runs.log_cached_run(user, source_run_id, canonical)
            except ServiceError as exc:
                run_id, warnings = None, [NOT_SAVED.format(reason=exc)]
            except Exception as exc:  # the store is down: the result still stands
                log.warning("could not log cached run: %s", exc)
                run_id, warnings = None, [NOT_SAVED.format(reason="the database did not answer")]
            return RunOutcome(run_id, RunResult.from_json(result_json), True, model.slug, ver.version, warnings)

        warnings = []
        try:
            run_id = self._store.runs.reserve_run(user, model.id, ver.id, canonical, key)
        except ServiceError:
            raise  # over a limit, not found, signed out, database unavailable: each is a sentence
        except Exception as exc:
            # Without the database the limits cannot be checked; running anyway would lift them for
            # as long as it is down (or busy), so refuse with a sentence instead.
            log.warning("could not reserve run: %s", exc)
            raise StoreUnavailable(UNRESERVED) from exc

        try:
            result = execute(ver.dsl, canonical, self.data, input_schema=ver.input_schema, today=today)
        except InputInvalid:
            self._record(user, run_id, "error", None, None, "invalid inputs", warnings)
            raise
        except EngineError as exc:
            self._record(user, run_id, "error", None, None, str(exc), warnings)
            step = exc.step_id if isinstance(exc, StepFailed) else None
            message = str(exc) if not isinstance(exc, ValidationFailed) else f"This model version is invalid and cannot run: {exc}"
            raise RunFailed(message, run_id, step, exc.code) from exc
        except Exception as exc:
            self._record(user, run_id, "error", None, None, f"internal error: {type(exc).__name__}: {exc}", warnings)
            raise RunFailed("The model stopped on an unexpected error; it has been recorded. Try again or report it.", run_id, None, "E_INTERNAL") from exc

        result_json = result.to_json()
        recorded = self._record(user, run_id, "success", result_json, result.runtime_ms, None, warnings)
        if recorded and run_id is not None:
            with self._lock:
                self._cache[key] = (run_id, result_json)
        return RunOutcome(run_id if recorded else None, result, False, model.slug, ver.version, warnings)

    def _record(self, user: User, run_id: str | None, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None, warnings: list[str]) -> bool:
        """Finish the reserved run; on failure add a warning instead of losing the result."""
        if run_id is None:
            return False
        try:
            self._store.runs.finish_run(user, run_id, status, outputs, runtime_ms, error)
            return True
        except Exception as exc:
            log.warning("could not record run %s: %s", run_id, exc)
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
