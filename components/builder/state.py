"""The builder's per-browser-session state: one ``BuilderSession`` per user and draft key, the refusals
to show (at the top of the page, or on the field the change was made on), and the widget keys (they carry the draft's revision, so every widget re-reads the
draft after any change, wherever it came from: the canvas, the list, the JSON tab, undo)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.text import escape
from contracts.errors import AusterError
from services.authoring.service import draft_key
from services.authoring.session import BuilderSession

SESSIONS = "builder.sessions"
NOTICE = "builder.notice"
BUILDER_PAGE = "views/builder.py"


def open_session(svc: Any, user: Any, slug: str | None, start_from: str | None) -> BuilderSession:
    """This browser session's builder session for the page's draft (opened from the store on first visit)."""
    sessions: dict[tuple[str, str], BuilderSession] = st.session_state.setdefault(SESSIONS, {})
    key = (user.id, draft_key(slug, start_from))
    if key not in sessions:
        sessions[key] = svc.builder.open(user, slug=slug, start_from=start_from)
    return sessions[key]


def forget_session(user: Any, key: str) -> None:
    st.session_state.get(SESSIONS, {}).pop((user.id, key), None)


def wkey(session: BuilderSession, *parts: object) -> str:
    """A widget key: namespaced by what it edits, and by the draft's revision."""
    return "builder." + ".".join(str(p) for p in parts) + f".r{session.revision}"


def act(session: BuilderSession, edit: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply an edit; a refusal becomes the notice shown at the top of the page (nothing changes)."""
    return act_at(None, session, edit, *args, **kwargs)


def act_at(where: str | None, session: BuilderSession, edit: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply an edit made on one field (``where``, e.g. "input.2"); a refusal is shown on that field."""
    try:
        return session.apply(edit, *args, **kwargs)
    except AusterError as exc:
        say(session, str(exc), where)
        return None


def say(session: BuilderSession, message: str, where: str | None = None) -> None:
    """A sentence shown until the draft next changes: on the field ``where``, or at the top of the page (None).

    Each field keeps its own, so two refused changes in a row both stay said.
    """
    kept = st.session_state.get(NOTICE)
    said = kept[2] if kept and kept[:2] == (session.key, session.revision) else {}
    st.session_state[NOTICE] = (session.key, session.revision, said | {where: message})


def show_notice(session: BuilderSession, where: str | None = None, then: str = "") -> None:
    """The sentence said at ``where`` (None: the top of the page), if the draft has not changed since; ``then`` follows it."""
    kept = st.session_state.get(NOTICE)
    if not kept:
        return
    key, revision, said = kept
    if (key, revision) != (session.key, session.revision):
        st.session_state.pop(NOTICE, None)
        return
    if where in said:
        st.warning(escape(said[where] + then), icon=":material/block:")
