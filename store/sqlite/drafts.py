"""The builder's drafts on sqlite: one document per owner and key, each readable and writable by its owner only."""

from __future__ import annotations

import json
import sqlite3

from contracts.drafts import DraftRecord
from contracts.records import User
from store.common import dt, new_id, ts
from store.sqlite.db import Database


def draft_from_row(row: sqlite3.Row) -> DraftRecord:
    """A ``model_drafts`` row as a ``DraftRecord``."""
    return DraftRecord(row["owner_id"], row["draft_key"], json.loads(row["document"]), dt(row["updated_at"]))


class SqliteDrafts:
    """Autosaved builder drafts; every query is scoped to the viewer (the mirror of the Supabase RLS policy)."""

    def __init__(self, db: Database):
        self._db = db

    def save_draft(self, viewer: User, key: str, document: dict) -> DraftRecord:
        stamp = ts(self._db.now())
        with self._db.tx() as conn:
            conn.execute(
                "INSERT INTO model_drafts (id, owner_id, draft_key, document, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (owner_id, draft_key) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                (new_id(), viewer.id, key, json.dumps(document), stamp, stamp),
            )
            row = conn.execute("SELECT * FROM model_drafts WHERE owner_id = ? AND draft_key = ?", (viewer.id, key)).fetchone()
        return draft_from_row(row)

    def get_draft(self, viewer: User, key: str) -> DraftRecord | None:
        row = self._db.one("SELECT * FROM model_drafts WHERE owner_id = ? AND draft_key = ?", (viewer.id, key))
        return draft_from_row(row) if row else None

    def list_drafts(self, viewer: User) -> list[DraftRecord]:
        rows = self._db.all("SELECT * FROM model_drafts WHERE owner_id = ? ORDER BY updated_at DESC", (viewer.id,))
        return [draft_from_row(r) for r in rows]

    def delete_draft(self, viewer: User, key: str) -> None:
        with self._db.tx() as conn:
            conn.execute("DELETE FROM model_drafts WHERE owner_id = ? AND draft_key = ?", (viewer.id, key))
