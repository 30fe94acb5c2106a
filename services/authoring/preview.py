"""Preview: run the draft up to one step, on sample data (or live data when configured), and show that
step's value. A preview is not a recorded run and does not use the daily quota; it has its own
per-user limit (``PREVIEWS_PER_MINUTE`` in any 60 seconds, one at a time) and runs through the same
runner as real runs, so the engine's limits and the worker's time and memory caps apply."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache

from contracts.errors import EditRefused, PreviewLimitExceeded, ValidationFailed
from contracts.limits import Limits
from contracts.records import User
from contracts.settings import DataSettings
from engine.validator import static_types, validate
from services.auth import require_user
from services.authoring import graph
from services.authoring.document import Draft
from services.runner import RunJob, Runner

PREVIEWS_PER_MINUTE = 10
WINDOW_S = 60.0
PREVIEW_OUTPUT = "preview"


class PreviewLimiter:
    """At most ``per_minute`` previews per user in any ``window_s`` seconds, and one at a time.

    In-process (a ``cachetools.TTLCache`` of recent start times per user): with several app instances
    behind sticky sessions each counts its own users' previews.
    """

    def __init__(self, per_minute: int = PREVIEWS_PER_MINUTE, window_s: float = WINDOW_S, clock: Any = time.monotonic):
        self.per_minute = per_minute
        self.window_s = window_s
        self._clock = clock
        self._recent: TTLCache[str, list[float]] = TTLCache(maxsize=100_000, ttl=window_s, timer=clock)
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def acquire(self, user_id: str) -> None:
        now = self._clock()
        with self._lock:
            if user_id in self._running:
                raise PreviewLimitExceeded("A preview of yours is still running; wait for it to finish.")
            recent = [t for t in self._recent.get(user_id, []) if now - t < self.window_s]
            if len(recent) >= self.per_minute:
                wait = max(1, round(self.window_s - (now - recent[0])))
                raise PreviewLimitExceeded(f"You can preview at most {self.per_minute} times a minute; try again in {wait} s.")
            self._recent[user_id] = [*recent, now]
            self._running.add(user_id)

    def release(self, user_id: str) -> None:
        with self._lock:
            self._running.discard(user_id)


@dataclass(frozen=True)
class Preview:
    """A step's value as the run JSON shows it, with its timing."""

    step_id: str
    kind: str  # series, frame, record or scalar
    outputs: dict[str, Any]
    runtime_ms: float
    step_ms: float | None
    data: str  # "sample" or "live"
    trace: list[dict[str, Any]] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def preview_document(dsl: dict[str, Any], step_id: str, kind: str) -> dict[str, Any]:
    """The part of ``dsl`` that ``step_id`` needs (its upstream steps and itself, in order) with one output showing it."""
    keep = graph.ancestors(dsl, step_id) | {step_id}
    steps = [s for s in graph.raw_steps(dsl) if isinstance(s, dict) and s.get("id") in keep]
    output: dict[str, Any] = {"id": PREVIEW_OUTPUT, "source": step_id, "label": step_id}
    outputs = {"series": [output]} if kind == "series" else {"metrics": [output]} if kind == "scalar" else {"tables": [output]}
    return {"version": dsl.get("version"), "steps": steps, "outputs": outputs}


class PreviewService:
    """Runs previews through the runs' runner, within the engine's limits and the preview limit."""

    def __init__(self, runner: Runner, limits: Limits, data_mode: str, data: DataSettings, limiter: PreviewLimiter | None = None):
        self._runner = runner
        self._limits = limits
        self._data_mode = data_mode
        self._data = data
        self.limiter = limiter or PreviewLimiter()

    @property
    def live_available(self) -> bool:
        """Whether live data is configured (otherwise previews use the sample)."""
        return self._data_mode != "sample" and bool(self._data.fred_api_key or self._data.polygon_api_key)

    def preview_outputs(self, user: User | None, draft: Draft, live: bool = False) -> Preview:
        """Run the whole draft (for the output mapper's chart preview); the same limits as a step preview."""
        user = require_user(user, "preview the outputs")
        problems = validate(draft.dsl, draft.input_schema)
        if problems:
            raise ValidationFailed(problems)
        return self._run(user, draft.dsl, draft.input_schema, live, step_id="", kind="outputs")

    def _run(self, user: User, doc: dict[str, Any], input_schema: Any, live: bool, step_id: str, kind: str) -> Preview:
        mode = self._data_mode if live and self.live_available else "sample"
        job = RunJob(doc, input_schema, {}, self._limits, mode, self._data, None)
        self.limiter.acquire(user.id)
        try:
            result = self._runner.run(job)
        finally:
            self.limiter.release(user.id)
        trace = result.get("trace") or []
        step_ms = next((t.get("ms") for t in trace if t.get("step") == step_id), None)
        return Preview(step_id, kind, result.get("outputs") or {}, float(result.get("runtime_ms") or 0.0), step_ms,
                       "live" if mode != "sample" else "sample", trace, result.get("provenance") or [], result.get("warnings") or [])

    def preview(self, user: User | None, draft: Draft, step_id: str, live: bool = False) -> Preview:
        """Run ``draft`` up to ``step_id`` with the inputs' defaults; raise with a sentence when it cannot."""
        user = require_user(user, "preview a step")
        if not isinstance(draft.dsl, dict) or graph.find(draft.dsl, step_id) is None:
            raise EditRefused(f"There is no step '{step_id}' to preview.")
        kinds = static_types(draft.dsl, draft.input_schema)
        kind = kinds.get(step_id)
        doc = preview_document(draft.dsl, step_id, kind.value if kind else "frame")
        problems = validate(doc, draft.input_schema)
        if problems or kind is None:
            raise ValidationFailed(problems or [])
        return self._run(user, doc, draft.input_schema, live, step_id, kind.value)
