"""Review of code models (issue 15): the admins' queue, what they read before deciding, and the decisions.

An admin sees each pending code version with its code, a diff against the model's last approved
version, its dependencies and a sandboxed test run on the sample data, then approves or rejects it
with a note. The store keeps every decision (who, when, the code's SHA-256, the note); the model page
shows them. Only admins decide: the store checks the role in the database (SQL on Supabase), not the
session's copy of it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

from contracts.code import CodeBundle
from contracts.errors import InputInvalid, PermissionDenied
from contracts.limits import Limits
from contracts.records import Review, ReviewItem, User
from contracts.rules import MAX_REVIEW_NOTE
from engine.data import DataAccess
from services.auth import require_user
from services.code import TrialRun, trial_run
from services.registry import RegistryService
from store.base import Store

ADMINS_ONLY = "Only an admin can review code models."


@dataclass(frozen=True)
class ReviewView:
    """One pending code version as the admin reads it."""

    item: ReviewItem
    diff: str  # unified diff against the last approved version ("" when it is the first)
    bundle: CodeBundle


def code_diff(before: str | None, after: str, before_label: str, after_label: str) -> str:
    """A unified diff of two versions of code (everything added when there is no earlier version)."""
    lines = difflib.unified_diff((before or "").splitlines(keepends=True), after.splitlines(keepends=True), before_label, after_label)
    return "".join(lines)


class ReviewService:
    """The queue, the review page's content and the decisions, over the store's ``reviews`` aggregate."""

    def __init__(self, store: Store, registry: RegistryService, limits: Limits, sample: DataAccess | None = None, reference_date: date | None = None):
        self._store = store
        self._registry = registry
        self._limits = limits
        self._sample = sample
        self._today = reference_date

    def _admin(self, user: User | None) -> User:
        user = require_user(user, "review code models")
        if not user.is_admin:
            raise PermissionDenied(ADMINS_ONLY)
        return user

    def queue(self, user: User | None) -> list[ReviewItem]:
        return self._store.reviews.queue(self._admin(user))

    def open(self, user: User | None, version_id: str) -> ReviewView:
        item = self._store.reviews.version_for_review(self._admin(user), version_id)
        version, last = item.version, item.last_approved
        diff = code_diff(last.code_bundle if last else None, version.code_bundle or "",
                         f"v{last.version} (approved)" if last else "nothing approved yet", f"v{version.version}")
        return ReviewView(item, diff, CodeBundle(version.runtime, version.code_bundle or "", version.dependencies))

    def trial(self, user: User | None, version_id: str, inputs: dict | None = None) -> TrialRun:
        """Run the version on the sample data in the sandbox (not recorded, no quota)."""
        view = self.open(user, version_id)
        if self._sample is None:
            from services.data import sample_access

            self._sample = sample_access()
        version = view.item.version
        return trial_run(version.dsl, version.input_schema, view.bundle, inputs or {}, self._sample.fresh(), self._limits,
                         actor=user.id if user else None, today=self._today)

    def decide(self, user: User | None, version_id: str, decision: str, note: str, code_sha256: str) -> Review:
        admin = self._admin(user)
        note = note.strip()
        if decision == "rejected" and not note:
            raise InputInvalid({"note": "Say why it is rejected, so the author can fix it."})
        if len(note) > MAX_REVIEW_NOTE:
            raise InputInvalid({"note": f"Keep the note under {MAX_REVIEW_NOTE:,} characters."})
        review = self._store.reviews.decide(admin, version_id, decision, note, code_sha256)
        self._registry.invalidate()
        return review

    def history(self, user: User | None, slug: str) -> list[Review]:
        """Every decision on a model the user can see, newest first (shown on the model page)."""
        model = self._registry.get_model(slug, user)
        return self._store.reviews.history(user, model.id)
