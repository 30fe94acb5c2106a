"""Discussions on Supabase: every read and write through the SECURITY DEFINER functions of
20250101000031_discussions.sql, under the viewer's JWT (the tables themselves are closed to anon and
authenticated), so visibility, masking, authorship, the admin's role and the rate limit are decided in
the database."""

from __future__ import annotations

from typing import Any

from contracts.errors import AuthRequired
from contracts.records import Comment, CommentReport, User
from store.supabase.client import Clients, execute, parse_time


def comment_from_json(row: dict[str, Any]) -> Comment:
    """A ``comment_json()`` object as a ``Comment``."""
    return Comment(
        id=row["id"],
        target="artifact" if row.get("artifact_id") else "model",
        model_id=row["model_id"],
        artifact_id=row.get("artifact_id"),
        parent_id=row.get("parent_id"),
        user_id=row["user_id"],
        author_name=row.get("author_name") or "",
        body=row.get("body") or "",
        created_at=parse_time(row.get("created_at")),
        edited_at=parse_time(row["edited_at"]) if row.get("edited_at") else None,
        hidden=bool(row.get("hidden")),
        deleted=bool(row.get("deleted")),
        reports=int(row.get("reports") or 0),
    )


class SupabaseComments:
    """Threads on models and artifacts."""

    def __init__(self, clients: Clients):
        self._clients = clients

    def _rpc(self, viewer: User | None, name: str, args: dict[str, Any]) -> Any:
        return execute(self._clients.for_viewer(viewer).rpc(name, args)).data

    def list_comments(self, viewer: User | None, target: str, slug: str) -> list[Comment]:
        return [comment_from_json(r) for r in self._rpc(viewer, "list_comments", {"p_target": target, "p_slug": slug}) or []]

    def post_comment(self, viewer: User, target: str, slug: str, body: str, parent_id: str | None = None) -> Comment:
        if viewer is None:
            raise AuthRequired("comment")
        args = {"p_target": target, "p_slug": slug, "p_parent_id": parent_id, "p_body": body}
        return comment_from_json(self._rpc(viewer, "post_comment", args))

    def edit_comment(self, viewer: User, comment_id: str, body: str) -> Comment:
        return comment_from_json(self._rpc(viewer, "edit_comment", {"p_id": comment_id, "p_body": body}))

    def delete_comment(self, viewer: User, comment_id: str) -> None:
        self._rpc(viewer, "delete_comment", {"p_id": comment_id})

    def hide_comment(self, viewer: User, comment_id: str, hidden: bool = True) -> None:
        self._rpc(viewer, "hide_comment", {"p_id": comment_id, "p_hidden": bool(hidden)})

    def report_comment(self, viewer: User, comment_id: str, reason: str) -> None:
        self._rpc(viewer, "report_comment", {"p_id": comment_id, "p_reason": reason})

    def reports(self, viewer: User, limit: int = 100) -> list[CommentReport]:
        rows = self._rpc(viewer, "comment_reports_for_admin", {"p_limit": int(limit)}) or []
        return [
            CommentReport(r["id"], comment_from_json(r["comment"]), r.get("reason") or "", r.get("reporter_name") or "", parse_time(r.get("created_at")),
                          r.get("target") or "model", r.get("slug") or "")
            for r in rows
        ]
