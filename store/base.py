"""What the services need from persistence, whatever the backend: one protocol per aggregate.

A backend object (``Store``) exposes each aggregate as an attribute (``store.users``,
``store.models``, ``store.runs``, ``store.artifacts``, ``store.social``, ``store.drafts``), so a feature touches one
module per backend. Every method that reads or writes on someone's behalf takes the ``viewer`` (a
``User`` or ``None`` for an anonymous visitor). The sqlite backend enforces visibility in its
queries; the Supabase backend sends the request with that user's JWT so row-level security enforces
it in the database, except what only the server may write (runs, their outputs, usage, views), which
it records with the server-side key on the viewer's behalf. Refusals raise the typed errors of
``contracts.errors``; the rules both backends follow are asserted by tests/store/test_conformance.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from contracts.code import CodeBundle
from contracts.drafts import DraftRecord
from contracts.dsl import ModelMeta
from contracts.health import ProviderEventCount
from contracts.records import (
    Artifact,
    Comment,
    CommentReport,
    IssuedSession,
    Lineage,
    Model,
    ModelQuery,
    ModelSummary,
    ModelVersion,
    Rating,
    RatingSummary,
    Review,
    ReviewItem,
    RunRecord,
    User,
)
from store.common import STALE_AFTER_S


@runtime_checkable
class UsersStore(Protocol):
    """Identity: accounts, guest sessions, profiles (tier and role)."""

    def sign_up(self, email: str, password: str, display_name: str | None = None) -> User: ...
    def sign_in(self, email: str, password: str) -> User: ...
    def guest(self) -> User: ...

    def sign_out(self, user: User, everywhere: bool = False) -> None:
        """End this session of the user (``everywhere``: every session of theirs, on every device)."""
        ...

    def change_password(self, user: User, current: str, new: str) -> None:
        """Check ``current``, store ``new``; the user's other sessions end (the sessions store revokes the app's)."""
        ...

    def refresh_user(self, user: User) -> User: ...
    def set_profile(self, email: str, *, tier: str | None = None, role: str | None = None) -> User: ...
    def release(self, user: User) -> None:
        """Free what this user's browser session held (Supabase: its client's HTTP connections); idempotent."""
        ...


@runtime_checkable
class SessionsStore(Protocol):
    """Sessions that outlast a browser tab: an opaque random token in the browser's cookie, stored only as its
    SHA-256 with an expiry; revoked at sign-out, on a password change and by "sign out everywhere".

    On Supabase a session keeps the user's GoTrue refresh token (sealed with a key derived from the
    token, so the table alone opens nothing), rotated on each refresh; refreshes happen on demand only.
    """

    def start(self, user: User, ttl_s: float) -> IssuedSession: ...

    def resume(self, token: str) -> User | None:
        """The user of a live session (Supabase: with a fresh client, its refresh token rotated), else None."""
        ...

    def is_live(self, token: str) -> bool: ...
    def end(self, token: str) -> None: ...

    def end_all(self, user_id: str, keep_token: str | None = None) -> int:
        """Revoke every session of the user (but ``keep_token``'s); return how many were live."""
        ...


@runtime_checkable
class ModelsStore(Protocol):
    """Models and their versions, forks, and the seed templates."""

    def list_models(self, viewer: User | None, query: ModelQuery) -> list[ModelSummary]: ...
    def get_model(self, slug: str, viewer: User | None) -> Model | None: ...
    def list_versions(self, slug: str, viewer: User | None) -> list[ModelVersion]: ...
    def create_model(
        self, owner: User | None, meta: ModelMeta, visibility: str = "private", changelog: str = "First version", code: CodeBundle | None = None
    ) -> Model:
        """A new model with its first version; with ``code`` it is a code model (private, its version pending review)."""
        ...

    def slug_taken(self, slug: str) -> bool: ...
    def add_version(
        self, viewer: User, model_id: str, dsl: dict[str, Any], input_schema: dict[str, Any], output_schema: dict[str, Any], changelog: str, status: str = "published",
        code: CodeBundle | None = None,
    ) -> ModelVersion:
        """A new version of the viewer's model; a code version waits for review while the last approved one stays live."""
        ...

    def set_visibility(self, viewer: User, model_id: str, visibility: str) -> None: ...
    def fork_model(self, viewer: User, source_slug: str, new_slug: str, name: str | None) -> Model:
        """A private copy of the source's current version, named "<name> (fork)" unless ``name`` is given."""
        ...

    def lineage(self, slug: str, viewer: User | None) -> Lineage | None:
        """Where the model came from and which forks the viewer may list; None when the model is not visible."""
        ...

    def take_source_version(self, viewer: User, fork_slug: str, version: int) -> ModelVersion:
        """The fork's owner takes a version of its source as the fork's new current version."""
        ...

    def load_seeds(self, metas: list[ModelMeta]) -> int: ...


@runtime_checkable
class RunsStore(Protocol):
    """Runs within the limits, daily usage, and the execution cache (a hit references the run it reuses)."""

    def reserve_run(
        self, viewer: User, model_id: str, version_id: str, inputs: dict[str, Any], inputs_hash: str, stale_after_s: float = STALE_AFTER_S,
        *, queued: bool = False,
    ) -> str:
        """Reserve a run within the limits (failed runs do not use the daily quota; every run counts per
        minute), first failing the viewer's runs left pending for longer than ``stale_after_s``; ``queued``
        records that the run goes through the queue (the queue's sweep looks only at those)."""
        ...

    def pending_queued_runs(self, older_than_s: float, limit: int = 100) -> list[RunRecord]:
        """Queued runs of every user still pending and recorded more than ``older_than_s`` ago, oldest first (at most
        ``limit``, up to 1000). The server's queue sweep alone: it reads across users, so it takes no viewer."""
        ...

    def finish_run(
        self, viewer: User, run_id: str, status: str, outputs: dict[str, Any] | None, runtime_ms: float | None, error: str | None,
        *, error_code: str | None = None, error_operation: str | None = None,
    ) -> None:
        """Finish a pending run and count it in the day's usage; a failed run keeps its error's code and the
        failing step's operation (None when no step failed)."""
        ...

    def find_cached_run(self, viewer: User | None, version_id: str, inputs_hash: str) -> tuple[str, dict[str, Any]] | None: ...

    def log_cached_run(self, viewer: User, source_run_id: str, inputs_hash: str) -> str:
        """Record a cache hit: it takes the source run's canonical inputs, which must hash to ``inputs_hash``,
        and counts against the per-minute limit."""
        ...

    def runs_today(self, viewer: User) -> int: ...
    def list_runs(self, viewer: User, limit: int = 50) -> list[RunRecord]: ...
    def get_run(self, viewer: User, run_id: str) -> RunRecord | None: ...
    def usage(self, model_id: str, since: datetime) -> list[dict[str, Any]]: ...

    def model_analytics(self, viewer: User, model_id: str, days: int = 30) -> dict[str, Any]:
        """For the model's owner or an admin: ``since``; ``daily`` (date, runs, unique_users, errors, cache_hits);
        ``runtime`` (p50, p95, n of executed successful runs); ``top_inputs`` (name, value, runs); ``saves``, ``forks``
        (date, count) and ``ratings`` (date, count, average) per day."""
        ...

    def admin_usage(self, viewer: User, days: int = 30) -> dict[str, Any]:
        """For an admin: ``since``; ``totals`` (runs, cache_hits, errors, active_users); ``top_models`` (slug, name, runs,
        cache_hits, errors, user_days); ``top_users`` (name, days, models)."""
        ...


@runtime_checkable
class HealthStore(Protocol):
    """The data providers' daily event counts (written by the server alone) and the admins' health report."""

    def record_provider_events(self, rows: list[ProviderEventCount]) -> None:
        """Add these counts to the per-day totals (server-side; one statement for the whole batch)."""
        ...

    def admin_health(self, viewer: User, days: int = 30) -> dict[str, Any]:
        """For an admin: ``since``; ``events`` (provider, kind, date, event, code, count) per day since then; ``errors``
        (operation, code, errors, last_at): the failed runs since then per failing operation and error code."""
        ...


@runtime_checkable
class ArtifactsStore(Protocol):
    """Published runs: immutable, readable by slug, listed when public."""

    def publish(self, viewer: User, run_id: str, slug: str, title: str, summary: str, visibility: str) -> Artifact: ...
    def get_artifact(self, slug: str, viewer: User | None) -> Artifact | None: ...
    def count_view(self, artifact_id: str, viewer_key: str) -> int:
        """Count one view per viewer per UTC day; return the artifact's views."""
        ...

    def list_artifacts(self, viewer: User | None, mine: bool, limit: int = 50) -> list[Artifact]: ...


@runtime_checkable
class SocialStore(Protocol):
    """Saves and ratings."""

    def save(self, viewer: User, model_id: str) -> None: ...
    def unsave(self, viewer: User, model_id: str) -> None: ...
    def saved_ids(self, viewer: User) -> set[str]: ...
    def rate(self, viewer: User, model_id: str, rating: int, review: str) -> Rating: ...
    def ratings(self, model_id: str, viewer: User | None) -> RatingSummary: ...


@runtime_checkable
class DraftsStore(Protocol):
    """The builder's autosaved drafts: each one visible and writable by its owner only."""

    def save_draft(self, viewer: User, key: str, document: dict[str, Any]) -> DraftRecord: ...
    def get_draft(self, viewer: User, key: str) -> DraftRecord | None: ...
    def list_drafts(self, viewer: User) -> list[DraftRecord]: ...
    def delete_draft(self, viewer: User, key: str) -> None: ...


@runtime_checkable
class ReviewsStore(Protocol):
    """Reviews of code versions: only admins decide; every decision is kept and shown with the model."""

    def queue(self, viewer: User) -> list[ReviewItem]: ...
    def decide(self, viewer: User, version_id: str, decision: str, note: str, code_sha256: str) -> Review: ...
    def history(self, viewer: User | None, model_id: str) -> list[Review]: ...
    def version_for_review(self, viewer: User, version_id: str) -> ReviewItem: ...


@runtime_checkable
class CommentsStore(Protocol):
    """Discussions: threaded comments on a model or an artifact (``target`` "model" or "artifact", named by slug),
    visible exactly to those who can see it. Authors edit and delete their own comments, admins hide any and
    read the reports; each user posts at most ``contracts.rules.COMMENTS_PER_WINDOW`` per ``COMMENT_WINDOW_S``."""

    def list_comments(self, viewer: User | None, target: str, slug: str) -> list[Comment]: ...
    def post_comment(self, viewer: User, target: str, slug: str, body: str, parent_id: str | None = None) -> Comment: ...
    def edit_comment(self, viewer: User, comment_id: str, body: str) -> Comment: ...
    def delete_comment(self, viewer: User, comment_id: str) -> None: ...
    def hide_comment(self, viewer: User, comment_id: str, hidden: bool = True) -> None: ...
    def report_comment(self, viewer: User, comment_id: str, reason: str) -> None: ...
    def reports(self, viewer: User, limit: int = 100) -> list[CommentReport]: ...


@runtime_checkable
class Store(Protocol):
    """A backend: its kind ("sqlite" or "supabase"), one object per aggregate, and ``close``."""

    kind: str
    users: UsersStore
    sessions: SessionsStore
    models: ModelsStore
    runs: RunsStore
    artifacts: ArtifactsStore
    social: SocialStore
    drafts: DraftsStore
    reviews: ReviewsStore
    comments: CommentsStore
    health: HealthStore

    def close(self) -> None: ...


AGGREGATES: dict[str, type] = {
    "users": UsersStore, "sessions": SessionsStore, "models": ModelsStore, "runs": RunsStore, "artifacts": ArtifactsStore, "social": SocialStore,
    "drafts": DraftsStore, "reviews": ReviewsStore, "comments": CommentsStore, "health": HealthStore,
}
