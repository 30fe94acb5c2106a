"""A lab's Models tab: the lab's models, one picked to run with its form prefilled from the lab context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from components.builder.links import start_from_link
from components.model_card import MODEL_PAGE, facts_line
from components.run_form import context_query, parse_schema, prefill_from_context
from components.run_panel import run_panel
from components.session import current_user, get_services
from components.text import escape
from contracts.errors import AusterError


def models_tab(lab_scope: str, context: Mapping[str, Any], key: str) -> None:
    """List the lab's models; run the chosen one with the context pushed into its form."""
    svc = get_services()
    try:
        models = svc.registry.list_models(current_user(), lab_scope=lab_scope, sort="popular")
    except AusterError as exc:
        st.error(escape(exc))
        return
    if not models:
        st.info("No models for this lab yet.")
        return
    by_slug = {m.slug: m for m in models}
    if st.query_params.get("run") in by_slug and f"{key}.model" not in st.session_state:
        st.session_state[f"{key}.model"] = st.query_params["run"]
    slug = st.selectbox("Model", list(by_slug), format_func=lambda s: by_slug[s].name, key=f"{key}.model")
    summary = by_slug[slug]
    try:
        model = svc.registry.get_model(slug, current_user())
    except AusterError as exc:
        st.error(escape(exc))
        return
    st.markdown(escape(summary.description))
    st.caption(escape(facts_line(summary)))
    schema = parse_schema(model.latest.input_schema if model.latest else None)
    prefill = prefill_from_context(context, schema)
    if prefill:
        st.caption("Prefilled from the lab context: " + escape(", ".join(f"{k} = {v}" for k, v in prefill.items())))  # a typed symbol is user text
    st.page_link(MODEL_PAGE, label="Open the model page", query_params={"slug": slug, **{k: str(v) for k, v in prefill.items()}}, icon=":material/open_in_new:")
    start_from_link(slug)
    run_panel(model, prefill)
    with st.expander(f"All {len(models)} models in this lab"):
        for item in models:
            st.page_link(MODEL_PAGE, label=escape(item.name), query_params={"slug": item.slug, **context_query(context)})
