"""The output mapper: which steps are shown as chart series, tables or headline metrics, with their
labels, chart type, x and y columns (from the step's known columns), axis, colour and number format;
and a preview of the chart from a run of the whole draft."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.builder.state import act, act_at, say, show_notice, wkey
from components.builder.step_editor import render_preview
from components.charts import CHART_KINDS, PALETTE
from components.text import escape
from contracts.errors import AusterError, ValidationFailed
from services.authoring import edits as E
from services.authoring import graph
from services.authoring.session import BuilderSession, Checked

KIND_LABELS = {"series": "Chart series", "tables": "Table", "metrics": "Metric"}
FITS = {"series": ("series", "frame"), "tables": ("series", "frame", "record", "scalar"), "metrics": ("scalar", "record")}
FORMATS = [None, ".2f", ".1f", ".0f", ".1%", ".2%", ",.0f", "+.2f"]


def _change(session: BuilderSession, kind: str, index: int, name: str, key: str, empty_is_none: bool = True) -> None:
    value = st.session_state[key]
    if isinstance(value, str):
        value = value.strip()
    if empty_is_none and value in ("", [], None):
        value = None
    act_at(f"output.{kind}.{index}", session, E.update_output, kind, index, {name: value})


def _add(session: BuilderSession, key: str) -> None:
    kind, source = st.session_state[f"{key}.outputs.new.kind"], st.session_state[f"{key}.outputs.new.source"]
    if source:
        act_at(f"{key}.outputs.new", session, E.add_output, kind, source)
    else:
        say(session, "Choose the step to show.", f"{key}.outputs.new")


def outputs_editor(svc: Any, user: Any, session: BuilderSession, checked: Checked, key: str = "builder", instead_of_preview: str | None = None) -> None:
    """The outputs, each with its errors, and a form to add one; ``key`` namespaces the form and the chart preview.

    ``instead_of_preview``: a sentence shown instead of the chart preview (a run of the whole draft), saying where to see the outputs.
    """
    st.caption("What a run shows: steps as chart series, tables or headline metrics.")
    doc = session.draft.dsl if isinstance(session.draft.dsl, dict) else {}
    outputs = doc.get("outputs") if isinstance(doc.get("outputs"), dict) else {}
    located = [item for item in checked.located if item.area == "output"]
    ids = graph.step_ids(doc)
    for kind in E.OUTPUT_KINDS:
        items = outputs.get(kind) if isinstance(outputs.get(kind), list) else []
        for index, item in enumerate(items):
            if isinstance(item, dict):
                errors = [e for e in located if e.key == (kind, index)]
                _output(session, checked, kind, index, item, len(items), ids, errors, key)
    for item in [e for e in checked.located if e.area == "document" and e.field.startswith("outputs")]:
        st.error(escape(item.text))
    with st.form(f"{key}.outputs.new", border=True):
        st.markdown("**Show a step**")
        left, right = st.columns(2)
        left.selectbox("As", list(KIND_LABELS), format_func=KIND_LABELS.get, key=f"{key}.outputs.new.kind")
        right.selectbox("Step", ids, index=None, placeholder="choose a step", key=f"{key}.outputs.new.source",
                        format_func=lambda s: f"{s} ({checked.types.get(s, '?')})")
        st.form_submit_button("Add output", on_click=_add, args=(session, key))
        show_notice(session, f"{key}.outputs.new")
    if instead_of_preview is not None:
        st.caption(escape(instead_of_preview))
        return
    if st.button("Preview the chart", key=f"{key}.outputs.preview.run", icon=":material/monitoring:", disabled=checked.count > 0,
                 help="Runs the whole draft on sample data (not recorded)." if not checked.count else "Fix the errors first."):
        try:
            with st.spinner("Running the draft…"):
                st.session_state[f"{key}.outputs.preview"] = (session.key, session.revision, svc.builder.preview.preview_outputs(user, session.draft))
        except ValidationFailed as exc:
            st.error(f"Fix {len(exc.problems)} error(s) first.")
        except AusterError as exc:
            st.error(escape(exc))
    kept = st.session_state.get(f"{key}.outputs.preview")
    if kept and kept[0] == session.key:
        if kept[1] != session.revision:
            st.caption("The draft changed since this preview; preview again to update it.")
        render_preview(kept[2], key=f"{key}.outputs.chart")


def _output(session: BuilderSession, checked: Checked, kind: str, index: int, item: dict[str, Any], count: int, ids: list[str], errors: list[Any],
            prefix: str) -> None:
    def key(name: str) -> str:
        return wkey(session, "output", kind, index, name)

    source = item.get("source")
    title = f"{KIND_LABELS[kind]} · {item.get('label') or item.get('id')} ← {source}" + (f" · {len(errors)} error(s)" if errors else "")
    with st.expander(escape(title), expanded=bool(errors), key=f"{prefix}.outputs.{kind}.{index}"):  # keyed: stays open as its title changes
        left, right = st.columns(2)
        fitting = [s for s in ids if checked.types.get(s) in FITS[kind] or s == source]
        left.selectbox("Step", fitting, index=fitting.index(source) if source in fitting else None, key=key("source"),
                       format_func=lambda s: f"{s} ({checked.types.get(s, '?')})", on_change=_change, args=(session, kind, index, "source", key("source")))
        with left:  # the step shown is what most errors are about: they go under it
            for error in [e for e in errors if e.field.split(".")[0] == "source"]:
                st.error(escape(error.text))
        right.text_input("Label", value=str(item.get("label") or ""), key=key("label"), on_change=_change,
                         args=(session, kind, index, "label", key("label"), kind == "tables"), help="{name} shows a run input's value.")
        columns = E.columns_of(session.draft, source) if isinstance(source, str) else None
        if kind == "series":
            chart = item.get("chart", "line")
            left.selectbox("Chart", CHART_KINDS, index=CHART_KINDS.index(chart) if chart in CHART_KINDS else 0, key=key("chart"),
                           on_change=_change, args=(session, kind, index, "chart", key("chart")))
            axis = item.get("axis", "left")
            right.radio("Axis", ["left", "right"], index=1 if axis == "right" else 0, horizontal=True, key=key("axis"),
                        on_change=_change, args=(session, kind, index, "axis", key("axis")))
            colours = [None, *PALETTE] + ([item["color"]] if item.get("color") and item["color"] not in PALETTE else [])
            left.selectbox("Colour", colours, index=colours.index(item.get("color")) if item.get("color") in colours else 0, key=key("color"),
                           format_func=lambda c: "automatic" if c is None else c, on_change=_change, args=(session, kind, index, "color", key("color")))
            if checked.types.get(source) == "frame":
                if columns:
                    right.selectbox("x column", [None, *columns], index=([None, *columns].index(item.get("x")) if item.get("x") in columns else 0),
                                    format_func=lambda c: "the index (dates)" if c is None else c, key=key("x"), on_change=_change, args=(session, kind, index, "x", key("x")))
                    chosen = item.get("y") if isinstance(item.get("y"), list) else ([item["y"]] if item.get("y") else [])
                    st.multiselect("y columns", columns, default=[c for c in chosen if c in columns], key=key("y"), placeholder="every numeric column",
                                   on_change=_change, args=(session, kind, index, "y", key("y")))
                else:
                    right.text_input("x column", value=str(item.get("x") or ""), key=key("x"), on_change=_change, args=(session, kind, index, "x", key("x")))
        elif kind == "tables":
            allowed = columns or (["metric", "value"] if checked.types.get(source) in ("record", "scalar") else ["date", "value"] if checked.types.get(source) == "series" else None)
            if allowed:
                st.multiselect("Columns", allowed, default=[c for c in item.get("columns") or [] if c in allowed], key=key("columns"),
                               placeholder="every column", on_change=_change, args=(session, kind, index, "columns", key("columns")))
        else:
            left.text_input("Field (of a record)", value=str(item.get("field") or ""), key=key("field"), on_change=_change,
                            args=(session, kind, index, "field", key("field")), help="For a record such as a summary: latest, mean, ...")
            current = item.get("format")
            formats = FORMATS + ([current] if current not in FORMATS else [])
            right.selectbox("Number format", formats, index=formats.index(current), format_func=lambda f: "as it comes" if f is None else f"{f} → {format(1234.5678, f)}",
                            key=key("format"), on_change=_change, args=(session, kind, index, "format", key("format")))
        for error in [e for e in errors if e.field.split(".")[0] != "source"]:
            st.error(f"{escape(error.field)}: {escape(error.text)}" if error.field else escape(error.text))
        show_notice(session, f"output.{kind}.{index}", then=" Not taken: the output keeps what it had.")
        up, down, remove = st.columns(3)
        up.button("Move up", key=key("up"), on_click=act, args=(session, E.move_output, kind, index, -1), disabled=index == 0, icon=":material/arrow_upward:")
        down.button("Move down", key=key("down"), on_click=act, args=(session, E.move_output, kind, index, 1), disabled=index == count - 1, icon=":material/arrow_downward:")
        remove.button("Remove", key=key("remove"), on_click=act, args=(session, E.remove_output, kind, index), icon=":material/delete:")
