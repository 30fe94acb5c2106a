"""Publishing: a successful run becomes an immutable artifact with its own URL (``?slug=``)."""

from __future__ import annotations

from contracts.errors import ConflictError, InputInvalid, NotFoundError
from contracts.records import Artifact, User
from contracts.rules import ARTIFACT_VISIBILITIES
from services.auth import require_user
from services.registry import slugify
from store.base import Store

SLUG_ATTEMPTS = 5


class PublishingService:
    def __init__(self, store: Store):
        self._store = store

    def publish(self, user: User | None, run_id: str, title: str, summary: str = "", visibility: str = "public") -> Artifact:
        user = require_user(user, "publish a run")
        title = (title or "").strip()
        summary = (summary or "").strip()
        problems = {}
        if not 1 <= len(title) <= 200:
            problems["title"] = "Give the artifact a title of 1 to 200 characters."
        if len(summary) > 4000:
            problems["summary"] = "Keep the summary under 4,000 characters."
        if visibility not in ARTIFACT_VISIBILITIES:
            problems["visibility"] = "Choose public (listed) or unlisted (only people with the link)."
        if problems:
            raise InputInvalid(problems)
        for _ in range(SLUG_ATTEMPTS):
            try:
                return self._store.artifacts.publish(user, run_id, slugify(title, suffix=True), title, summary, visibility)
            except ConflictError:
                continue  # a random suffix collided; draw another
        raise ConflictError("Could not find a free address for this artifact; try again.")

    def get_artifact(self, slug: str, user: User | None = None, count_view: bool = True) -> Artifact:
        artifact = self._store.artifacts.get_artifact(slug, user)
        if artifact is None:
            raise NotFoundError(f"No artifact at '{slug}'; check the link.")
        if count_view:
            try:
                views = self._store.artifacts.count_view(slug)
            except Exception:
                views = artifact.views  # a view we could not count must not hide the artifact
            if views:
                from dataclasses import replace

                artifact = replace(artifact, views=views)
        return artifact

    def list_artifacts(self, user: User | None = None, mine: bool = False, limit: int = 50) -> list[Artifact]:
        if mine:
            user = require_user(user, "see your artifacts")
        return self._store.artifacts.list_artifacts(user, mine, max(1, min(int(limit), 200)))
