"""/econ-lab : FRED series over a date range (each in its own transform), and the econ models prefilled from that context."""

from datetime import date

import streamlit as st

from components.charts import ChartContext, chart_title, context_figure
from components.lab_data import fred_catalogue, lab_series, observation_span
from components.lab_url import parse_date, parse_list, parse_units, seed_widget, sync_query, units_text
from components.links import page_url
from components.models_tab import models_tab
from components.plotly_view import show_chart
from components.results_panel import data_mode_text
from components.run_panel import form_today
from components.text import escape
from services.labs import SERIES_UNITS, recession_spans

st.title("Econ Lab")

catalogue = fred_catalogue()
titles = dict(zip(catalogue["id"], catalogue["title"], strict=True))
native_units = dict(zip(catalogue["id"], catalogue["units"], strict=True))
spans = dict(zip(catalogue["id"], zip(catalogue["observation_start"], catalogue["observation_end"], strict=True), strict=True))
notes = [seed_widget("econ.series", "series_ids", parse_list, allowed=titles, what="FRED series")]
st.session_state.setdefault("econ.series", ["DGS10", "DGS2"])


def _span(sid: str) -> tuple[date | None, date | None]:
    """A series' first and last observations: from the catalogue, else asked of the data source."""
    first, last = spans.get(sid, (None, None))
    return (first, last) if first and last else observation_span(sid)


def _years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years) if (day.month, day.day) != (2, 29) else day.replace(year=day.year - years, day=28)


def _units_label(sid: str, code: str) -> str:
    native = native_units.get(sid, "")
    return {
        "lin": native,
        "chg": f"Change, {native}" if native else "Change",
        "pch": "Percent change",
        "pc1": "Percent change from a year ago",
        "log": f"Natural log of {native}" if native else "Natural log",
    }.get(code, native)


with st.sidebar:
    st.subheader("Lab context")
    series = st.multiselect(
        "FRED series", list(titles), key="econ.series", format_func=lambda s: f"{s}: {titles.get(s, s)}",
        accept_new_options=True, help="Type to search; with FRED_API_KEY set any FRED id can be typed in.",
    )
    chosen = list(dict.fromkeys(s.strip().upper() for s in series))
    known = [_span(sid) for sid in chosen] or list(spans.values())
    earliest = min([first for first, _ in known if first] or [date(1900, 1, 1)])
    # The data's as-of date: the latest observation of the chosen series (the data's reference date when unknown).
    as_of = max([last for _, last in known if last] or [form_today()])
    notes.append(seed_widget("econ.start", "start", parse_date, what="date", fallback="the last ten years of data"))
    notes.append(seed_widget("econ.end", "end", parse_date, what="date", fallback="the latest observation"))
    st.session_state.setdefault("econ.end", as_of)
    st.session_state.setdefault("econ.start", max(earliest, _years_before(st.session_state["econ.end"], 10)))
    if st.session_state["econ.start"] < earliest:  # the widget refuses dates before its minimum
        notes.append(f"The chosen series start on {earliest.isoformat()}, so the start date is {earliest.isoformat()}.")
        st.session_state["econ.start"] = earliest
    st.session_state["econ.start"] = min(st.session_state["econ.start"], as_of)  # nor after its maximum
    st.session_state["econ.end"] = min(max(st.session_state["econ.end"], earliest), as_of)
    start = st.date_input("Start", key="econ.start", min_value=earliest, max_value=as_of, format="YYYY-MM-DD",
                          help=escape(f"Any date from {earliest.isoformat()}, the first observation of the chosen series."))
    end = st.date_input("End", key="econ.end", min_value=earliest, max_value=as_of, format="YYYY-MM-DD",
                        help=escape(f"Up to {as_of.isoformat()}, the latest observation of the chosen series."))
    linked_units = parse_units(st.query_params.get("units", ""))
    units: dict[str, str] = {}
    if chosen:
        with st.expander("Transforms", expanded=any(code != "lin" for code in linked_units.values())):
            for sid in chosen:
                key = f"econ.units.{sid}"
                if key not in st.session_state:
                    st.session_state[key] = linked_units.get(sid, "lin") if linked_units.get(sid, "lin") in SERIES_UNITS else "lin"
                units[sid] = st.selectbox(escape(sid), list(SERIES_UNITS), format_func=SERIES_UNITS.get, key=key, help="As FRED's own graph offers them.")
    query = {"start": start, "end": end, "series_ids": chosen, "units": units_text(units)}
    sync_query(**query)
    with st.popover("Copy link", icon=":material/link:", width="stretch"):
        st.caption("This address opens the lab on these series, dates and transforms.")
        st.code(page_url("econ-lab", {k: v.isoformat() if isinstance(v, date) else ",".join(v) if isinstance(v, list) else v for k, v in query.items()}), language=None)

for note in notes:
    if note:
        st.warning(escape(note))
context = {"start": start, "end": end, "series": chosen}

chart_tab, models = st.tabs(["Chart", "Models"])
with chart_tab:
    if not chosen:
        st.info("Pick one or more FRED series in the sidebar.")
    elif start >= end:
        st.error("The start date must be before the end date.")
    else:
        fetched = lab_series(tuple(chosen), start, end, tuple(sorted(units.items())))
        for sid, message in fetched.errors.items():
            st.error(escape(message if sid in message else f"{sid}: {message}"))
        if fetched.values:
            labels = {sid: _units_label(sid, units.get(sid, "lin")) for sid in fetched.values}
            as_of = max((str(p.get("as_of") or "")[:10] for p in fetched.provenance), default="")
            chart_context = ChartContext(subject=", ".join(fetched.values), as_of=as_of)
            title = chart_title("FRED series", chart_context, f"{start.isoformat()} to {end.isoformat()}")
            figure = context_figure(fetched.values, labels, title, chart_context, shading=recession_spans(start, end))  # NBER recessions shaded
            show_chart(figure, key="econ.chart")
            kinds = set(labels.values())
            if len(kinds) > 2:
                st.caption(f"These series come in {len(kinds)} different units; all but the first series' share the right axis. Pick fewer for a clearer chart.")
            st.caption(escape(data_mode_text(fetched.provenance)))
with models:
    models_tab("econ", context, key="econ.models")
