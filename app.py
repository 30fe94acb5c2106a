"""Auster Models: placeholder home page until the app issue lands."""

import streamlit as st

st.set_page_config(page_title="Auster Models", layout="wide")
st.title("Auster Models")
st.write("Run `python -m engine ops` to list the DSL operations; the full app is on its way.")
