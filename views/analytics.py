"""/usage?slug= : a model's usage for its owner (and admins): runs, unique users, cache hits, errors, runtimes,
top input values, saves, forks and ratings over time, with CSV."""

import streamlit as st

from components.model_card import MODEL_PAGE
from components.session import current_user, get_services
from components.text import escape
from components.usage_dashboard import usage_dashboard
from contracts.errors import AusterError

slug = st.query_params.get("slug", "").strip()
st.title("Model usage")
if not slug:
    st.info("No model was named in the link. Open one of your models and choose Usage.")
    st.stop()
user = current_user()
if user is None:
    st.info("Sign in to see the usage of your models.")
    st.stop()
days = st.segmented_control("Period", [7, 30, 90], default=30, format_func=lambda d: f"{d} days", key="usage.days") or 30
try:
    board = get_services().analytics.model_dashboard(user, slug, int(days))
except AusterError as exc:
    st.error(escape(exc))
    st.stop()
st.page_link(MODEL_PAGE, label=f"Back to {escape(board.name)}", query_params={"slug": slug}, icon=":material/arrow_back:")
usage_dashboard(board)
