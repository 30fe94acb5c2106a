"""Discussions (issue 13): threaded comments on a model or an artifact, in reading order.

The store decides who may see, write, edit, delete, hide and report (both backends, the same rules);
this service checks the target and the text first (so a refusal costs no request) and orders a
thread depth first, each reply under the comment it answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.errors import InputInvalid
from contracts.records import Comment, CommentReport, User
from contracts.rules import COMMENT_MAX_CHARS, COMMENT_REPORT_MAX_CHARS, COMMENT_TARGETS
from services.auth import require_user
from store.base import Store


@dataclass(frozen=True)
class ThreadEntry:
    """A comment and how deep it sits in its thread (0 for a top-level comment)."""

    comment: Comment
    depth: int


def _target(target: str) -> str:
    if target not in COMMENT_TARGETS:
        raise InputInvalid({"target": f"Comments go on one of: {', '.join(COMMENT_TARGETS)}."})
    return target


def _text(body: str, limit: int, what: str) -> str:
    text = (body or "").strip()
    if not text:
        raise InputInvalid({"body": f"Write something first: {what} cannot be empty."})
    if len(text) > limit:
        raise InputInvalid({"body": f"{what[:1].upper()}{what[1:]} has at most {limit:,} characters; this one has {len(text):,}."})
    return text


def in_reading_order(comments: list[Comment]) -> list[ThreadEntry]:
    """Depth first: each comment, then its replies (oldest first); a reply whose parent is gone goes to the top level."""
    ids = {c.id for c in comments}
    children: dict[str | None, list[Comment]] = {}
    for comment in comments:
        parent = comment.parent_id if comment.parent_id in ids else None
        children.setdefault(parent, []).append(comment)
    out: list[ThreadEntry] = []

    def walk(parent: str | None, depth: int) -> None:
        for comment in sorted(children.get(parent, []), key=lambda c: (c.created_at, c.id)):
            out.append(ThreadEntry(comment, depth))
            walk(comment.id, depth + 1)

    walk(None, 0)
    return out


class DiscussionsService:
    """Threads on models and artifacts."""

    def __init__(self, store: Store):
        self._store = store

    def thread(self, user: User | None, target: str, slug: str) -> list[ThreadEntry]:
        return in_reading_order(self._store.comments.list_comments(user, _target(target), slug))

    def post(self, user: User | None, target: str, slug: str, body: str, parent_id: str | None = None) -> Comment:
        user = require_user(user, "comment")
        return self._store.comments.post_comment(user, _target(target), slug, _text(body, COMMENT_MAX_CHARS, "a comment"), parent_id)

    def edit(self, user: User | None, comment_id: str, body: str) -> Comment:
        user = require_user(user, "edit a comment")
        return self._store.comments.edit_comment(user, comment_id, _text(body, COMMENT_MAX_CHARS, "a comment"))

    def delete(self, user: User | None, comment_id: str) -> None:
        self._store.comments.delete_comment(require_user(user, "delete a comment"), comment_id)

    def hide(self, user: User | None, comment_id: str, hidden: bool = True) -> None:
        self._store.comments.hide_comment(require_user(user, "hide a comment"), comment_id, hidden)

    def report(self, user: User | None, comment_id: str, reason: str) -> None:
        user = require_user(user, "report a comment")
        self._store.comments.report_comment(user, comment_id, _text(reason, COMMENT_REPORT_MAX_CHARS, "a report"))

    def reports(self, user: User | None, limit: int = 100) -> list[CommentReport]:
        return self._store.comments.reports(require_user(user, "read reports"), limit)
