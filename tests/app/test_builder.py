"""The builder page (issue 12) in AppTest: every action a user takes, over a fresh sqlite file and the sample data.

The canvas itself is a browser component (tests/e2e/test_builder_journey.py drives it in Chromium); here
every one of its actions is taken through the keyboard-accessible Steps list and the editors."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from components.builder import page as builder_page_module
from tests.app.conftest import APP
from tests.app.test_pages import texts, unescape

BUILDER = "views/builder.py"


def no_failure(at: AppTest) -> None:
    """No exception (validation errors are the builder's content, so error boxes are expected here)."""
    assert not at.exception, [e.value for e in at.exception]


def widget(at: AppTest, kind: str, prefix: str) -> Any:
    """The first widget of ``kind`` whose key starts with ``prefix`` (editor keys end with the draft's revision)."""
    found = [w for w in getattr(at, kind) if str(getattr(w, "key", "") or "").startswith(prefix)]
    assert found, f"no {kind} with a key starting {prefix!r}: {[getattr(w, 'key', None) for w in getattr(at, kind)]}"
    return found[0]


def session(at: AppTest) -> Any:
    (value,) = at.session_state["builder.sessions"].values()
    return value


def builder(open_page, **query: str) -> AppTest:
    at = open_page(BUILDER, **query)
    at.button(key="builder.guest").click().run()
    no_failure(at)
    return at


def add(at: AppTest, operation: str) -> AppTest:
    at.button(key=f"builder.add.{operation}").click().run()
    return at


def connect(at: AppTest, source: str, target: str) -> AppTest:
    at.selectbox(key="builder.list.connect.from").set_value(source)
    at.selectbox(key="builder.list.connect.to").set_value(target)
    next(b for b in at.button if b.label == "Connect").click().run()
    return at


def spread_z(at: AppTest) -> AppTest:
    for op in ("fetch_series", "fetch_series", "sub", "zscore"):
        add(at, op)
    connect(at, "series", "sub")
    connect(at, "series_2", "sub")
    connect(at, "sub", "zscore")
    return at


def select(at: AppTest, step_id: str) -> AppTest:
    at.selectbox(key="builder.list.select").set_value(step_id).run()
    return at


def set_text(at: AppTest, prefix: str, value: str) -> AppTest:
    widget(at, "text_input", prefix).input(value).run()
    return at


def test_an_anonymous_visitor_is_asked_to_start_as_a_guest(open_page) -> None:
    at = open_page(BUILDER)
    assert "Sign in or continue as a guest to build a model" in texts(at)
    at.button(key="builder.guest").click().run()
    no_failure(at)
    assert at.session_state["auster.user"].is_guest and "A new model" in texts(at)


def test_adding_from_the_palette_places_a_step_with_its_defaults_and_selects_it(open_page) -> None:
    at = builder(open_page)
    add(at, "zscore")
    assert session(at).draft.dsl["steps"] == [{"id": "zscore", "operation": "zscore", "params": {}}]
    assert [s.value for s in at.subheader if s.value.startswith("Step")] == ["Step zscore"]
    assert widget(at, "number_input", "builder.param.zscore.window.").value is None  # the default: the whole series
    assert "2 errors" in texts(at) and any("takes exactly 1 input" in e.value for e in at.error)  # and no output yet


def test_connecting_in_the_list_and_a_refused_edge_says_why(open_page) -> None:
    at = builder(open_page)
    add(at, "fetch_options_chain")
    add(at, "zscore")
    connect(at, "options_chain", "zscore")
    assert "'zscore' (zscore) takes a series as its input 'x', but 'options_chain' gives a frame." in [unescape(w.value) for w in at.warning]
    assert "inputs" not in session(at).draft.dsl["steps"][1]
    add(at, "fetch_series")
    connect(at, "series", "zscore")
    assert session(at).draft.dsl["steps"][1]["inputs"] == ["series"]


def test_a_missing_parameter_shows_on_its_field_and_counts_until_fixed(open_page) -> None:
    at = builder(open_page)
    spread_z(at)
    select(at, "series_2")
    errors = [e.value for e in at.error]
    assert any("Field required" in e for e in errors), errors
    assert "3 errors" in texts(at)  # two series ids and the missing output
    assert at.button(key="builder.save").disabled
    set_text(at, "builder.param.series_2.series_id.r", "DGS3MO")
    select(at, "series")
    set_text(at, "builder.param.series.series_id.r", "DGS10")
    assert "1 error:" in texts(at)
    at.selectbox(key="builder.outputs.new.source").set_value("zscore")
    next(b for b in at.button if b.label == "Add output").click().run()
    no_failure(at)
    assert "No errors: ready to save." in texts(at) and not at.button(key="builder.save").disabled


def test_binding_a_parameter_to_a_new_input_declares_it(open_page) -> None:
    at = builder(open_page)
    add(at, "fetch_series")
    widget(at, "selectbox", "builder.param.series.start.source").set_value("new").run()
    no_failure(at)
    draft = session(at).draft
    assert draft.dsl["steps"][0]["params"]["start"] == "$start"
    assert draft.input_schema["fields"][0]["name"] == "start" and draft.input_schema["fields"][0]["type"] == "date"
    assert widget(at, "text_input", "builder.param.series.start.bound").value == "$start"


def test_deleting_a_step_asks_what_happens_to_the_steps_that_use_it(open_page) -> None:
    at = builder(open_page)
    spread_z(at)
    at.selectbox(key="builder.list.delete.step").set_value("sub")
    at.radio(key="builder.list.delete.choice").set_value("delete")
    next(b for b in at.button if b.label == "Delete step").click().run()
    no_failure(at)
    assert [s["id"] for s in session(at).draft.dsl["steps"]] == ["series", "series_2"]


def test_undo_and_redo(open_page) -> None:
    at = builder(open_page)
    add(at, "zscore")
    add(at, "abs")
    at.button(key="builder.undo").click().run()
    assert [s["id"] for s in session(at).draft.dsl["steps"]] == ["zscore"]
    at.button(key="builder.redo").click().run()
    assert [s["id"] for s in session(at).draft.dsl["steps"]] == ["zscore", "abs"]
    assert at.button(key="builder.redo").disabled


def test_the_json_tab_edits_the_same_document_with_the_same_validation(open_page) -> None:
    at = builder(open_page)
    add(at, "zscore")
    doc = session(at).draft.dsl | {"steps": [{"id": "z", "operation": "rolling_men", "params": {}}]}
    widget(at, "text_area", "builder.json.dsl").input(json.dumps(doc))
    next(b for b in at.button if b.label == "Apply").click().run()
    no_failure(at)
    assert session(at).draft.dsl["steps"][0]["operation"] == "rolling_men"
    assert "did you mean 'rolling_mean'?" in texts(at).replace("\\", "")
    widget(at, "text_area", "builder.json.dsl").input("{not json")
    next(b for b in at.button if b.label == "Apply").click().run()
    assert any("not valid JSON" in e.value for e in at.error) and session(at).draft.dsl["steps"][0]["id"] == "z"


def test_inputs_are_added_and_edited_in_the_inputs_tab(open_page) -> None:
    at = builder(open_page)
    at.text_input(key="builder.inputs.new.name").input("start")
    at.selectbox(key="builder.inputs.new.type").set_value("date")
    next(b for b in at.button if b.label == "Add input").click().run()
    set_text(at, "builder.field.0.default.", "today-5y")
    assert session(at).draft.input_schema == {"fields": [{"name": "start", "type": "date", "label": "Start", "default": "today-5y"}]}
    set_text(at, "builder.field.0.default.", "soon")
    assert any("'soon' is not a date" in unescape(w.value) for w in at.warning)


def test_preview_shows_the_steps_value_with_its_timing_and_no_run_is_recorded(open_page, svc) -> None:
    at = builder(open_page)
    add(at, "fetch_series")
    set_text(at, "builder.param.series.series_id.r", "DGS10")
    at.button(key="builder.preview.run.series").click().run()
    no_failure(at)
    assert any("Not recorded as a run" in unescape(c.value) for c in at.caption)
    assert len(at.get("plotly_chart")) >= 1
    assert svc.runs.list_runs(at.session_state["auster.user"]) == []


def test_saving_asks_for_a_changelog_and_makes_a_private_model(open_page, svc) -> None:
    at = builder(open_page)
    spread_z(at)
    for step, series_id in (("series", "DGS10"), ("series_2", "DGS3MO")):
        select(at, step)
        set_text(at, f"builder.param.{step}.series_id.r", series_id)
    at.selectbox(key="builder.outputs.new.source").set_value("zscore")
    next(b for b in at.button if b.label == "Add output").click().run()
    at.button(key="builder.save").click().run()
    at.text_input(key="builder.save.name").input("Spread z").run()
    at.text_input(key="builder.save.slug").input("yield-curve-10y-2y").run()  # taken: a template
    assert any("is taken" in e.value for e in at.error)
    at.button(key="builder.save.suggestion").click().run()
    at.text_input(key="builder.save.changelog").input("First version")
    at.button(key="builder.save.confirm").click().run()
    no_failure(at)
    assert "Created your model" in texts(at)
    user = at.session_state["auster.user"]
    model = svc.registry.get_model("yield-curve-10y-2y-2", user)
    assert model.visibility == "private" and model.latest.changelog == "First version"
    at.button(key="builder.saved.publish").click().run()
    assert svc.registry.get_model("yield-curve-10y-2y-2", None).visibility == "public"


def test_a_draft_comes_back_in_a_new_browser_session_of_the_same_user(open_page, svc) -> None:
    at = builder(open_page)
    add(at, "zscore")
    user = at.session_state["auster.user"]
    again = AppTest.from_file(str(APP), default_timeout=60)
    again.session_state["auster.user"] = user  # signed in again after a reload
    again.run()
    again.switch_page(BUILDER).run()
    no_failure(again)
    assert "Your autosaved draft is back" in texts(again)
    assert session(again).draft.dsl["steps"][0]["id"] == "zscore"
    again.button(key="builder.discard").click().run()
    assert session(again).draft.dsl["steps"] == []


def test_an_edit_is_kept_first_thing_in_the_next_run_not_only_at_the_pages_end(open_page, svc, monkeypatch) -> None:
    """A run cut short by the next click (or a browser that reconnects as a new session under load) must not lose
    the edit a field's callback made before it: the draft is kept before the page draws anything."""
    at = builder(open_page)
    add(at, "fetch_series")
    monkeypatch.setattr(builder_page_module, "_autosave", lambda *args: None)  # the page's end is never reached
    set_text(at, "builder.param.series.series_id.r", "DGS10")
    no_failure(at)
    user = at.session_state["auster.user"]
    [kept] = [d for d in svc.builder.drafts(user) if d.key == session(at).key]
    assert kept.document["dsl"]["steps"][0]["params"]["series_id"] == "DGS10"


def test_editing_someone_elses_model_offers_fork_and_edit(open_page, svc) -> None:
    at = builder(open_page, slug="yield-curve-10y-2y")
    assert any("Only its author can edit" in e.value for e in at.error)
    at.button(key="builder.fork").click().run()
    no_failure(at)
    slug = at.query_params["slug"][0] if isinstance(at.query_params["slug"], list) else at.query_params["slug"]
    assert slug.startswith("yield-curve-10y-2y-")
    assert "Editing your model" in texts(at)


def test_the_ways_into_the_builder(open_page, svc) -> None:
    registry = open_page("views/registry.py")
    assert any(link.label == "New model" for link in registry.get("page_link"))
    model = open_page("views/model.py", slug="yield-curve-10y-2y")
    labels = [b.label for b in model.button] + [link.label for link in model.get("page_link")]
    assert "Fork and edit" in labels and "Start from this model" in labels
    lab = open_page("views/econ_lab.py")
    assert any(link.label == "Start from this model" for link in lab.get("page_link"))
    start = builder(open_page, **{"from": "yield-curve-10y-2y"})
    assert "starting from" in texts(start) and session(start).draft.origin == "yield-curve-10y-2y"
