"""The input schema editor: the run form's fields (name, type, label, required, default with relative
dates, choices, help, bounds, "after" for dates), in order, each with its errors."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components.builder.state import act, act_at, show_notice, wkey
from components.text import escape
from services.authoring import edits as E
from services.authoring.session import BuilderSession, Checked

NUMERIC = ("number", "integer")
NOT_TAKEN = " Not taken: the model keeps the value it had."


def _change(session: BuilderSession, index: int, name: str, key: str, kind: str = "text") -> None:
    raw = st.session_state[key]
    if kind == "list":
        value: Any = [part.strip() for part in str(raw).split(",") if part.strip()] or None
    elif kind == "text":
        value = str(raw).strip() or None
    elif kind == "number":
        value = raw
    elif kind == "bool":
        value = bool(raw) or None
    elif kind == "default_number":
        value = raw
    else:
        value = raw
    if name == "name":
        value = value or ""
    act_at(f"input.{index}.{name}", session, E.update_field, index, {name: value})


def _add(session: BuilderSession, key: str) -> None:
    name, kind = st.session_state[f"{key}.inputs.new.name"].strip(), st.session_state[f"{key}.inputs.new.type"]
    before = session.revision
    act_at(f"{key}.inputs.new", session, E.add_field, name, kind, label=name.replace("_", " ").capitalize() if name else None)
    if session.revision != before:  # added: the form is ready for the next one (a refused name stays, with its sentence)
        st.session_state[f"{key}.inputs.new.name"] = ""


def inputs_editor(session: BuilderSession, checked: Checked, key: str = "builder",
                  caption: str = "What a user fills in to run the model. Bind a step's parameter to an input in the step editor.") -> None:
    """The inputs, each with its errors and any refused change on it; ``key`` namespaces the add form (the code editor's is "editor")."""
    st.caption(escape(caption))
    schema = session.draft.input_schema if isinstance(session.draft.input_schema, dict) else {}
    fields = schema.get("fields") if isinstance(schema.get("fields"), list) else []
    located = [item for item in checked.located if item.area == "input"]
    for index, field in enumerate(fields):
        if not isinstance(field, dict):
            continue
        name, kind = str(field.get("name", "")), field.get("type", "string")
        errors = [item for item in located if item.key == index]
        # Keyed by place, so an input whose label changes (an error fixed, a new name) stays open as the user left it.
        with st.expander(escape(f"{name or '(no name)'} · {kind}" + (f" · {len(errors)} error(s)" if errors else "")), expanded=bool(errors),
                         key=f"{key}.inputs.field.{index}"):
            shown = _field(session, index, field, fields, errors)
            for item in [e for e in errors if e.field.split(".")[0] not in shown]:
                st.error(f"{escape(item.field)}: {escape(item.text)}" if item.field else escape(item.text))
            up, down, remove = st.columns(3)
            up.button("Move up", key=wkey(session, "field", index, "up"), on_click=act, args=(session, E.move_field, index, -1), disabled=index == 0, icon=":material/arrow_upward:")
            down.button("Move down", key=wkey(session, "field", index, "down"), on_click=act, args=(session, E.move_field, index, 1),
                        disabled=index == len(fields) - 1, icon=":material/arrow_downward:")
            remove.button("Remove", key=wkey(session, "field", index, "remove"), on_click=act, args=(session, E.remove_field, index), icon=":material/delete:")
    with st.form(f"{key}.inputs.new", border=True):
        st.markdown("**Add an input**")
        left, right = st.columns(2)
        left.text_input("Name", key=f"{key}.inputs.new.name", placeholder="start", max_chars=40)
        right.selectbox("Type", E.FIELD_TYPES, index=E.FIELD_TYPES.index("date"), key=f"{key}.inputs.new.type")
        st.form_submit_button("Add input", on_click=_add, args=(session, key))
        show_notice(session, f"{key}.inputs.new")


def _field(session: BuilderSession, index: int, field: dict[str, Any], fields: list[Any], errors: list[Any]) -> set[str]:
    """One input's settings as widgets, each with its errors and a refused change under it; returns the settings shown."""
    kind = field.get("type", "string")
    shown: set[str] = set()

    def key(name: str) -> str:
        return wkey(session, "field", index, name)

    def said(column: Any, name: str) -> None:
        with column:
            for item in errors:
                if item.field.split(".")[0] == name:
                    st.error(escape(item.text))
            show_notice(session, f"input.{index}.{name}", then=NOT_TAKEN)
        shown.add(name)

    left, right = st.columns(2)
    left.text_input("Name", value=str(field.get("name", "")), key=key("name"), on_change=_change, args=(session, index, "name", key("name")))
    said(left, "name")
    right.selectbox("Type", E.FIELD_TYPES, index=E.FIELD_TYPES.index(kind) if kind in E.FIELD_TYPES else 0, key=key("type"),
                    on_change=_change, args=(session, index, "type", key("type"), "raw"))
    said(right, "type")
    left.text_input("Label", value=str(field.get("label") or ""), key=key("label"), on_change=_change, args=(session, index, "label", key("label")))
    said(left, "label")
    right.checkbox("Required", value=bool(field.get("required")), key=key("required"), on_change=_change, args=(session, index, "required", key("required"), "bool"))
    said(right, "required")
    default = field.get("default")
    if kind in NUMERIC and (default is None or isinstance(default, int | float)):
        left.number_input("Default", value=default, step=1 if kind == "integer" else None, key=key("default"), placeholder="none",
                          on_change=_change, args=(session, index, "default", key("default"), "number"))
    elif kind == "boolean":
        left.selectbox("Default", [None, True, False], index=[None, True, False].index(default) if default in (None, True, False) else 0,
                       format_func=lambda v: "none" if v is None else str(v).lower(), key=key("default"), on_change=_change,
                       args=(session, index, "default", key("default"), "raw"))
    elif kind == "enum":
        options = field.get("options") or []
        left.selectbox("Default", [None, *options], index=([None, *options].index(default) if default in options else 0),
                       format_func=lambda v: "none" if v is None else str(v), key=key("default"), on_change=_change, args=(session, index, "default", key("default"), "raw"))
    else:
        helptext = "YYYY-MM-DD, or relative: today, today-5y, today-6m, today-2w, today-30d" if kind == "date" else None
        left.text_input("Default", value="" if default is None else str(default), key=key("default"), help=escape(helptext) if helptext else None,
                        placeholder="today-5y" if kind == "date" else "none", on_change=_change, args=(session, index, "default", key("default")))
    said(left, "default")
    if kind == "enum":
        right.text_input("Choices (comma-separated)", value=", ".join(str(o) for o in field.get("options") or []), key=key("options"),
                         on_change=_change, args=(session, index, "options", key("options"), "list"))
        said(right, "options")
    if kind in NUMERIC:
        right.number_input("At least", value=field.get("min"), key=key("min"), placeholder="no minimum", on_change=_change, args=(session, index, "min", key("min"), "number"))
        said(right, "min")
        right.number_input("At most", value=field.get("max"), key=key("max"), placeholder="no maximum", on_change=_change, args=(session, index, "max", key("max"), "number"))
        said(right, "max")
    if kind == "date":
        others = [f.get("name") for f in fields if isinstance(f, dict) and f.get("type") == "date" and f.get("name") != field.get("name")]
        current = field.get("after")
        options = [None, *others] + ([current] if current and current not in others else [])
        right.selectbox("Must be after", options, index=options.index(current) if current in options else 0, key=key("after"),
                        format_func=lambda v: "no constraint" if v is None else f"after {v}", help="The form refuses a date on or before this one (e.g. end after start).",
                        on_change=_change, args=(session, index, "after", key("after"), "raw"))
        said(right, "after")
    st.text_input("Help", value=str(field.get("help") or ""), key=key("help"), on_change=_change, args=(session, index, "help", key("help")))
    said(st.container(), "help")
    return shown
