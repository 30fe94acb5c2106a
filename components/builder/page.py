"""/builder: the visual model builder. The palette is in the sidebar; the canvas, the Steps list (the
keyboard's way to every canvas action), the inputs, the outputs and the JSON are tabs; the selected
step's editor is on the right. Every edit is validated at once; Save stays disabled while there are
errors; the draft is kept under the user's name after every change."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.builder.canvas import canvas_view
from components.builder.inputs_editor import inputs_editor
from components.builder.json_tab import json_tab
from components.builder.list_view import list_view
from components.builder.outputs_editor import outputs_editor
from components.builder.palette import palette_panel
from components.builder.save_dialog import open_save_dialog, save_dialog, saved_panel
from components.builder.state import BUILDER_PAGE, forget_session, open_session, show_notice
from components.builder.step_editor import step_editor
from components.session import current_user, get_services, require_user, set_user
from components.text import escape
from contracts.errors import AusterError, PermissionDenied
from services.authoring.session import BuilderSession, Checked


def _start_as_guest() -> None:
    require_user("build a model")


def builder_page() -> None:
    svc = get_services()
    user = current_user()
    slug = st.query_params.get("slug", "").strip() or None
    start_from = st.query_params.get("from", "").strip() or None
    st.title("Model builder")
    if user is None:
        st.info("Sign in or continue as a guest to build a model: your draft is kept under your name as you work, and comes back after a reload once you sign in again.")
        left, right = st.columns(2)
        left.button("Start building as a guest", key="builder.guest", on_click=_start_as_guest, type="primary", icon=":material/person_outline:")
        right.page_link("views/account.py", label="Sign in or sign up", icon=":material/login:")
        st.stop()
    try:
        session = open_session(svc, user, slug, start_from)
    except PermissionDenied as exc:
        st.error(escape(exc))
        _fork_offer(svc, user, slug)
        st.stop()
    except AusterError as exc:
        st.error(escape(exc))
        st.stop()
    _keep(svc, user, session)
    checked = session.check()
    with st.container():  # one block above the tabs whatever it holds, so the tabs keep their place from run to run
        saved_panel(svc, user)
        _heading(svc, user, session)
        _toolbar(session, checked)
        show_notice(session)
    with st.sidebar:
        palette_panel(session)
    main, side = st.columns([3, 2], gap="medium")
    with main:
        canvas_tab, steps_tab, inputs_tab, outputs_tab, json_tab_ = st.tabs(["Canvas", "Steps (keyboard)", "Inputs", "Outputs", "JSON"])
        with canvas_tab:
            canvas_view(session, checked)
        with steps_tab:
            list_view(session, checked)
        with inputs_tab:
            inputs_editor(session, session.check())
        with outputs_tab:
            outputs_editor(svc, user, session, session.check())
        with json_tab_:
            json_tab(session, session.check())
    with side:
        step_editor(svc, user, session, session.check())
    save_dialog(svc, user, session)
    _autosave(svc, user, session)


def _heading(svc: Any, user: Any, session: BuilderSession) -> None:
    draft = session.draft
    if draft.base:
        st.caption(f"Editing your model **{escape(draft.base)}**: saving adds a version.")
    elif draft.origin:
        st.caption(f"A new model, starting from **{escape(draft.origin)}**.")
    else:
        st.caption("A new model. Add steps from the palette in the sidebar, connect them on the canvas, choose what to show under Outputs.")
    if session.resumed and session.revision == 0:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.info("Your autosaved draft is back, as you left it.", icon=":material/restore:")
        right.button("Discard it", key="builder.discard", icon=":material/delete_sweep:", help="Start again from the model (or from nothing).",
                     on_click=_discard, args=(svc, user, session.key))
    others = [d for d in svc.builder.drafts(user) if d.key != session.key]
    if others:
        with st.expander(f"Your other drafts ({len(others)})"):
            for record in others:
                kind, _, target = record.key.partition(":")
                params = {"slug": target} if kind == "model" else {"from": target} if kind == "from" else {}
                name = (record.document.get("meta") or {}).get("name") or target or "new model"
                st.page_link(BUILDER_PAGE, label=escape(f"{name} · saved {record.updated_at:%Y-%m-%d %H:%M} UTC"), query_params=params)


def _discard(svc: Any, user: Any, key: str) -> None:
    svc.builder.discard(user, key)
    forget_session(user, key)


def _toolbar(session: BuilderSession, checked: Checked) -> None:
    undo, redo, status, save = st.columns([1, 1, 3, 1.4], vertical_alignment="center")
    undo.button("Undo", key="builder.undo", icon=":material/undo:", disabled=not session.history.can_undo, width="stretch", on_click=session.undo)
    redo.button("Redo", key="builder.redo", icon=":material/redo:", disabled=not session.history.can_redo, width="stretch", on_click=session.redo)
    count = checked.count
    if count:
        status.error(escape(f"{count} error{'s' if count != 1 else ''}: fix {'them' if count != 1 else 'it'} to save (each is shown on its step and field)."), icon=":material/error:")
    else:
        status.success("No errors: ready to save.", icon=":material/check_circle:")
    save.button("Save…", key="builder.save", type="primary", icon=":material/save:", disabled=count > 0, width="stretch",
                on_click=open_save_dialog, help=escape(f"Fix the {count} error(s) first." if count else "Asks for a one-line changelog."))
    elsewhere = [item for item in checked.located if item.area == "document"]
    for item in elsewhere:
        st.error(f"{escape(item.field) + ': ' if item.field else ''}{escape(item.text)}")


def _keep(svc: Any, user: Any, session: BuilderSession) -> None:
    """Keep an edit the widgets' callbacks made before this run, first thing: a run cut short by the next click
    (or a browser that reconnects as a new session) must not lose it. A failure is said by ``_autosave`` at the end."""
    try:
        if svc.builder.autosave(user, session):
            st.session_state["builder.autosaved"] = True
    except AusterError:
        pass


def _autosave(svc: Any, user: Any, session: BuilderSession) -> None:
    try:
        if svc.builder.autosave(user, session):
            st.session_state["builder.autosaved"] = True
    except AusterError as exc:
        st.warning(escape(f"Your draft could not be kept: {exc}"))
        return
    if session.saved_fingerprint is not None:
        st.caption("Draft saved automatically; it comes back when you return to this page.")


def _fork_offer(svc: Any, user: Any, slug: str | None) -> None:
    if slug and st.button("Fork and edit", key="builder.fork", type="primary", icon=":material/fork_right:"):
        fork_and_edit(svc, user, slug)


def fork_and_edit(svc: Any, user: Any, slug: str) -> None:
    """Copy a visible model into the user's workspace (private) and open the copy in the builder."""
    acting = user or require_user("fork and edit models")
    if acting is None:
        return
    set_user(acting)
    try:
        fork = svc.models.fork(acting, slug)
    except AusterError as exc:
        st.error(escape(exc))
        return
    st.switch_page(BUILDER_PAGE, query_params={"slug": fork.slug})
