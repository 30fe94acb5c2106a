"""/derivatives-lab : an option chain with greeks on every contract, its IV smile, and the derivatives models prefilled from it."""

import math

import streamlit as st

from components.charts import ChartContext, chart_title, smile_figure
from components.lab_data import expirations, option_chain, symbols
from components.lab_url import parse_date, seed_widget, sync_query
from components.links import page_url
from components.models_tab import models_tab
from components.plotly_view import show_chart
from components.results_panel import data_mode_text, show_table
from components.text import escape
from contracts.errors import AusterError
from services.labs import smile_points, spot_price, unlisted_sentence

CHAIN_COLUMNS = ["type", "strike", "bid", "ask", "mid", "last", "volume", "open_interest", "iv", "delta", "gamma", "theta", "vega", "greeks_source"]

st.title("Derivatives Lab")

offered = symbols()
from_link = "deriv.symbol" not in st.session_state  # the first render of this page in the session: the link speaks
notes = [seed_widget("deriv.symbol", "symbol", lambda text: text.strip().upper(), allowed=offered, what="symbol", fallback=offered[0] if offered else "the default")]
with st.sidebar:
    st.subheader("Lab context")
    symbol = st.selectbox("Symbol", offered, key="deriv.symbol", accept_new_options=True, help="Type any US ticker when live data is configured.")
    symbol = (symbol or "").strip().upper()
    try:
        choices = expirations(symbol)
    except AusterError as exc:
        st.error(escape(exc))
        st.stop()
    wanted = parse_date(st.query_params.get("expiration", "")) if from_link and f"deriv.expiration.{symbol}" not in st.session_state else None
    seed_widget(f"deriv.expiration.{symbol}", "expiration", parse_date, allowed=choices)
    if wanted is not None and wanted not in choices and choices:
        notes.append(unlisted_sentence(symbol, wanted, choices) + f" Showing {choices[0].isoformat()}.")
    expiration = st.selectbox("Expiration", choices, key=f"deriv.expiration.{symbol}", format_func=lambda d: d.isoformat())

for note in notes:
    if note:
        st.warning(escape(note))
try:
    chain, provenance = option_chain(symbol, expiration)
except AusterError as exc:
    st.error(escape(exc))
    st.stop()
spot = spot_price(chain)
query = {"symbol": symbol, "expiration": expiration}
sync_query(**query)
with st.sidebar:
    st.metric("Spot", f"{spot:,.2f}" if spot is not None else "n/a")
    with st.popover("Copy link", icon=":material/link:", width="stretch"):
        st.caption("This address opens the lab on this symbol and expiration.")
        st.code(page_url("derivatives-lab", {"symbol": symbol, "expiration": expiration.isoformat() if expiration else ""}), language=None)
context = {"symbol": symbol, "expiration": expiration, "spot_price": spot}

chain_tab, models = st.tabs(["Chain and smile", "Models"])
with chain_tab:
    st.caption(escape(data_mode_text(provenance)))
    calls, puts = chain[chain["type"] == "call"], chain[chain["type"] == "put"]
    as_of = max((str(p.get("as_of") or "")[:10] for p in provenance), default="")
    title = chart_title("Implied volatility by strike", ChartContext(subject=f"{symbol} {expiration} expiry", as_of=as_of))
    show_chart(smile_figure(smile_points(calls), smile_points(puts), spot, title), key="deriv.smile")
    sources = chain["greeks_source"].value_counts().to_dict() if "greeks_source" in chain else {}
    if sources.get("engine"):
        vendor = f"the vendor's on {sources['vendor']:,} contracts, " if sources.get("vendor") else ""
        st.caption(escape(f"Greeks: {vendor}computed by the engine on {sources['engine']:,} contracts (Black-Scholes-Merton at each contract's implied volatility; "
                   "theta per calendar day, vega per volatility point). The Greeks column says which."))
    shown = [c for c in CHAIN_COLUMNS if c in chain.columns]
    rows = [{c: (None if isinstance(v, float) and math.isnan(v) else v) for c, v in zip(shown, row, strict=True)} for row in chain[shown].itertuples(index=False, name=None)]
    show_table({"columns": shown, "rows": rows, "formats": {"strike": ",.2f", "bid": ",.2f", "ask": ",.2f", "mid": ",.3f", "last": ",.2f", "delta": ".3f", "gamma": ".4f", "theta": ".3f", "vega": ".3f"}})
with models:
    models_tab("derivatives", context, key="deriv.models")
