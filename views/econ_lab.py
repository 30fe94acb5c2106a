"""/econ-lab : FRED series over a date range, and the econ models prefilled from that context."""

from datetime import date, timedelta

import streamlit as st

from components.charts import context_figure
from components.lab_data import fred_catalogue, lab_series
from components.lab_url import parse_date, seed_widget, sync_query
from components.models_tab import models_tab
from components.results_panel import data_mode_text

st.title("Econ Lab")

catalogue = fred_catalogue()
titles = dict(zip(catalogue["id"], catalogue["title"], strict=True))
units = dict(zip(catalogue["id"], catalogue["units"], strict=True))
seed_widget("econ.start", "start", parse_date)
seed_widget("econ.end", "end", parse_date)
seed_widget("econ.series", "series_ids", lambda text: [s.strip().upper() for s in text.split(",") if s.strip()], allowed=titles)
with st.sidebar:
    st.subheader("Lab context")
    start = st.date_input("Start", value=date.today() - timedelta(days=365 * 10), key="econ.start", format="YYYY-MM-DD")
    end = st.date_input("End", value=date.today(), key="econ.end", format="YYYY-MM-DD")
    series = st.multiselect(
        "FRED series", list(titles), default=["DGS10", "DGS2"], key="econ.series", format_func=lambda s: f"{s}: {titles.get(s, s)}",
        accept_new_options=True, help="Type to search; with FRED_API_KEY set any FRED id can be typed in.",
    )
context = {"start": start, "end": end, "series": [s.strip().upper() for s in series]}
sync_query(start=start, end=end, series_ids=context["series"])

chart_tab, models = st.tabs(["Chart", "Models"])
with chart_tab:
    if not series:
        st.info("Pick one or more FRED series in the sidebar.")
    elif start >= end:
        st.error("The start date must be before the end date.")
    else:
        fetched = lab_series(tuple(context["series"]), start, end)
        for message in fetched.errors.values():
            st.error(message)
        if fetched.values:
            st.plotly_chart(context_figure(fetched.values, units), key="econ.chart")
            kinds = {units.get(sid, "") for sid in fetched.values}
            if len(kinds) > 2:
                st.caption(f"These series come in {len(kinds)} different units; all but the first series' share the right axis. Pick fewer for a clearer chart.")
            st.caption(data_mode_text(fetched.provenance))
with models:
    models_tab("econ", context, key="econ.models")
