"""Reviews of code versions on Supabase: ``review_code_version`` (admins only, checked in SQL), the queue from
``code_versions_for_review`` and each model's decisions from ``model_reviews_of``; RLS keeps the table
itself unwritable by users (supabase/migrations/20250101000040_code_reviews.sql)."""

from __future__ import annotations

from typing import Any

from contracts.errors import InputInvalid, NotFoundError
from contracts.records import Review, ReviewItem, User
from contracts.rules import MAX_REVIEW_NOTE, REVIEW_DECISIONS
from store.supabase.client import Clients, execute, parse_time
from store.supabase.models import summary_from_row, version_from_row


def review_from_row(row: dict[str, Any], version: int | None = None, reviewer_name: str | None = None) -> Review:
    return Review(
        row["id"], row["model_id"], row["version_id"], int(version if version is not None else row.get("version") or 0), row.get("reviewer_id"),
        (reviewer_name if reviewer_name is not None else row.get("reviewer_name")) or "a former admin",
        row["decision"], row["code_sha256"], row.get("note") or "", parse_time(row.get("created_at")),
    )


def _item(row: dict[str, Any]) -> ReviewItem:
    last = row.get("last_approved")
    return ReviewItem(summary_from_row(row["model"]), version_from_row(row["version"]), version_from_row(last) if last else None)


class SupabaseReviews:
    """The review queue and decisions, each request with the viewer's JWT (the SQL checks the admin role)."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def queue(self, viewer: User) -> list[ReviewItem]:
        rows = execute(self._clients.for_viewer(viewer).rpc("code_versions_for_review", {"p_version_id": None})).data or []
        return [_item(r) for r in rows]

    def version_for_review(self, viewer: User, version_id: str) -> ReviewItem:
        rows = execute(self._clients.for_viewer(viewer).rpc("code_versions_for_review", {"p_version_id": version_id})).data or []
        if not rows:
            raise NotFoundError("No code version with that id.")
        return _item(rows[0])

    def decide(self, viewer: User, version_id: str, decision: str, note: str, code_sha256: str) -> Review:
        if decision not in REVIEW_DECISIONS:
            raise InputInvalid({"decision": f"Decide one of {', '.join(REVIEW_DECISIONS)}."})
        if len(note) > MAX_REVIEW_NOTE:
            raise InputInvalid({"note": f"The note is {len(note):,} characters; keep it under {MAX_REVIEW_NOTE:,}."})
        args = {"p_version_id": version_id, "p_decision": decision, "p_note": note, "p_code_sha256": code_sha256}
        row = execute(self._clients.for_viewer(viewer).rpc("review_code_version", args)).data
        row = row[0] if isinstance(row, list) else row
        item = self.version_for_review(viewer, version_id)
        return review_from_row(row, item.version.version, viewer.display_name)

    def history(self, viewer: User | None, model_id: str) -> list[Review]:
        rows = execute(self._clients.for_viewer(viewer).rpc("model_reviews_of", {"p_model_id": model_id})).data or []
        return [review_from_row(r) for r in rows]
