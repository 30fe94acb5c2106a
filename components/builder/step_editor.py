"""The step editor: the selected step's id, inputs (only upstream steps whose type fits), parameters as
widgets generated from the params JSON schema (each may instead be bound to a run input), its errors on
their fields, a preview of its value, and deleting it (asking what happens to the steps that use it)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from components.builder.state import act, say, wkey
from components.charts import series_figure
from components.plotly_view import show_chart
from components.text import escape
from contracts.errors import AusterError, ValidationFailed
from services.authoring import edits as E
from services.authoring import graph
from services.authoring.forms import ParamSpec, bindable_fields, new_field_for, param_specs
from services.authoring.palette import family_of
from services.authoring.problems import on_field, on_step
from services.authoring.session import BuilderSession, Checked

NONE = "—"
PREVIEW = "builder.preview"


def _errors(located: list[Any]) -> None:
    for item in located:
        st.error(escape(item.text), icon=":material/error:")


# ----------------------------------------------------------------------------- callbacks
def _rename(session: BuilderSession, step_id: str, key: str) -> None:
    new = st.session_state[key].strip()
    if new and new != step_id:
        act(session, E.rename_step, step_id, new)
        if graph.find(session.draft.dsl, new):
            session.select(new)


def _set_input(session: BuilderSession, step_id: str, position: int, key: str) -> None:
    value = st.session_state[key]
    act(session, E.set_input, step_id, position, None if value == NONE else value)


def _set_value(session: BuilderSession, step_id: str, spec: ParamSpec, key: str) -> None:
    raw = st.session_state[key]
    try:
        value = spec.coerce(raw)
    except (TypeError, ValueError) as exc:
        say(session, f"{spec.title}: {exc}")
        return
    if value is None or (spec.kind == "string" and value == ""):
        act(session, E.unset_param, step_id, spec.name)
    else:
        act(session, E.set_param, step_id, spec.name, value)


def _set_source(session: BuilderSession, step_id: str, spec: ParamSpec, key: str) -> None:
    choice = st.session_state[key]
    if choice == "value":
        act(session, E.unset_param, step_id, spec.name)
    elif choice == "new":
        schema = session.draft.input_schema if isinstance(session.draft.input_schema, dict) else {}
        taken = {f.get("name") for f in schema.get("fields") or [] if isinstance(f, dict)}
        field = new_field_for(spec, taken)
        name, kind = field.pop("name"), field.pop("type")
        before = session.revision
        act(session, E.add_field, name, kind, **field)
        if session.revision != before:
            act(session, E.bind_param, step_id, spec.name, name)
    else:
        act(session, E.bind_param, step_id, spec.name, choice.removeprefix("input:"))


def _unset(session: BuilderSession, step_id: str, name: str) -> None:
    act(session, E.unset_param, step_id, name)


def _delete(session: BuilderSession, step_id: str, key: str | None) -> None:
    choice = st.session_state[key] if key else "disconnect"
    act(session, E.remove_step, step_id, choice)


# ----------------------------------------------------------------------------- widgets
def _value_widget(session: BuilderSession, step_id: str, spec: ParamSpec, current: Any, is_set: bool, key: str) -> None:
    shown = current if is_set else spec.default
    label = spec.title
    common = {"key": key, "help": spec.description or None, "on_change": _set_value, "args": (session, step_id, spec, key)}
    kind = spec.kind
    if kind in ("integer", "number") and (shown is None or (isinstance(shown, (int, float)) and not isinstance(shown, bool))):
        low, high = spec.minimum, spec.maximum
        if shown is not None and ((low is not None and shown < low) or (high is not None and shown > high)):
            low = high = None  # a value typed in the JSON tab outside the bounds: show it, the validator says what is wrong
        if kind == "integer":
            st.number_input(escape(label) + (" *" if spec.required else ""), value=None if shown is None else int(shown), min_value=None if low is None else int(low),
                            max_value=None if high is None else int(high), step=1, placeholder="not set", **common)
        else:
            st.number_input(escape(label) + (" *" if spec.required else ""), value=None if shown is None else float(shown), min_value=low, max_value=high, format="%g", placeholder="not set", **common)
    elif kind == "boolean" and isinstance(shown, bool | None):
        st.toggle(escape(label) + (" *" if spec.required else ""), value=bool(shown), **common)
    elif kind == "enum" and (shown is None or shown in spec.options):
        options = [None, *spec.options] if (spec.nullable or not spec.required or shown is None) else list(spec.options)
        default = f"default ({spec.default})" if spec.default is not None else ("choose…" if spec.required else "not set")
        st.selectbox(escape(label) + (" *" if spec.required else ""), options, index=options.index(shown) if shown in options else 0,
                     format_func=lambda o, d=default: d if o is None else str(o), **common)
    elif kind == "date" and (shown is None or _is_iso(shown)):
        st.date_input(escape(label) + (" *" if spec.required else ""), value=date.fromisoformat(shown) if shown else None, min_value=date(1900, 1, 1), max_value=date(2100, 12, 31),
                      format="YYYY-MM-DD", **common)
    else:
        placeholder = f"default: {spec.as_text(spec.default)}" if spec.default is not None else ("required" if spec.required else "not set")
        hint = {"list": " (comma-separated)", "json": " (JSON)"}.get(kind, "")
        st.text_input(escape(label) + (" *" if spec.required else "") + escape(hint), value=spec.as_text(current) if is_set else "", placeholder=placeholder, **common)


def _is_iso(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
        return True
    except ValueError:
        return False


def _param(session: BuilderSession, step: dict[str, Any], spec: ParamSpec, located: list[Any]) -> None:
    step_id = step["id"]
    mode, current = E.param_value(step, spec.name)
    bindable = bindable_fields(session.draft.input_schema, spec)
    sources = ["value", *[f"input:{n}" for n in bindable], "new"]
    labels = {"value": "a value", "new": "a new input", **{f"input:{n}": f"input ${n}" for n in bindable}}
    chosen = "value" if mode != "input" else f"input:{current}"
    if chosen not in sources:
        sources.insert(1, chosen)
        labels[chosen] = f"input ${current} (not declared)"
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with right:
        key = wkey(session, "param", step_id, spec.name, "source")
        st.selectbox(escape(f"{spec.title} from"), sources, index=sources.index(chosen), format_func=labels.get, key=key,
                     on_change=_set_source, args=(session, step_id, spec, key), label_visibility="collapsed",
                     help="Give a value here, or take it from a run input (the form users fill in).")
    with left:
        if mode == "input":
            st.text_input(escape(spec.title), value=f"${current}", disabled=True, key=wkey(session, "param", step_id, spec.name, "bound"),
                          help=escape(f"Bound to the run input '{current}': each run uses the value given in the form."))
        else:
            _value_widget(session, step_id, spec, current, mode == "value", wkey(session, "param", step_id, spec.name))
    if mode == "value" and not spec.required:
        st.button("Reset to default", key=wkey(session, "param", step_id, spec.name, "reset"), on_click=_unset, args=(session, step_id, spec.name),
                  type="tertiary", icon=":material/undo:")
    _errors(on_field(located, step_id, f"params.{spec.name}"))


def step_editor(svc: Any, user: Any, session: BuilderSession, checked: Checked) -> None:
    """The editor of the selected step (or how to select one)."""
    step_id = session.selected
    found = graph.find(session.draft.dsl, step_id) if step_id else None
    if found is None:
        st.info("Select a step on the canvas (click it) or in the Steps list to edit it here.", icon=":material/touch_app:")
        return
    _, step = found
    operation = step.get("operation") if isinstance(step.get("operation"), str) else ""
    located = list(checked.located)
    st.subheader(f"Step {escape(step_id)}")
    st.caption(f"{escape(operation)} · {escape(family_of(operation) or 'unknown operation')} → {escape(checked.types.get(step_id, 'type unknown'))}")
    key = wkey(session, "step", step_id, "id")
    st.text_input("Step id", value=step_id, key=key, on_change=_rename, args=(session, step_id, key), max_chars=40,
                  help="Lowercase letters, digits and _; other steps and outputs follow a new id.")
    elsewhere = [i for i in on_step(located, step_id) if not i.field.startswith(("params.", "inputs."))]
    _errors(elsewhere)

    slots = E.input_slots(session.draft, step_id)
    if slots:
        st.markdown("**Inputs**")
    for position, name, kinds, current in slots:
        options = [NONE, *E.input_candidates(session.draft, step_id, position)]
        if current is not None and current not in options:
            options.append(current)
        key = wkey(session, "input", step_id, position)
        st.selectbox(escape(f"{name} ({kinds})"), options, index=options.index(current) if current in options else 0, key=key,
                     on_change=_set_input, args=(session, step_id, position, key), help="Only steps upstream of this one whose output fits are offered.")
        _errors(on_field(located, step_id, f"inputs.{position}"))

    specs = param_specs(operation)
    if specs:
        st.markdown("**Parameters**")
    for spec in specs:
        _param(session, step, spec, located)
    params = step.get("params") if isinstance(step.get("params"), dict) else {}
    for extra in [n for n in params if n not in {s.name for s in specs}]:
        st.text_input(escape(f"{extra} (not a parameter of {operation})"), value=json.dumps(params[extra]), disabled=True, key=wkey(session, "extra", step_id, extra))
        st.button(escape(f"Remove {extra}"), key=wkey(session, "extra", step_id, extra, "remove"), on_click=_unset, args=(session, step_id, extra))
        _errors(on_field(located, step_id, f"params.{extra}"))

    preview_panel(svc, user, session, step_id)
    _delete_control(session, step_id)


def _delete_control(session: BuilderSession, step_id: str) -> None:
    users = graph.dependents(session.draft.dsl, step_id)
    with st.popover("Delete this step", icon=":material/delete:"):
        key = None
        if users:
            st.markdown(f"{len(users)} step(s) use it: " + escape(", ".join(users)) + ". What should happen to them?")
            key = wkey(session, "delete", step_id, "choice")
            st.radio("Steps that use it", list(E.DEPENDENT_CHOICES), format_func=E.DEPENDENT_CHOICES.get, key=key)
        else:
            st.markdown("No step uses it; outputs showing it go with it.")
        st.button("Delete", key=wkey(session, "delete", step_id), type="primary", on_click=_delete, args=(session, step_id, key))


# ----------------------------------------------------------------------------- preview
def preview_panel(svc: Any, user: Any, session: BuilderSession, step_id: str) -> None:
    """Run the draft up to this step and show its value with its timing (not recorded, own rate limit)."""
    st.markdown("**Preview**")
    live = False
    left, right = st.columns([2, 3], vertical_alignment="center")
    if svc.builder.preview.live_available:
        live = right.toggle("Live data", key="builder.preview.live", help="Off: the bundled sample. On: the configured live providers.")
    else:
        right.caption("On the bundled sample data.")
    if left.button("Preview this step", key=f"builder.preview.run.{step_id}", icon=":material/play_arrow:"):
        try:
            with st.spinner(f"Running the draft up to '{step_id}'…"):
                shown = svc.builder.preview.preview(user, session.draft, step_id, live=live)
            st.session_state[PREVIEW] = (session.key, step_id, session.revision, shown)
        except ValidationFailed as exc:
            st.session_state.pop(PREVIEW, None)
            st.error(f"Fix {len(exc.problems)} error(s) in this step or above it first." if exc.problems else "This step's type is not known yet; connect its inputs.")
        except AusterError as exc:
            st.session_state.pop(PREVIEW, None)
            st.error(escape(exc))
    kept = st.session_state.get(PREVIEW)
    if not kept or kept[0] != session.key or kept[1] != step_id:
        return
    _, _, revision, shown = kept
    if revision != session.revision:
        st.caption("The draft changed since this preview; preview again to update it.")
    render_preview(shown, key=f"builder.preview.{step_id}")


def render_preview(shown: Any, key: str) -> None:
    """A preview's value: a chart of a series, the head of a table, a record's fields, a number; with its timing."""
    outputs = shown.outputs
    if outputs.get("series"):
        show_chart(series_figure(outputs["series"]), key=key)
    for table in outputs.get("tables") or []:
        rows = table.get("rows") or []
        st.dataframe(pd.DataFrame(rows[:20], columns=table.get("columns")), hide_index=True, width="stretch")
        if len(rows) > 20:
            st.caption(f"The first 20 of {len(rows):,} rows.")
    for metric in outputs.get("metrics") or []:
        st.metric(escape(metric.get("label") or metric.get("id")), metric.get("text") or metric.get("value"))
    step = f"'{shown.step_id}' took {shown.step_ms:,.1f} ms; " if shown.step_ms is not None else ""
    st.caption(escape(f"{step}the preview ran in {shown.runtime_ms:,.0f} ms on {shown.data} data. Not recorded as a run; it does not use your daily runs."))
    for warning in shown.warnings:
        st.warning(escape(warning))
