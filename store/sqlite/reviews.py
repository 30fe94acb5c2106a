"""Reviews of code versions on sqlite: the admins' queue, their decisions (kept for good) and each model's history.

Only an admin decides; a decision names the code it judged by its SHA-256, so a later change to the
code is never covered by an earlier approval. ``models.review_status`` follows: 'approved' once any
version is approved (that version is what others see and run), else the state of the newest decision.
"""

from __future__ import annotations

import sqlite3

from contracts.code import code_hash
from contracts.errors import ConflictError, InputInvalid, NotFoundError, PermissionDenied
from contracts.records import ModelVersion, Review, ReviewItem, User
from contracts.rules import MAX_REVIEW_NOTE, REVIEW_DECISIONS
from store.common import dt, new_id, ts
from store.sqlite.db import Database
from store.sqlite.models import summary_from_row, version_from_row
from store.sqlite.visibility import VISIBLE, viewer_id

ADMINS_ONLY = "Only an admin can review code models."


def review_from_row(row: sqlite3.Row) -> Review:
    return Review(
        row["id"], row["model_id"], row["version_id"], row["version"], row["reviewer_id"], row["reviewer_name"] or "a former admin",
        row["decision"], row["code_sha256"], row["note"], dt(row["created_at"]),
    )


REVIEWS_SQL = """
SELECT r.*, v.version, p.display_name AS reviewer_name
  FROM model_reviews r JOIN model_versions v ON v.id = r.version_id LEFT JOIN profiles p ON p.id = r.reviewer_id
"""


class SqliteReviews:
    """The review queue and decisions; every write checks the viewer is an admin (the mirror of the RLS policy)."""

    def __init__(self, db: Database):
        self._db = db

    def _require_admin(self, conn: sqlite3.Connection, viewer: User | None) -> None:
        row = conn.execute("SELECT role FROM profiles WHERE id = ?", (viewer_id(viewer),)).fetchone()
        if row is None or row["role"] != "admin":  # the role is read from the database, not from the session's copy
            raise PermissionDenied(ADMINS_ONLY)

    def queue(self, viewer: User) -> list[ReviewItem]:
        """Code versions waiting for a decision, oldest first, each with its last approved version."""
        with self._db.tx() as conn:
            self._require_admin(conn, viewer)
            rows = conn.execute(
                "SELECT v.*, m.id AS m_id FROM model_versions v JOIN models m ON m.id = v.model_id"
                " WHERE v.review_status = 'pending' ORDER BY v.created_at, v.version"
            ).fetchall()
            items = []
            for row in rows:
                model = conn.execute("SELECT * FROM models WHERE id = ?", (row["m_id"],)).fetchone()
                items.append(ReviewItem(summary_from_row(model), version_from_row(row), self._last_approved(conn, row["model_id"], before=row["version"])))
        return items

    @staticmethod
    def _last_approved(conn: sqlite3.Connection, model_id: str, before: int | None = None) -> ModelVersion | None:
        row = conn.execute(
            "SELECT * FROM model_versions WHERE model_id = ? AND review_status = 'approved' AND (? IS NULL OR version < ?) ORDER BY version DESC LIMIT 1",
            (model_id, before, before),
        ).fetchone()
        return version_from_row(row) if row else None

    def decide(self, viewer: User, version_id: str, decision: str, note: str, code_sha256: str) -> Review:
        """Approve or reject a code version as an admin; ``code_sha256`` is the hash of the code the admin read."""
        if decision not in REVIEW_DECISIONS:
            raise InputInvalid({"decision": f"Decide one of {', '.join(REVIEW_DECISIONS)}."})
        if len(note) > MAX_REVIEW_NOTE:
            raise InputInvalid({"note": f"The note is {len(note):,} characters; keep it under {MAX_REVIEW_NOTE:,}."})
        review_id = new_id()
        stamp = ts(self._db.now())
        with self._db.tx() as conn:
            self._require_admin(conn, viewer)
            version = conn.execute("SELECT * FROM model_versions WHERE id = ?", (version_id,)).fetchone()
            if version is None or version["runtime"] == "dsl":
                raise NotFoundError("No code version with that id is waiting for review.")
            if code_hash(version["code_bundle"] or "") != code_sha256:
                raise ConflictError("The code changed since you read it; read it again before deciding.")
            conn.execute(
                "INSERT INTO model_reviews (id, model_id, version_id, reviewer_id, decision, code_sha256, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (review_id, version["model_id"], version_id, viewer.id, decision, code_sha256, note, stamp),
            )
            conn.execute("UPDATE model_versions SET review_status = ? WHERE id = ?", (decision, version_id))
            approved = conn.execute("SELECT 1 FROM model_versions WHERE model_id = ? AND review_status = 'approved'", (version["model_id"],)).fetchone()
            conn.execute("UPDATE models SET review_status = ? WHERE id = ?", ("approved" if approved else decision, version["model_id"]))
            row = conn.execute(f"{REVIEWS_SQL} WHERE r.id = ?", (review_id,)).fetchone()
        return review_from_row(row)

    def history(self, viewer: User | None, model_id: str) -> list[Review]:
        """Every decision on a model the viewer can see, newest first."""
        with self._db.tx() as conn:
            visible = conn.execute(f"SELECT 1 FROM models m WHERE m.id = ? AND {VISIBLE}", (model_id, viewer_id(viewer))).fetchone()
            if visible is None:
                return []
            rows = conn.execute(f"{REVIEWS_SQL} WHERE r.model_id = ? ORDER BY r.created_at DESC, v.version DESC", (model_id,)).fetchall()
        return [review_from_row(r) for r in rows]

    def version_for_review(self, viewer: User, version_id: str) -> ReviewItem:
        """One code version as the admin reviews it (any status), with its last approved predecessor."""
        with self._db.tx() as conn:
            self._require_admin(conn, viewer)
            row = conn.execute("SELECT * FROM model_versions WHERE id = ? AND runtime <> 'dsl'", (version_id,)).fetchone()
            if row is None:
                raise NotFoundError("No code version with that id.")
            model = conn.execute("SELECT * FROM models WHERE id = ?", (row["model_id"],)).fetchone()
            return ReviewItem(summary_from_row(model), version_from_row(row), self._last_approved(conn, row["model_id"], before=row["version"]))
