"""/derivatives-lab : an option chain and its IV smile, and the derivatives models prefilled from it."""

import streamlit as st

from components.charts import smile_figure
from components.lab_data import expirations, option_chain, symbols
from components.lab_url import parse_date, seed_widget, sync_query
from components.models_tab import models_tab
from components.results_panel import data_mode_text
from contracts.errors import AusterError
from services.labs import smile_points, spot_price

st.title("Derivatives Lab")

offered = symbols()
seed_widget("deriv.symbol", "symbol", lambda text: text.strip().upper(), allowed=offered)
with st.sidebar:
    st.subheader("Lab context")
    symbol = st.selectbox("Symbol", offered, key="deriv.symbol", accept_new_options=True, help="Type any US ticker when live data is configured.")
    symbol = (symbol or "").strip().upper()
    try:
        choices = expirations(symbol)
    except AusterError as exc:
        st.error(str(exc))
        st.stop()
    seed_widget(f"deriv.expiration.{symbol}", "expiration", parse_date, allowed=choices)
    expiration = st.selectbox("Expiration", choices, key=f"deriv.expiration.{symbol}", format_func=lambda d: d.isoformat())

try:
    chain, provenance = option_chain(symbol, expiration)
except AusterError as exc:
    st.error(str(exc))
    st.stop()
spot = spot_price(chain)
with st.sidebar:
    st.metric("Spot", f"{spot:,.2f}" if spot is not None else "n/a")
context = {"symbol": symbol, "expiration": expiration, "spot_price": spot}
sync_query(symbol=symbol, expiration=expiration)

chain_tab, models = st.tabs(["Chain and smile", "Models"])
with chain_tab:
    st.caption(data_mode_text(provenance))
    calls, puts = chain[chain["type"] == "call"], chain[chain["type"] == "put"]
    st.plotly_chart(smile_figure(smile_points(calls), smile_points(puts), spot, f"{symbol} implied volatility, {expiration}"), key="deriv.smile")
    shown = ["type", "strike", "bid", "ask", "mid", "last", "volume", "open_interest", "iv", "delta", "gamma", "theta", "vega"]
    st.dataframe(chain[shown], hide_index=True, width="stretch", height=380)
with models:
    models_tab("derivatives", context, key="deriv.models")
