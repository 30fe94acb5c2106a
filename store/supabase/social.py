"""Saves and ratings on Supabase: plain table writes, each row the user's own under RLS. A model
readable by link (public, unlisted, or one's own) may be saved and rated, and its ratings are read
through ``model_ratings_of`` so that those of unlisted models are never listable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.records import Rating, RatingSummary, User
from store.common import summarise_ratings
from store.supabase.client import Clients, execute, parse_time


def rating_from_row(row: dict[str, Any]) -> Rating:
    """A ``model_ratings`` row as a ``Rating``."""
    return Rating(row["user_id"], row["model_id"], int(row["rating"]), row.get("review") or "", parse_time(row.get("created_at")), parse_time(row.get("updated_at")))


class SupabaseSocial:
    """What users say about models: saves and ratings."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def save(self, viewer: User, model_id: str) -> None:
        table = self._clients.for_viewer(viewer).table("model_saves")
        execute(table.upsert({"user_id": viewer.id, "model_id": model_id}, on_conflict="user_id,model_id", ignore_duplicates=True))

    def unsave(self, viewer: User, model_id: str) -> None:
        execute(self._clients.for_viewer(viewer).table("model_saves").delete().eq("user_id", viewer.id).eq("model_id", model_id))

    def saved_ids(self, viewer: User) -> set[str]:
        rows = execute(self._clients.for_viewer(viewer).table("model_saves").select("model_id").eq("user_id", viewer.id)).data
        return {r["model_id"] for r in rows}

    def rate(self, viewer: User, model_id: str, rating: int, review: str) -> Rating:
        row = {"user_id": viewer.id, "model_id": model_id, "rating": rating, "review": review, "updated_at": datetime.now(UTC).isoformat()}
        rows = execute(self._clients.for_viewer(viewer).table("model_ratings").upsert(row, on_conflict="user_id,model_id")).data
        return rating_from_row(rows[0])

    def ratings(self, model_id: str, viewer: User | None) -> RatingSummary:
        rows = execute(self._clients.for_viewer(viewer).rpc("model_ratings_of", {"p_model_id": model_id})).data
        return summarise_ratings(tuple(rating_from_row(r) for r in rows), viewer)
