"""Auster Models: the Streamlit entry point. Pages live in views/ (not pages/: see docs/app.md), reusable pieces in components/."""

from __future__ import annotations

import streamlit as st

from components.sidebar import sidebar

# url_path values are part of every shared link: never rename them.
PAGES = {
    "Discover": [
        st.Page("views/registry.py", title="Model registry", icon=":material/apps:", default=True),
        st.Page("views/artifacts.py", title="Published artifacts", icon=":material/collections_bookmark:", url_path="artifacts"),
    ],
    "Labs": [
        st.Page("views/econ_lab.py", title="Econ Lab", icon=":material/monitoring:", url_path="econ-lab"),
        st.Page("views/derivatives_lab.py", title="Derivatives Lab", icon=":material/candlestick_chart:", url_path="derivatives-lab"),
    ],
    "You": [
        st.Page("views/workspace.py", title="Workspace", icon=":material/work:", url_path="workspace"),
        st.Page("views/builder.py", title="Model builder", icon=":material/account_tree:", url_path="builder"),
        st.Page("views/account.py", title="Account", icon=":material/person:", url_path="account"),
    ],
    "": [
        st.Page("views/model.py", title="Model", icon=":material/insights:", url_path="model", visibility="hidden"),
        st.Page("views/artifact.py", title="Artifact", icon=":material/article:", url_path="artifact", visibility="hidden"),
    ],
}


def run() -> None:
    st.set_page_config(page_title="Auster Models", page_icon=":material/ssid_chart:", layout="wide")
    page = st.navigation(PAGES)
    sidebar()
    page.run()


run()
