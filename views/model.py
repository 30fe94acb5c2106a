"""/model?slug= : a model's description, run form (prefilled from the query string), results and actions."""

import streamlit as st

from components.builder.links import model_builder_actions
from components.code_review import code_tab, review_badge, review_history
from components.discussion import discussion
from components.lab_url import run_query
from components.model_actions import action_bar, reviews_tab
from components.model_card import facts_line, tags_line
from components.run_form import parse_schema, prefill_from_query, remember_prefill
from components.run_panel import run_panel, state_key
from components.session import current_user, get_services
from components.text import escape
from components.versions import earlier_version, lineage_line, versions_tab
from contracts.errors import AusterError, NotFoundError
from contracts.records import Model

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
earlier = earlier_version(model, st.query_params.get("version"))
shown = Model(model.summary, earlier) if earlier else model  # /model?slug=X&version=N runs version N
st.caption(escape(facts_line(model.summary) + (f" · version {shown.latest.version}" if shown.latest else "")))
review_badge(shown.latest)
lineage = lineage_line(model)
actions = st.container(horizontal=True, gap="small", vertical_alignment="center")  # one row, each as wide as its label; wraps when narrow
action_bar(model, actions)
model_builder_actions(model, actions)
viewer = current_user()
if viewer is not None and (viewer.id == model.owner_id or viewer.is_admin):
    with actions:
        st.page_link("views/analytics.py", label="Usage of this model", query_params={"slug": slug}, icon=":material/query_stats:", width="content")

is_code = model.latest is not None and model.latest.is_code
names = ["Run", "Ratings and reviews", "Versions", "Discussion", "DSL source"] + (["Code", "Code review"] if is_code else [])
run_tab, reviews, versions, talk, source, *code_tabs = st.tabs(names)
with run_tab:
    schema = parse_schema(shown.latest.input_schema if shown.latest else None)
    kept = run_panel(shown, prefill_from_query(st.query_params.to_dict(), schema), earlier=earlier is not None)
    if kept:
        # the address names the version and inputs of the run shown, so it can be shared
        run_query(slug, kept["inputs"], version=earlier.version if earlier else None)
        remember_prefill(state_key(slug, earlier.version if earlier else None), prefill_from_query(st.query_params.to_dict(), schema))
with reviews:
    reviews_tab(model)
with versions:
    versions_tab(model, lineage)
with talk:
    discussion("model", slug)
with source:
    if shown.latest:
        st.json(shown.latest.dsl, expanded=True)
        with st.expander("Input schema"):
            st.json(shown.latest.input_schema)
if is_code:
    with code_tabs[0]:
        code_tab(shown.latest)
    with code_tabs[1]:
        review_history(model)
