"""/model?slug= : a model's description, run form (prefilled from the query string), results and actions."""

import streamlit as st

from components.builder.links import model_builder_actions
from components.lab_url import run_query
from components.model_actions import action_bar, reviews_tab, versions_tab
from components.model_card import facts_line, tags_line
from components.run_form import parse_schema, prefill_from_query, remember_prefill
from components.run_panel import run_panel
from components.session import current_user, get_services
from components.text import escape
from contracts.errors import AusterError, NotFoundError

slug = st.query_params.get("slug", "").strip()
if not slug:
    st.title("Model")
    st.info("No model was named in the link. Pick one from the registry.")
    st.page_link("views/registry.py", label="Model registry", icon=":material/apps:")
    st.stop()

svc = get_services()
try:
    model = svc.registry.get_model(slug, current_user())
except NotFoundError:
    st.title("Model not found")
    st.info(f"There is no model '{escape(slug)}' that you can see. It may be private or mistyped.")
    st.page_link("views/registry.py", label="Back to the registry", icon=":material/apps:")
    st.stop()
except AusterError as exc:
    st.error(escape(exc))
    st.stop()

st.title(escape(model.name))
st.markdown(escape(model.description))
if model.tags:
    st.markdown(tags_line(model.tags))
st.caption(escape(facts_line(model.summary) + (f" · version {model.latest.version}" if model.latest else "")))
action_bar(model)
model_builder_actions(model)

run_tab, reviews, versions, source = st.tabs(["Run", "Ratings and reviews", "Versions", "DSL source"])
with run_tab:
    schema = parse_schema(model.latest.input_schema if model.latest else None)
    kept = run_panel(model, prefill_from_query(st.query_params.to_dict(), schema))
    if kept:
        run_query(slug, kept["inputs"])  # the address names the inputs of the run shown, so it can be shared
        remember_prefill(slug, prefill_from_query(st.query_params.to_dict(), schema))
with reviews:
    reviews_tab(model)
with versions:
    versions_tab(model)
with source:
    if model.latest:
        st.json(model.latest.dsl, expanded=True)
        with st.expander("Input schema"):
            st.json(model.latest.input_schema)
