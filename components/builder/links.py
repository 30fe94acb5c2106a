"""Ways into the builder from other pages: edit your own model, fork and edit any visible one, start a
new model from one, or start from nothing. Small, so the pages that show them change by a line."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.builder.page import fork_and_edit
from components.builder.state import BUILDER_PAGE
from components.session import current_user, get_services
from components.text import escape
from contracts.errors import AusterError


def new_model_link(key: str) -> None:
    st.page_link(BUILDER_PAGE, label="New model", icon=":material/add_circle:", help="Build a model on a canvas, without writing JSON.")


def start_from_link(slug: str) -> None:
    st.page_link(BUILDER_PAGE, label="Start from this model", query_params={"from": slug}, icon=":material/account_tree:",
                 help="A new model of your own, beginning as a copy of this one.")


def model_builder_actions(model: Any, bar: Any) -> None:
    """On a model page, in ``bar`` beside its other actions: edit it (its author) or fork and edit it (anyone who
    can see it); publish it (its author)."""
    svc, user = get_services(), current_user()
    own = user is not None and model.owner_id == user.id
    is_code = model.latest is not None and model.latest.is_code
    with bar:
        if is_code and own:
            st.page_link("views/editor.py", label="Edit the code", query_params={"slug": model.slug}, icon=":material/code:", width="content")
        elif own:
            st.page_link(BUILDER_PAGE, label="Edit in the builder", query_params={"slug": model.slug}, icon=":material/edit:", width="content")
        if is_code and not own:
            return  # a code model is forked with the Fork button; the builder edits DSL models
        if own:
            if model.visibility != "public" and st.button("Publish the model", key=f"{model.slug}.make_public", icon=":material/public:", width="content",
                                                          help=escape(f"It is {model.visibility}: make it public so anyone can find and run it.")):
                try:
                    svc.models.set_visibility(user, model.slug, "public")
                    st.rerun()
                except AusterError as exc:
                    st.error(escape(exc))
        else:
            if st.button("Fork and edit", key=f"{model.slug}.fork_edit", icon=":material/edit_note:", width="content",
                         help="Copy it into your workspace (private) and open the copy in the builder."):
                fork_and_edit(svc, user, model.slug)
            st.page_link(BUILDER_PAGE, label="Start from this model", query_params={"from": model.slug}, icon=":material/account_tree:", width="content",
                         help="A new model of your own, beginning as a copy of this one.")
