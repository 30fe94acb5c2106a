"""Saving: a dialog that asks for a changelog line (and, for a new model, its name, address, lab,
difficulty, tags and description, with the address checked for uniqueness and a free one suggested).
A new model is private until its owner publishes it; saving one's own model adds a version."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.builder.state import BUILDER_PAGE, act, forget_session
from components.session import get_services
from components.text import escape
from contracts.errors import AusterError, ConflictError, InputInvalid, ValidationFailed
from contracts.rules import DIFFICULTIES, LAB_SCOPES
from services.authoring import edits as E
from services.authoring.session import BuilderSession

OPEN = "builder.save.open"
SAVED = "builder.saved"
MODEL_PAGE = "views/model.py"


def _closed() -> None:
    st.session_state.pop(OPEN, None)


def _meta(session: BuilderSession, name: str, key: str) -> None:
    value = st.session_state[key]
    if name == "tags":
        value = [t.strip() for t in str(value).split(",") if t.strip()]
    act(session, E.set_meta, **{name: value})
    if name == "slug":
        st.session_state["builder.save.slug_typed"] = True
    elif name == "name" and not st.session_state.get("builder.save.slug_typed"):  # the address follows the name until typed
        slug = get_services().builder.suggest_slug(str(value))
        st.session_state["builder.save.slug"] = slug
        act(session, E.set_meta, slug=slug)


def _use_slug(session: BuilderSession, slug: str) -> None:
    act(session, E.set_meta, slug=slug)
    st.session_state["builder.save.slug"] = slug


@st.dialog("Save the model", width="medium", on_dismiss=_closed)
def _dialog(svc: Any, user: Any, session: BuilderSession) -> None:
    draft = session.draft
    if draft.base:
        st.markdown(f"Saves a new version of **{escape(draft.base)}** (your model).")
    else:
        meta = draft.meta
        st.markdown("A new model, **private** until you publish it.")
        st.text_input("Name", value=meta.get("name", ""), max_chars=120, key="builder.save.name", on_change=_meta, args=(session, "name", "builder.save.name"))
        if "builder.save.slug" not in st.session_state:
            st.session_state["builder.save.slug"] = meta.get("slug") or svc.builder.suggest_slug(meta.get("name") or "model")
            act(session, E.set_meta, slug=st.session_state["builder.save.slug"])
        st.text_input("Address (slug)", key="builder.save.slug", max_chars=80, on_change=_meta, args=(session, "slug", "builder.save.slug"),
                      help="The model's page will be /model?slug=this.")
        check = svc.builder.check_slug(session.draft.meta.get("slug", ""))
        if check.ok:
            st.caption(f"✓ {escape(check.message)}")
        else:
            st.error(escape(check.message), icon=":material/link_off:")
            if check.suggestion:
                st.button(escape(f"Use '{check.suggestion}'"), key="builder.save.suggestion", on_click=_use_slug, args=(session, check.suggestion))
        left, right = st.columns(2)
        left.selectbox("Lab", LAB_SCOPES, index=LAB_SCOPES.index(meta.get("lab_scope")) if meta.get("lab_scope") in LAB_SCOPES else 0,
                       key="builder.save.lab_scope", on_change=_meta, args=(session, "lab_scope", "builder.save.lab_scope"))
        right.selectbox("Difficulty", DIFFICULTIES, index=DIFFICULTIES.index(meta.get("difficulty")) if meta.get("difficulty") in DIFFICULTIES else 0,
                        key="builder.save.difficulty", on_change=_meta, args=(session, "difficulty", "builder.save.difficulty"))
        st.text_input("Tags (comma-separated)", value=", ".join(meta.get("tags") or []), key="builder.save.tags", on_change=_meta, args=(session, "tags", "builder.save.tags"))
        st.text_area("Description", value=meta.get("description", ""), max_chars=2000, key="builder.save.description",
                     on_change=_meta, args=(session, "description", "builder.save.description"))
    changelog = st.text_input("What changed (one line)", key="builder.save.changelog", max_chars=200, placeholder="e.g. First version: spread and its 5-year z-score")
    if st.button("Save", type="primary", key="builder.save.confirm", icon=":material/save:"):
        try:
            saved = svc.builder.save(user, session, changelog)
        except ValidationFailed as exc:
            st.error(f"The model has {len(exc.problems)} error(s); close this and fix them first.")
            return
        except (InputInvalid, ConflictError) as exc:
            fields = getattr(exc, "fields", None) or {"": str(exc)}
            for message in fields.values():
                st.error(escape(message))
            return
        except AusterError as exc:
            st.error(escape(exc))
            return
        st.session_state[SAVED] = {"slug": saved.slug, "version": saved.version, "created": saved.created}
        for key in [k for k in st.session_state if str(k).startswith("builder.save.")]:
            del st.session_state[key]
        _closed()
        forget_session(user, session.key)
        st.rerun()


def open_save_dialog() -> None:
    st.session_state[OPEN] = True


def save_dialog(svc: Any, user: Any, session: BuilderSession) -> None:
    if st.session_state.get(OPEN):
        _dialog(svc, user, session)


def saved_panel(svc: Any, user: Any) -> None:
    """After a save: where the model is, and publishing it (a new model is private)."""
    saved = st.session_state.get(SAVED)
    if not saved:
        return
    slug = saved["slug"]
    what = "Created your model" if saved["created"] else f"Saved version {saved['version']} of"
    st.success(f"{escape(what)} **{escape(slug)}**.", icon=":material/check_circle:")
    try:
        model = svc.registry.get_model(slug, user)
    except AusterError:
        return
    cols = st.columns(3)
    cols[0].page_link(MODEL_PAGE, label="Open its page to run it", query_params={"slug": slug}, icon=":material/open_in_new:")
    cols[1].page_link(BUILDER_PAGE, label="Keep editing", query_params={"slug": slug}, icon=":material/edit:")
    if model.visibility != "public":
        if cols[2].button("Publish the model (make it public)", key="builder.saved.publish", icon=":material/public:"):
            try:
                svc.models.set_visibility(user, slug, "public")
                st.toast(escape(f"'{slug}' is public now."))
            except AusterError as exc:
                st.error(escape(exc))
        st.caption(escape(f"It is {model.visibility}: only you can see it until you publish it."))
