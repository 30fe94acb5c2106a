"""Who may see a model, in SQL: the sqlite mirror of the RLS policies in supabase/migrations.

Public models are listable by anyone, unlisted ones readable by whoever has their id or slug, private
ones only by their owner; a code model only once an admin approved one of its versions, and then
only its approved versions. ``VISIBLE`` takes one parameter, the viewer's id (None for a visitor).
"""

from __future__ import annotations

import sqlite3

from contracts.errors import NotFoundError
from contracts.records import User

# A code model is seen by others only once it has an approved version (``review_status = 'approved'``).
REVIEWED = "(m.kind = 'dsl' OR m.review_status = 'approved')"
VISIBLE = f"((m.visibility IN ('public', 'unlisted') AND {REVIEWED}) OR m.owner_id = ?)"
LISTABLE = f"((m.visibility = 'public' AND {REVIEWED}) OR m.owner_id = ?)"
# The versions of a visible model that others may see and run: DSL ones, and approved code ones.
VERSION_SHOWN = "(v.runtime = 'dsl' OR v.review_status = 'approved')"


def viewer_id(viewer: User | None) -> str | None:
    """The viewer's id, or None for an anonymous visitor."""
    return viewer.id if viewer else None


def require_visible_model(conn: sqlite3.Connection, viewer: User | None, model_id: str) -> None:
    """``NotFoundError`` unless the viewer may see the model."""
    row = conn.execute(f"SELECT 1 FROM models m WHERE m.id = ? AND {VISIBLE}", (model_id, viewer_id(viewer))).fetchone()
    if row is None:
        raise NotFoundError("That model does not exist or is private.")
