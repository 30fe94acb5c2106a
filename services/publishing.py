"""Publishing: a successful run becomes an immutable artifact with its own URL (``?slug=``).

A public artifact's address is its title and 24 random bits (collisions are retried); an unlisted
one's ends in 128 random bits that the store adds, so it is found only by its link. Views are
counted by the server once per viewer per UTC day: a viewer is a user id, or a hash of the browser
session of an anonymous visitor (never the session key itself).
"""

from __future__ import annotations

import hashlib

from contracts.errors import ConflictError, InputInvalid, NotFoundError
from contracts.records import Artifact, User
from contracts.rules import ARTIFACT_VISIBILITIES
from services.auth import require_user
from services.registry import slugify
from store.base import Store

SLUG_ATTEMPTS = 5
ANONYMOUS_VIEWER = "visitor:unidentified"  # visitors whose browser session is unknown count as one viewer a day


def viewer_key(user: User | None, browser_key: str | None) -> str:
    """Who is viewing, for counting views once per viewer per day: ``user:<id>`` or ``visitor:<hash of the browser session>``."""
    if user is not None:
        return f"user:{user.id}"
    if browser_key:
        return "visitor:" + hashlib.sha256(browser_key.encode()).hexdigest()[:40]
    return ANONYMOUS_VIEWER


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
            # an unlisted artifact's random part (128 bits) is added by the store; a public one's is short
            slug = slugify(title, suffix=visibility == "public")
            try:
                return self._store.artifacts.publish(user, run_id, slug, title, summary, visibility)
            except ConflictError:
                continue  # a random suffix collided; draw another
        raise ConflictError("Could not find a free address for this artifact; try again.")

    def get_artifact(self, slug: str, user: User | None = None, count_view: bool = True, browser_key: str | None = None) -> Artifact:
        """The artifact at ``slug``; with ``count_view``, this viewer's view is counted (once a day).

        ``browser_key`` identifies an anonymous visitor's browser session (hashed before it is stored).
        """
        artifact = self._store.artifacts.get_artifact(slug, user)
        if artifact is None:
            raise NotFoundError(f"No artifact at '{slug}'; check the link.")
        if count_view:
            try:
                views = self._store.artifacts.count_view(artifact.id, viewer_key(user, browser_key))
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
