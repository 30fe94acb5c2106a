"""The code editor page (issue 15), through AppTest: start from a template in either language, test-run on
the sample data (output, logs, limits), save as a new private model waiting for review, then a new version
with a changelog."""

from __future__ import annotations

import uuid

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP
from tests.app.test_pages import no_failure, texts, unescape


def signed_in(svc) -> tuple[AppTest, object]:
    ana = svc.auth.sign_up(f"ana{uuid.uuid4().hex[:6]}@example.com", "a long passphrase", display_name="Ana")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["auster.user"] = ana
    at.run()
    return at, ana


def test_a_user_starts_from_the_js_template_test_runs_it_and_saves_it_for_review(svc):
    from sandbox import unavailable_reason
    from tests.conftest import missing_service

    reason = unavailable_reason("js")
    if reason:
        missing_service(f"the JavaScript sandbox cannot run here: {reason}")
    at, ana = signed_in(svc)
    at.switch_page("views/editor.py").run()
    no_failure(at)
    assert "function run(inputs)" not in at.session_state["editor.code"]  # Python first
    at.session_state["editor.template"] = "js"
    at.run()
    assert "function run(inputs)" in at.session_state["editor.code"]
    at.session_state["editor.code"] = at.session_state["editor.code"].replace("function run(inputs) {", "function run(inputs) {\n  console.log('hello from js');")
    at.button(key="editor.test").click().run()
    no_failure(at)
    assert at.text_area(key="editor.stdout").value.startswith("hello from js")
    assert "Limits: 30 s, 512 MB memory" in unescape(texts(at))
    assert any("10y - 2y" in c.proto.spec for c in at.get("plotly_chart"))
    slug = f"js-spread-{uuid.uuid4().hex[:6]}"
    at.text_input(key="editor.name").input("JS spread")
    at.text_input(key="editor.slug").input(slug)
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    no_failure(at)
    model = svc.registry.get_model(slug, ana)
    assert (model.latest.runtime, model.latest.review_status, model.visibility) == ("js", "pending", "private")
    assert "hello from js" in model.latest.code_bundle


def test_a_broken_draft_is_a_sentence_not_a_traceback(svc):
    at, _ = signed_in(svc)
    at.switch_page("views/editor.py").run()
    at.session_state["editor.dsl"] = "{not json"
    at.button(key="editor.test").click().run()
    assert not at.exception
    assert "This is not valid JSON (line 1" in at.error[0].value


def test_saving_a_new_version_needs_a_changelog_and_goes_to_review(svc):
    at, ana = signed_in(svc)
    at.switch_page("views/editor.py").run()
    slug = f"py-{uuid.uuid4().hex[:6]}"
    at.text_input(key="editor.name").input("Py spread")
    at.text_input(key="editor.slug").input(slug)
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    no_failure(at)
    at.query_params["slug"] = slug
    at.run()
    at.session_state["editor.code"] = at.session_state["editor.code"] + "\n# tidier\n"
    at.button(key="FormSubmitter:editor.save-Save as a new version and submit for review").click().run()
    assert "Say what changed in this version." in at.error[0].value
    at.text_input(key="editor.changelog").input("A comment")
    at.button(key="FormSubmitter:editor.save-Save as a new version and submit for review").click().run()
    no_failure(at)
    versions = svc.registry.list_versions(slug, ana)
    assert [(v.version, v.review_status, v.changelog) for v in versions][:1] == [(2, "pending", "A comment")]


def _dsl(at: AppTest) -> dict:
    import json

    return json.loads(at.session_state["editor.dsl"])


def _step(at: AppTest, step_id: str) -> dict | None:
    return next((s for s in _dsl(at)["steps"] if s["id"] == step_id), None)


def _param_widget(at: AppTest, step_id: str, name: str):
    """The step editor's widget for a parameter (its key carries the draft's revision)."""
    return next(w for w in at.text_input if w.key and w.key.startswith(f"builder.param.{step_id}.{name}.r"))


def test_the_fetch_steps_are_added_edited_and_removed_with_the_builders_palette(svc):
    from services.authoring.palette import family_of

    at, _ = signed_in(svc)
    at.switch_page("views/editor.py").run()
    no_failure(at)
    offered = [b.key.removeprefix("editor.add.") for b in at.button if b.key and b.key.startswith("editor.add.")]
    assert "fetch_series" in offered and {family_of(op) for op in offered} == {"fetch"}  # data-fetch operations only
    assert at.selectbox(key="editor.fetch.select").options == ["dgs10", "dgs2"]  # the template's fetch steps

    at.button(key="editor.add.fetch_series").click().run()
    assert not at.exception and [unescape(e.value) for e in at.error] == [  # counted above the tabs, said on the new step's field
        "1 error to fix before saving, each shown on its field (Fetch steps: 1).",
        "Field required (FRED series id, e.g. DGS10, UNRATE, CPIAUCSL (or a comma-separated list with 'item'))"]
    added = at.selectbox(key="editor.fetch.select").value
    assert added not in ("dgs10", "dgs2") and _step(at, added)["operation"] == "fetch_series"
    assert added in _step(at, "spread")["inputs"]  # it feeds the code step, so run(inputs) gets it under its id

    _param_widget(at, added, "series_id").input("DGS5").run()
    no_failure(at)
    assert _step(at, added)["params"]["series_id"] == "DGS5"  # edited with the step editor, written into the JSON

    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith(f"builder.delete.{added}.r"))).click().run()
    no_failure(at)
    assert _step(at, added) is None and added not in _step(at, "spread")["inputs"]
    assert at.selectbox(key="editor.fetch.select").options == ["dgs10", "dgs2"]


def test_the_dsl_typed_as_json_is_what_the_step_editor_shows_and_what_is_saved(svc):
    at, ana = signed_in(svc)
    at.switch_page("views/editor.py").run()
    at.session_state["editor.dsl"] = at.session_state["editor.dsl"].replace('"DGS2"', '"DGS1"')  # the advanced JSON view
    at.run()
    at.selectbox(key="editor.fetch.select").select("dgs2").run()
    no_failure(at)
    assert _param_widget(at, "dgs2", "series_id").value == "DGS1"
    _param_widget(at, "dgs2", "series_id").input("DGS3").run()
    slug = f"py-{uuid.uuid4().hex[:6]}"
    at.text_input(key="editor.name").input("Py 10y-3y")
    at.text_input(key="editor.slug").input(slug)
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    no_failure(at)
    saved = svc.registry.get_model(slug, ana).latest.dsl
    assert next(s for s in saved["steps"] if s["id"] == "dgs2")["params"]["series_id"] == "DGS3"


def test_json_that_does_not_parse_keeps_the_step_editor_aside_with_a_sentence(svc):
    at, _ = signed_in(svc)
    at.switch_page("views/editor.py").run()
    at.session_state["editor.dsl"] = "{not json"
    at.run()
    assert not at.exception
    assert any("not a valid JSON object" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key and b.key.startswith("editor.add.")]


def _widget(at: AppTest, kind: str, prefix: str):
    """The builder component's widget whose key starts with ``prefix`` (its key ends with the draft's revision)."""
    found = [w for w in getattr(at, kind) if w.key and w.key.startswith(prefix)]
    assert found, f"no {kind} whose key starts with {prefix!r}"
    return found[0]


def _schema(at: AppTest) -> dict:
    import json

    return json.loads(at.session_state["editor.schema"])


def test_inputs_and_outputs_edited_with_the_builders_forms_are_saved_and_come_back_with_the_version(svc):
    at, ana = signed_in(svc)
    at.switch_page("views/editor.py").run()
    no_failure(at)

    at.text_input(key="editor.inputs.new.name").input("window")  # the builder's inputs editor, under editor.*
    at.selectbox(key="editor.inputs.new.type").set_value("integer")
    at.button(key="FormSubmitter:editor.inputs.new-Add input").click().run()
    no_failure(at)
    assert at.text_input(key="editor.inputs.new.name").value == ""  # added: the form is ready for the next one
    _widget(at, "number_input", "builder.field.2.default.r").set_value(20).run()
    _widget(at, "text_input", "builder.field.2.label.r").input("Window (days)").run()
    _widget(at, "text_input", "builder.field.0.label.r").input("First day").run()  # a template input's label
    no_failure(at)
    assert _schema(at)["fields"][2] == {"name": "window", "type": "integer", "label": "Window (days)", "default": 20}  # the JSON view follows

    at.selectbox(key="editor.outputs.new.kind").set_value("tables")  # the builder's output mapper
    at.selectbox(key="editor.outputs.new.source").set_value("spread")
    at.button(key="FormSubmitter:editor.outputs.new-Add output").click().run()
    _widget(at, "text_input", "builder.output.tables.1.label.r").input("Spread by day").run()
    no_failure(at)
    assert _dsl(at)["outputs"]["tables"][1] == {"id": "spread", "source": "spread", "label": "Spread by day"}

    slug = f"py-{uuid.uuid4().hex[:6]}"
    at.text_input(key="editor.name").input("Py spread with a window")
    at.text_input(key="editor.slug").input(slug)
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    no_failure(at)
    saved = svc.registry.get_model(slug, ana).latest
    assert saved.input_schema["fields"][0]["label"] == "First day"
    assert saved.input_schema["fields"][2] == {"name": "window", "type": "integer", "label": "Window (days)", "default": 20}
    assert saved.dsl["outputs"]["tables"][1]["label"] == "Spread by day"

    at.query_params["slug"] = slug  # open the saved version in the editor again
    at.run()
    no_failure(at)
    assert _widget(at, "text_input", "builder.field.2.label.r").value == "Window (days)"
    assert _widget(at, "number_input", "builder.field.2.default.r").value == 20
    assert _widget(at, "text_input", "builder.output.tables.1.label.r").value == "Spread by day"
    _widget(at, "number_input", "builder.field.2.default.r").set_value(60).run()
    at.text_input(key="editor.changelog").input("A longer window by default")
    at.button(key="FormSubmitter:editor.save-Save as a new version and submit for review").click().run()
    no_failure(at)
    versions = svc.registry.list_versions(slug, ana)
    assert (versions[0].version, versions[0].review_status, versions[0].changelog) == (2, "pending", "A longer window by default")
    assert versions[0].input_schema["fields"][2]["default"] == 60


def test_a_bad_value_gets_a_sentence_on_its_field_and_is_not_what_is_saved(svc):
    at, ana = signed_in(svc)
    at.switch_page("views/editor.py").run()
    _widget(at, "text_input", "builder.field.0.default.r").input("soon").run()
    assert not at.exception
    assert [unescape(w.value) for w in at.warning] == [
        "'soon' is not a date: use YYYY-MM-DD, or today, today-5y, today-6m, today-2w, today-30d. Not taken: the model keeps the value it had."]
    assert _schema(at)["fields"][0]["default"] == "today-30y"

    at.text_input(key="editor.inputs.new.name").input("Start Date")
    at.button(key="FormSubmitter:editor.inputs.new-Add input").click().run()
    assert any("'Start Date' cannot be an input name" in unescape(w.value) for w in at.warning)
    assert at.text_input(key="editor.inputs.new.name").value == "Start Date"  # refused: kept to be corrected
    assert any("'soon' is not a date" in unescape(w.value) for w in at.warning)  # each refused change stays said on its field
    assert [f["name"] for f in _schema(at)["fields"]] == ["start", "end"]

    # The JSON view (advanced) reaches the forms: an enum input without choices is an error under its Choices.
    schema = _schema(at)
    schema["fields"].append({"name": "side", "type": "enum", "label": "Side"})
    import json

    at.session_state["editor.schema"] = json.dumps(schema)
    at.run()
    assert not at.exception
    assert _widget(at, "text_input", "builder.field.2.label.r").value == "Side"
    errors = [unescape(e.value) for e in at.error]
    assert errors == ["1 error to fix before saving, each shown on its field (Input schema: 1).", "enum input 'side' needs a list of options"]

    slug = f"py-{uuid.uuid4().hex[:6]}"
    at.text_input(key="editor.name").input("Py spread")
    at.text_input(key="editor.slug").input(slug)
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    assert "Not saved: the model has 1 error; each is shown on its field in the tabs above." in [unescape(e.value) for e in at.error]
    assert not [m for m in svc.registry.list_models(ana, only_mine=True) if m.slug == slug]

    _widget(at, "text_input", "builder.field.2.options.r").input("buy, sell").run()
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    no_failure(at)
    assert svc.registry.get_model(slug, ana).latest.input_schema["fields"][2] == {"name": "side", "type": "enum", "label": "Side", "options": ["buy", "sell"]}


def test_an_output_that_cannot_show_its_step_says_so_under_the_step_and_is_counted_above_the_tabs(svc):
    at, _ = signed_in(svc)
    at.switch_page("views/editor.py").run()
    at.selectbox(key="editor.outputs.new.kind").set_value("metrics")
    at.selectbox(key="editor.outputs.new.source").set_value("dgs10")
    at.button(key="FormSubmitter:editor.outputs.new-Add output").click().run()
    assert not at.exception
    assert [unescape(e.value) for e in at.error] == [
        "1 error to fix before saving, each shown on its field (Outputs: 1).",
        "a metric needs a scalar or a record, but 'dgs10' is a series (reduce it first, e.g. with 'summary' or 'last')"]
    _widget(at, "selectbox", "builder.output.metrics.1.source.r").set_value("stats").run()
    assert "field: 'stats' is a record; name the field to show" in [unescape(e.value) for e in at.error]
    _widget(at, "text_input", "builder.output.metrics.1.field.r").input("mean").run()
    no_failure(at)
    assert _dsl(at)["outputs"]["metrics"][1] | {"label": None} == {"id": "dgs10", "source": "stats", "field": "mean", "label": None}
