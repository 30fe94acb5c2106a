"""The code editor page (issue 15): template or own model, the editor, the DSL around the code, test run, save.

The editor is streamlit-code-editor (react-ace; its built front end ships in the wheel, served by the app).
What it returns lands in ``st.session_state["editor.code"]``, the one place the page reads the code from.
The DSL around the code (fetch steps, input schema, outputs) is one builder session, edited with the
builder's own components and kept in step with its JSON view (``components.code_session``); the test run
and the save take that session's draft, so what runs and what is saved is what the forms show.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from components.code_editor_forms import UNREADABLE, inputs_panel, json_panel, outputs_panel, status_line
from components.code_fetch_steps import fetch_steps_panel
from components.code_session import forget as forget_session
from components.code_session import synced_session
from components.results_panel import results_panel
from components.session import current_user, get_services, require_user
from components.text import escape
from contracts.errors import AusterError, InputInvalid, ValidationFailed
from services.authoring.session import BuilderSession

CODE_KEY = "editor.code"
LANG = {"python": "python", "js": "javascript"}
RUNTIME_LABEL = {"python": "Python", "js": "JavaScript"}


def _editor(runtime: str) -> None:
    """The code editor; its latest text (sent on Ctrl+Enter, on blur, or after a pause) goes to ``CODE_KEY``."""
    from code_editor import code_editor

    answer = code_editor(
        st.session_state[CODE_KEY], lang=LANG[runtime], height=[16, 32], response_mode=["blur", "debounce"],
        options={"showLineNumbers": True, "tabSize": 4 if runtime == "python" else 2, "wrap": False,
                 "enableLiveAutocompletion": False, "enableBasicAutocompletion": False, "enableSnippets": False},
        key=f"editor.ace.{st.session_state.get('editor.generation', 0)}",
    )
    text = (answer or {}).get("text") if isinstance(answer, dict) else None
    if text and answer.get("type") and text != st.session_state[CODE_KEY]:
        st.session_state[CODE_KEY] = text


def _start(draft: Any) -> None:
    st.session_state["editor.draft"] = draft
    st.session_state[CODE_KEY] = draft.code
    st.session_state["editor.dsl"] = json.dumps(draft.dsl, indent=2)
    st.session_state["editor.schema"] = json.dumps(draft.input_schema, indent=2)
    st.session_state["editor.deps"] = list(draft.dependencies)
    st.session_state["editor.generation"] = st.session_state.get("editor.generation", 0) + 1
    st.session_state.pop("editor.trial", None)
    st.session_state.pop("editor.changelog", None)
    forget_session()


def _current(session: BuilderSession | None) -> Any:
    """The draft as edited now (code, dependencies, and the DSL and input schema the forms show), or a per-field sentence."""
    from dataclasses import replace

    from services.code_editor import parse_json

    draft = st.session_state["editor.draft"]
    if session is None:  # the JSON view does not hold two objects: say which and why
        dsl, schema = parse_json(st.session_state["editor.dsl"], "dsl"), parse_json(st.session_state["editor.schema"], "input_schema")
    else:
        dsl, schema = session.draft.dsl, session.draft.input_schema
    return replace(draft, code=st.session_state[CODE_KEY], dependencies=tuple(st.session_state.get("editor.deps") or ()), dsl=dsl, input_schema=schema)


def _trial_panel(trial: Any) -> None:
    if trial.error:
        st.error(escape(trial.error))
        if trial.detail:
            st.code(trial.detail, language="text")
    else:
        results_panel(trial.result.to_json(), key="editor.result", filename="test-run")
    limits = trial.limits
    used = f" · used {trial.runtime_ms:,.0f} ms, peak {trial.peak_memory_mb or 0:,.0f} MB ({trial.start} start)" if trial.runtime_ms else ""
    st.caption(escape(f"Limits: {limits['max_runtime_ms'] / 1000:g} s, {limits['max_memory_mb']} MB memory, {limits['max_output_kb']} KB of output{used}."))
    cut = " (cut: only the first part is shown)" if trial.logs_truncated else ""
    st.text_area(escape("Standard output" + cut), trial.stdout, disabled=True, height=120, key="editor.stdout")
    st.text_area(escape("Standard error" + cut), trial.stderr, disabled=True, height=120, key="editor.stderr")


def editor_page() -> None:
    st.title("Code editor")
    svc = get_services()
    user = current_user()
    slug = st.query_params.get("slug", "").strip()
    if "editor.draft" not in st.session_state or st.session_state.get("editor.for") != (slug or None):
        if slug:
            try:
                _start(svc.editor.load(user, slug))
            except AusterError as exc:
                st.error(escape(exc))
                st.stop()
        else:
            _start(svc.editor.from_template("python"))
        st.session_state["editor.for"] = slug or None
    draft = st.session_state["editor.draft"]

    if not draft.slug:
        choice = st.segmented_control("Start from a template", ["python", "js"], format_func=RUNTIME_LABEL.get, default=draft.runtime, key="editor.template")
        if choice and choice != draft.runtime:
            _start(svc.editor.from_template(choice))
            st.rerun()
        st.caption("A new code model starts private; an admin reviews its code before anyone else can see or run it.")
    else:
        st.caption(escape(f"Editing {draft.slug} ({RUNTIME_LABEL[draft.runtime]}). Saving adds a version that waits for review; the last approved one stays live."))

    session = synced_session()  # before any form or the JSON view is drawn: both show this run's draft
    checked = session.check() if session is not None else None
    with st.container():  # one block above the tabs whatever it holds, so the open tab stays open when an error comes or goes
        status_line(session, checked)
    code_tab, steps_tab, inputs_tab, outputs_tab, json_tab = st.tabs(["Code", "Fetch steps", "Input schema", "Outputs", "JSON (advanced)"])
    with code_tab:
        _editor(draft.runtime)
        if draft.runtime == "python":
            from services.code import approved_packages

            st.multiselect("Dependencies (approved packages)", approved_packages(), key="editor.deps")
        st.caption("run(inputs) receives each input step's value under its step id and the run's inputs under 'args'. No network, no files.")
    with steps_tab:
        if session is None:
            st.caption(escape(UNREADABLE))
        else:
            fetch_steps_panel(svc, user, session)
    with inputs_tab:
        inputs_panel(session, checked)
    with outputs_tab:
        outputs_panel(svc, user, session, checked)
    with json_tab:
        json_panel()

    if st.button("Test run on sample data", key="editor.test", icon=":material/science:") and require_user("test-run code") is not None:
        try:
            with st.spinner("Running in the sandbox..."):
                st.session_state["editor.trial"] = svc.editor.trial(current_user(), _current(session))
        except InputInvalid as exc:
            st.error(escape(" ".join(exc.fields.values())))
        except AusterError as exc:
            st.error(escape(exc))
    if st.session_state.get("editor.trial") is not None:
        _trial_panel(st.session_state["editor.trial"])

    st.divider()
    with st.form("editor.save"):
        if draft.slug:
            changelog = st.text_input("What changed in this version?", key="editor.changelog")
            label = "Save as a new version and submit for review"
        else:
            name = st.text_input("Model name", key="editor.name")
            new_slug = st.text_input("Address (slug)", key="editor.slug", placeholder="my-spread")
            changelog = st.text_input("Changelog", value="First version", key="editor.first_changelog")
            label = "Save and submit for review"
        saved = st.form_submit_button(escape(label), type="primary", icon=":material/save:")
    if saved and require_user("save a model") is not None:
        try:
            if checked is not None and checked.count:  # the store would refuse it with every problem in one sentence
                raise ValidationFailed(list(checked.problems))
            current = _current(session)
            if draft.slug:
                version = svc.editor.save_version(current_user(), current, changelog)
                st.success(escape(f"Saved version {version.version}; it waits for an admin's review."))
                target = draft.slug
            else:
                model = svc.editor.save_new(current_user(), current, new_slug.strip(), name.strip(), changelog=changelog)
                st.success(f"Saved {escape(model.name)}; it waits for an admin's review. Only you can see and run it until then.")
                target = model.slug
        except InputInvalid as exc:
            st.error(escape(" ".join(exc.fields.values())))
        except ValidationFailed as exc:
            count = len(exc.problems)
            st.error(escape(f"Not saved: the model has {count} error{'s' if count != 1 else ''}; each is shown on its field in the tabs above."))
        except AusterError as exc:
            st.error(escape(exc))
        else:
            st.page_link("views/model.py", label="Open the model page", icon=":material/insights:", query_params={"slug": target})
