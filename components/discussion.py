"""A discussion under a model or an artifact (issue 13): the thread with replies indented, a form to post,
and per comment Reply, Edit and Delete (your own), Report (others'), Hide (admins). Comments are plain
text: escaped, with only http and https addresses made links (``components.text.linked_text``)."""

from __future__ import annotations

import streamlit as st

from components.session import current_user, get_services, require_user
from components.text import escape, linked_text
from contracts.errors import AusterError
from contracts.records import Comment
from contracts.rules import COMMENT_MAX_CHARS, COMMENT_REPORT_MAX_CHARS, COMMENT_WINDOW_S, COMMENTS_PER_WINDOW

MAX_INDENT = 4  # deeper replies sit at this depth, still under their parent in order


def _flash(key: str) -> None:
    message = st.session_state.pop(key, None)
    if message:
        (st.success if message[0] == "ok" else st.error)(escape(message[1]))


def _act(key: str, done: str, action: object) -> None:
    """Run an action, keep its outcome as one sentence for the next rerun, rerun."""
    try:
        action()  # type: ignore[operator]
        st.session_state[f"{key}.flash"] = ("ok", done)
    except AusterError as exc:
        st.session_state[f"{key}.flash"] = ("error", str(exc))
    st.rerun()


def comment_caption(comment: Comment) -> str:
    """``Ana · 2026-11-27 19:40 UTC · edited`` (escaped)."""
    parts = [escape(comment.author_name or "someone"), f"{comment.created_at:%Y-%m-%d %H:%M} UTC"]
    if comment.edited_at:
        parts.append("edited")
    if comment.reports:
        parts.append(f"{comment.reports} report(s)")
    return " · ".join(parts)


def comment_body(comment: Comment) -> str:
    """The markdown of a comment's text, or what stands in its place."""
    if comment.deleted:
        return "_This comment was deleted by its author._"
    if comment.hidden and not comment.body:
        return "_This comment was hidden by an administrator._"
    prefix = "_(hidden from readers)_  \n" if comment.hidden else ""
    return prefix + linked_text(comment.body)


def discussion(target: str, slug: str) -> None:
    """The whole discussion of ``target`` ("model" or "artifact") ``slug``."""
    svc, user = get_services(), current_user()
    key = f"talk.{target}.{slug}"
    try:
        thread = svc.discussions.thread(user, target, slug)
    except AusterError as exc:
        st.error(escape(exc))
        return
    _flash(f"{key}.flash")
    st.caption(
        escape(f"{len(thread)} comment{'s' if len(thread) != 1 else ''}. Plain text, up to {COMMENT_MAX_CHARS:,} characters; "
        f"at most {COMMENTS_PER_WINDOW} comments in {COMMENT_WINDOW_S // 60} minutes.")
    )
    with st.form(f"{key}.new", clear_on_submit=True):
        body = st.text_area("Add a comment", max_chars=COMMENT_MAX_CHARS, key=f"{key}.body", placeholder="Ask a question or share what you found")
        posted = st.form_submit_button("Post comment")
    if posted:
        acting = require_user("comment")
        if acting is not None:
            _act(key, "Your comment is posted.", lambda: svc.discussions.post(acting, target, slug, body))
    admin = bool(user and user.is_admin)
    for entry in thread:
        _comment(key, target, slug, entry.comment, entry.depth, user, admin)


def _comment(key: str, target: str, slug: str, comment: Comment, depth: int, user: object, admin: bool) -> None:
    svc = get_services()
    indent = min(depth, MAX_INDENT)
    area = st.columns([indent, 24 - indent])[1] if indent else st.container()
    ckey = f"{key}.{comment.id}"
    with area, st.container(border=True):
        st.caption(comment_caption(comment))
        st.markdown(comment_body(comment))
        if comment.deleted:
            return
        mine = user is not None and getattr(user, "id", None) == comment.user_id
        bar = st.container(horizontal=True, gap="small")
        with bar, st.popover("Reply", icon=":material/reply:"), st.form(f"{ckey}.reply", clear_on_submit=True, border=False):
            reply = st.text_area("Your reply", max_chars=COMMENT_MAX_CHARS, key=f"{ckey}.reply_body")
            if st.form_submit_button("Post reply"):
                acting = require_user("reply")
                if acting is not None:
                    _act(key, "Your reply is posted.", lambda: svc.discussions.post(acting, target, slug, reply, parent_id=comment.id))
        if mine and not comment.hidden:
            with bar, st.popover("Edit", icon=":material/edit:"), st.form(f"{ckey}.edit", border=False):
                text = st.text_area("Your comment", value=comment.body, max_chars=COMMENT_MAX_CHARS, key=f"{ckey}.edit_body")
                if st.form_submit_button("Save changes"):
                    _act(key, "Your comment is updated.", lambda: svc.discussions.edit(user, comment.id, text))
        if mine:
            with bar:
                if st.button("Delete", key=f"{ckey}.delete", icon=":material/delete:"):
                    _act(key, "Your comment is deleted.", lambda: svc.discussions.delete(user, comment.id))
        if user is not None and not mine:
            with bar, st.popover("Report", icon=":material/flag:"), st.form(f"{ckey}.report", clear_on_submit=True, border=False):
                reason = st.text_input("What is wrong with it?", max_chars=COMMENT_REPORT_MAX_CHARS, key=f"{ckey}.reason")
                if st.form_submit_button("Report to the admins"):
                    _act(key, "Thanks: the admins will look at it.", lambda: svc.discussions.report(user, comment.id, reason))
        if admin:
            with bar:
                label = "Unhide" if comment.hidden else "Hide"
                if st.button(escape(label), key=f"{ckey}.hide", icon=":material/visibility_off:"):
                    _act(key, f"The comment is {'visible again' if comment.hidden else 'hidden from readers'}.",
                         lambda: svc.discussions.hide(user, comment.id, not comment.hidden))


def reports_panel(admin: object) -> None:
    """For the admin page: the latest reports, each with its comment and a Hide button."""
    svc = get_services()
    try:
        reports = svc.discussions.reports(admin)
    except AusterError as exc:
        st.error(escape(exc))
        return
    _flash("admin.reports.flash")
    if not reports:
        st.caption("No comment has been reported.")
        return
    for report in reports:
        with st.container(border=True):
            page = "views/model.py" if report.target == "model" else "views/artifact.py"
            st.caption(escape(f"Reported by {report.reporter_name or 'someone'} · {report.created_at:%Y-%m-%d %H:%M} UTC · {report.target} {report.slug}"))
            st.markdown(f"**Reason:** {escape(report.reason)}")
            st.markdown(comment_body(report.comment))
            row = st.container(horizontal=True, gap="small")
            with row:
                st.page_link(page, label=escape(f"Open the {report.target}"), query_params={"slug": report.slug}, width="content")
                label = "Unhide" if report.comment.hidden else "Hide"
                if st.button(escape(label), key=f"admin.report.{report.id}.hide", width="content"):
                    _act("admin.reports", f"The comment is {'visible again' if report.comment.hidden else 'hidden from readers'}.",
                         lambda r=report: svc.discussions.hide(admin, r.comment.id, not r.comment.hidden))
