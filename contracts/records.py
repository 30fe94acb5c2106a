"""Plain records the store returns and the services and app consume (frozen dataclasses, JSON-friendly)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from contracts.artifact import ArtifactPayload
from contracts.result import RunResult
from contracts.rules import (
    ArtifactType,
    ArtifactVisibility,
    CommentTarget,
    ReviewDecision,
    ReviewStatus,
    Role,
    RunStatus,
    Runtime,
    Tier,
    VersionStatus,
    Visibility,
    daily_limit,
)


@dataclass(frozen=True)
class User:
    """A signed-in user or guest for one browser session; ``session`` is the backend's per-session handle."""

    id: str
    email: str | None
    display_name: str
    tier: Tier = "free"
    role: Role = "user"
    is_guest: bool = False
    session: Any = field(default=None, repr=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def daily_limit(self) -> int:
        return daily_limit(self.tier, self.is_guest)


@dataclass(frozen=True)
class IssuedSession:
    """A session just started for a browser: ``token`` goes into its cookie once and is stored only hashed."""

    id: str
    user_id: str
    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class ModelQuery:
    """Filters and sort of a registry listing."""

    text: str = ""
    lab_scope: str | None = None
    tags: tuple[str, ...] = ()
    difficulty: str | None = None
    sort: str = "popular"
    limit: int = 60
    only_mine: bool = False
    saved_only: bool = False


@dataclass(frozen=True)
class ModelSummary:
    """A model as listed on a card."""

    id: str
    slug: str
    name: str
    description: str
    lab_scope: str
    tags: tuple[str, ...]
    difficulty: str
    visibility: Visibility
    owner_id: str | None  # None for a template
    forked_from_id: str | None
    created_at: datetime
    updated_at: datetime
    runs_30d: int = 0
    rating_avg: float | None = None
    rating_count: int = 0
    is_template: bool = False


@dataclass(frozen=True)
class ModelVersion:
    """One version of a model: a DSL document today; code (``runtime`` python or js) in phase 3."""

    id: str
    model_id: str
    version: int
    dsl: dict[str, Any]
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    changelog: str
    status: VersionStatus
    created_by: str | None
    created_at: datetime
    runtime: Runtime = "dsl"
    code_bundle: str | None = None
    dependencies: tuple[str, ...] = ()
    review_status: ReviewStatus | None = None  # code versions: pending until an admin approves or rejects
    author_name: str | None = None  # the display name of ``created_by`` (None for a template)

    @property
    def is_code(self) -> bool:
        return self.runtime != "dsl"


@dataclass(frozen=True)
class Review:
    """An admin's decision on one code version, kept for good: who, when, which code (its SHA-256) and why."""

    id: str
    model_id: str
    version_id: str
    version: int
    reviewer_id: str | None
    reviewer_name: str
    decision: ReviewDecision
    code_sha256: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class ReviewItem:
    """A code version waiting for review, with the model it belongs to and its last approved version, if any."""

    model: ModelSummary
    version: ModelVersion
    last_approved: ModelVersion | None


@dataclass(frozen=True)
class ForkSource:
    """Where a fork came from, as its page says it: "forked from <name>, version <version>, by <owner_name>"."""

    slug: str
    name: str
    version: int | None  # the source version copied or last taken (None when that version is gone)
    owner_name: str | None
    is_template: bool = False


@dataclass(frozen=True)
class ForkEntry:
    """One fork of a model, as the source's page lists it."""

    slug: str
    name: str
    owner_name: str | None
    created_at: datetime
    version: int | None  # the source version it copied or last took


@dataclass(frozen=True)
class Lineage:
    """A model's place among forks: its source (None when it is no fork, or its source is not visible to the
    viewer: ``source_hidden``) and the forks the viewer may list (public ones and the viewer's own)."""

    source: ForkSource | None
    forks: tuple[ForkEntry, ...]
    source_hidden: bool = False


@dataclass(frozen=True)
class Model:
    """A model with its current version (``latest``)."""

    summary: ModelSummary
    latest: ModelVersion | None

    def __getattr__(self, name: str) -> Any:  # model.slug, model.name... read through to the summary
        if name.startswith("_") or name in ("summary", "latest"):
            raise AttributeError(name)
        return getattr(self.summary, name)


@dataclass(frozen=True)
class RunRecord:
    """A run as recorded; a cache hit's ``outputs`` are read through the run it reuses (``cached_from_run_id``)."""

    id: str
    model_id: str
    model_version_id: str
    user_id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None  # RunResult.to_json() on success
    runtime_ms: float | None
    status: RunStatus
    error_message: str | None
    cached: bool
    created_at: datetime
    model_slug: str | None = None
    cached_from_run_id: str | None = None
    queued: bool = False  # recorded for the queue (issue 15), not executed in place by the app


@dataclass(frozen=True)
class Artifact:
    """A published run: immutable, with everything needed to render it (``payload``)."""

    id: str
    slug: str
    title: str
    summary: str
    visibility: ArtifactVisibility
    views: int
    model_run_id: str
    model_id: str
    version_id: str
    owner_id: str
    created_at: datetime
    payload: dict[str, Any]
    type: ArtifactType = "model_run"

    @property
    def content(self) -> ArtifactPayload:
        """The payload, read the one way it is read everywhere."""
        return ArtifactPayload.from_json(self.payload)

    def result(self) -> RunResult:
        """The stored ``RunResult``, without re-running anything."""
        return RunResult.from_json(self.payload["result"])

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


@dataclass(frozen=True)
class Rating:
    user_id: str
    model_id: str
    rating: int
    review: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RatingSummary:
    average: float | None
    count: int
    reviews: tuple[Rating, ...]
    mine: Rating | None = None


@dataclass(frozen=True)
class Comment:
    """A comment in a model's or an artifact's thread (``parent_id``: the comment it replies to). The body of a
    deleted comment, and of a hidden one for anyone but an admin, is empty."""

    id: str
    target: CommentTarget
    model_id: str
    artifact_id: str | None
    parent_id: str | None
    user_id: str
    author_name: str
    body: str
    created_at: datetime
    edited_at: datetime | None = None
    hidden: bool = False
    deleted: bool = False
    reports: int = 0  # shown to admins only (0 for anyone else)


@dataclass(frozen=True)
class CommentReport:
    """A report of a comment to the admins, with the comment and where it is."""

    id: str
    comment: Comment
    reason: str
    reporter_name: str
    created_at: datetime
    target: CommentTarget
    slug: str
