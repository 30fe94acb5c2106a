"""Discussions on sqlite: the same rules as the Supabase functions of 20250101000031_discussions.sql.

A thread is a model's (``artifact_id`` NULL) or an artifact's; it is readable by whoever can see its
model (an unlisted one by its slug) or artifact (always by its slug). Authors edit and delete their own
comments (a deleted comment keeps its place for its replies, its text erased); admins hide any comment
and read the reports. Each user posts at most ``COMMENTS_PER_WINDOW`` comments per ``COMMENT_WINDOW_S``,
counted inside the posting transaction (``BEGIN IMMEDIATE``), so concurrent posts cannot slip past it.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from contracts.errors import AuthRequired, CommentLimitExceeded, InputInvalid, NotFoundError, PermissionDenied
from contracts.records import Comment, CommentReport, User
from contracts.rules import COMMENT_MAX_CHARS, COMMENT_REPORT_MAX_CHARS, COMMENT_WINDOW_S, COMMENTS_PER_WINDOW
from store.common import dt, new_id, ts
from store.sqlite.db import Database
from store.sqlite.visibility import VISIBLE, viewer_id

DELETED_BODY = "[deleted]"
SELECT = (
    "SELECT c.*, p.display_name AS author_name,"
    " (SELECT COUNT(*) FROM comment_reports r WHERE r.comment_id = c.id) AS report_count"
    " FROM model_comments c LEFT JOIN profiles p ON p.id = c.user_id"
)


def comment_from_row(row: sqlite3.Row, admin: bool) -> Comment:
    """A ``model_comments`` row as a ``Comment``, its text masked as the viewer may read it."""
    hidden, deleted = row["hidden_at"] is not None, row["deleted_at"] is not None
    return Comment(
        id=row["id"],
        target="artifact" if row["artifact_id"] else "model",
        model_id=row["model_id"],
        artifact_id=row["artifact_id"],
        parent_id=row["parent_id"],
        user_id=row["user_id"],
        author_name=row["author_name"] or "",
        body="" if deleted or (hidden and not admin) else row["body"],
        created_at=dt(row["created_at"]),
        edited_at=dt(row["edited_at"]) if row["edited_at"] else None,
        hidden=hidden,
        deleted=deleted,
        reports=int(row["report_count"]) if admin else 0,
    )


def check_body(body: str, limit: int = COMMENT_MAX_CHARS, what: str = "A comment") -> str:
    text = (body or "").strip()
    if not 1 <= len(text) <= limit:
        raise InputInvalid({"body": f"{what} has 1 to {limit:,} characters."})
    return text


class SqliteComments:
    """Threads on models and artifacts."""

    def __init__(self, db: Database):
        self._db = db

    @staticmethod
    def _one(source: sqlite3.Connection | Database, sql: str, params: tuple) -> sqlite3.Row | None:
        """One row, inside a transaction (a connection) or as a plain read (the database)."""
        return source.one(sql, params) if isinstance(source, Database) else source.execute(sql, params).fetchone()

    def _admin(self, source: sqlite3.Connection | Database, viewer: User | None) -> bool:
        if viewer is None:
            return False
        row = self._one(source, "SELECT role FROM profiles WHERE id = ?", (viewer.id,))
        return bool(row) and row["role"] == "admin"

    def _target(self, source: sqlite3.Connection | Database, viewer: User | None, target: str, slug: str) -> tuple[str, str | None]:
        """``(model id, artifact id or None)`` of the thread, or ``NotFoundError`` when the viewer cannot see it."""
        if target == "model":
            row = self._one(source, f"SELECT m.id FROM models m WHERE m.slug = ? AND {VISIBLE}", (slug, viewer_id(viewer)))
            if row is not None:
                return row["id"], None
        elif target == "artifact":
            row = self._one(source, "SELECT id, model_id FROM published_artifacts WHERE slug = ?", (slug,))
            if row is not None:
                return row["model_id"], row["id"]
        raise NotFoundError(f"That {target} does not exist or is not visible to you.")

    def list_comments(self, viewer: User | None, target: str, slug: str) -> list[Comment]:
        # plain reads, no write lock: every page view reads its thread, and must never hold up a run being recorded
        model_id, artifact_id = self._target(self._db, viewer, target, slug)
        admin = self._admin(self._db, viewer)
        rows = self._db.all(f"{SELECT} WHERE c.model_id = ? AND c.artifact_id IS ? ORDER BY c.created_at, c.id", (model_id, artifact_id))
        return [comment_from_row(r, admin) for r in rows]

    def post_comment(self, viewer: User, target: str, slug: str, body: str, parent_id: str | None = None) -> Comment:
        if viewer is None:
            raise AuthRequired("comment")
        text = check_body(body)
        now = self._db.now()
        with self._db.tx() as conn:
            model_id, artifact_id = self._target(conn, viewer, target, slug)
            if parent_id is not None and conn.execute(
                "SELECT 1 FROM model_comments WHERE id = ? AND model_id = ? AND artifact_id IS ?", (parent_id, model_id, artifact_id)
            ).fetchone() is None:
                raise NotFoundError("That comment to reply to does not exist or is not in this discussion.")
            recent = conn.execute(
                "SELECT created_at FROM model_comments WHERE user_id = ? AND created_at > ? ORDER BY created_at DESC LIMIT ?",
                (viewer.id, ts(now - timedelta(seconds=COMMENT_WINDOW_S)), COMMENTS_PER_WINDOW),
            ).fetchall()
            if len(recent) >= COMMENTS_PER_WINDOW:
                raise CommentLimitExceeded(COMMENTS_PER_WINDOW, COMMENT_WINDOW_S, dt(recent[-1]["created_at"]) + timedelta(seconds=COMMENT_WINDOW_S))
            comment_id = new_id()
            conn.execute(
                "INSERT INTO model_comments (id, model_id, artifact_id, parent_id, user_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (comment_id, model_id, artifact_id, parent_id, viewer.id, text, ts(now)),
            )
            admin = self._admin(conn, viewer)
            row = conn.execute(f"{SELECT} WHERE c.id = ?", (comment_id,)).fetchone()
        return comment_from_row(row, admin)

    def edit_comment(self, viewer: User, comment_id: str, body: str) -> Comment:
        text = check_body(body)
        with self._db.tx() as conn:
            done = conn.execute(
                "UPDATE model_comments SET body = ?, edited_at = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL AND hidden_at IS NULL",
                (text, ts(self._db.now()), comment_id, viewer.id),
            ).rowcount
            if not done:
                raise PermissionDenied("You can edit only your own comments, and not once they are deleted or hidden.")
            admin = self._admin(conn, viewer)
            row = conn.execute(f"{SELECT} WHERE c.id = ?", (comment_id,)).fetchone()
        return comment_from_row(row, admin)

    def delete_comment(self, viewer: User, comment_id: str) -> None:
        with self._db.tx() as conn:
            done = conn.execute(
                "UPDATE model_comments SET body = ?, deleted_at = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL",
                (DELETED_BODY, ts(self._db.now()), comment_id, viewer.id),
            ).rowcount
        if not done:
            raise PermissionDenied("You can delete only your own comments.")

    def hide_comment(self, viewer: User, comment_id: str, hidden: bool = True) -> None:
        with self._db.tx() as conn:
            if not self._admin(conn, viewer):
                raise PermissionDenied("Only an administrator can hide a comment.")
            done = conn.execute(
                "UPDATE model_comments SET hidden_at = CASE WHEN ? THEN COALESCE(hidden_at, ?) END, hidden_by = CASE WHEN ? THEN ? END WHERE id = ?",
                (int(hidden), ts(self._db.now()), int(hidden), viewer.id, comment_id),
            ).rowcount
        if not done:
            raise NotFoundError("That comment does not exist.")

    def report_comment(self, viewer: User, comment_id: str, reason: str) -> None:
        text = check_body(reason, COMMENT_REPORT_MAX_CHARS, "A report")
        with self._db.tx() as conn:
            row = conn.execute(
                "SELECT 1 FROM model_comments c WHERE c.id = ? AND c.deleted_at IS NULL AND (c.artifact_id IS NOT NULL"
                f" OR EXISTS (SELECT 1 FROM models m WHERE m.id = c.model_id AND {VISIBLE}))",
                (comment_id, viewer.id),
            ).fetchone()
            if row is None:
                raise NotFoundError("That comment does not exist or is not visible to you.")
            conn.execute(
                "INSERT INTO comment_reports (id, comment_id, reporter_id, reason, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (comment_id, reporter_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at",
                (new_id(), comment_id, viewer.id, text, ts(self._db.now())),
            )

    def reports(self, viewer: User, limit: int = 100) -> list[CommentReport]:
        with self._db.tx() as conn:  # the admin page only: one consistent read of reports and their comments
            if not self._admin(conn, viewer):
                raise PermissionDenied("Only an administrator can read reports.")
            rows = conn.execute(
                "SELECT r.id AS report_id, r.reason, r.created_at AS reported_at, rp.display_name AS reporter_name,"
                " COALESCE(a.slug, m.slug) AS target_slug FROM comment_reports r"
                " JOIN model_comments c ON c.id = r.comment_id LEFT JOIN profiles rp ON rp.id = r.reporter_id"
                " LEFT JOIN published_artifacts a ON a.id = c.artifact_id LEFT JOIN models m ON m.id = c.model_id"
                " ORDER BY r.created_at DESC LIMIT ?",
                (max(1, min(int(limit), 500)),),
            ).fetchall()
            out = []
            for r in rows:
                comment = comment_from_row(conn.execute(f"{SELECT} JOIN comment_reports rr ON rr.comment_id = c.id WHERE rr.id = ?", (r["report_id"],)).fetchone(), True)
                out.append(CommentReport(r["report_id"], comment, r["reason"], r["reporter_name"] or "", dt(r["reported_at"]), comment.target, r["target_slug"]))
        return out
