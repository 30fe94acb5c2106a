"""The builder's drafts on Supabase: plain table requests with the owner's JWT; RLS keeps each draft its owner's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.drafts import DraftRecord
from contracts.records import User
from store.supabase.client import Clients, execute, parse_time


def draft_from_row(row: dict[str, Any]) -> DraftRecord:
    """A ``model_drafts`` row as a ``DraftRecord``."""
    return DraftRecord(str(row["owner_id"]), row["draft_key"], row["document"], parse_time(row.get("updated_at")))


class SupabaseDrafts:
    """Autosaved builder drafts (supabase/migrations/20250101000020_drafts.sql: table and policies)."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def save_draft(self, viewer: User, key: str, document: dict[str, Any]) -> DraftRecord:
        row = {"owner_id": viewer.id, "draft_key": key, "document": document, "updated_at": datetime.now(UTC).isoformat()}
        table = self._clients.for_viewer(viewer).table("model_drafts")
        return draft_from_row(execute(table.upsert(row, on_conflict="owner_id,draft_key")).data[0])

    def get_draft(self, viewer: User, key: str) -> DraftRecord | None:
        request = self._clients.for_viewer(viewer).table("model_drafts").select("*").eq("owner_id", viewer.id).eq("draft_key", key)
        rows = execute(request).data
        return draft_from_row(rows[0]) if rows else None

    def list_drafts(self, viewer: User) -> list[DraftRecord]:
        request = self._clients.for_viewer(viewer).table("model_drafts").select("*").eq("owner_id", viewer.id).order("updated_at", desc=True)
        return [draft_from_row(r) for r in execute(request).data]

    def delete_draft(self, viewer: User, key: str) -> None:
        execute(self._clients.for_viewer(viewer).table("model_drafts").delete().eq("owner_id", viewer.id).eq("draft_key", key))
