"""/ : the model registry: search as you type, filters in the address, sorts and model cards."""

import streamlit as st

from components.builder.links import new_model_link
from components.filters import registry_filters
from components.model_card import card_grid
from components.session import current_user, get_services
from components.text import escape
from contracts.errors import AusterError

st.title("Model registry")
st.caption("Analytical models over economic, market and options data. Open one to run it, publish its results or fork it.")
new_model_link("registry")


@st.fragment
def registry() -> None:
    """Filters and cards: typing or filtering reruns only this part of the page."""
    svc = get_services()
    user = current_user()
    try:
        filters = registry_filters(svc.registry.all_tags(user))
        models = svc.registry.list_models(
            user, text=filters.text, lab_scope=filters.lab_scope, tags=filters.tags, difficulty=filters.difficulty, sort=filters.sort
        )
    except AusterError as exc:
        st.error(escape(exc))
        return
    if not models:
        st.info("No model matches these filters. Clear the search or pick fewer tags.")
    else:
        st.caption(f"{len(models)} model{'s' if len(models) != 1 else ''}")
        card_grid(models, key="registry")


registry()
