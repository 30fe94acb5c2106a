"""The builder's use case (issue 12) without Streamlit: add, connect, bind, remove, outputs, inputs,
validation on its nodes and fields, undo and redo, the palette and forms, preview, drafts and saving."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.dsl import InputSchema
from contracts.errors import ConflictError, EditRefused, InputInvalid, PermissionDenied, PreviewLimitExceeded, ValidationFailed
from contracts.inputs import resolve_inputs
from engine.registry import load_all
from engine.validator import validate
from services.authoring import edits as E
from services.authoring import graph
from services.authoring.canvas import canvas
from services.authoring.document import Draft
from services.authoring.forms import bindable_fields, new_field_for, param_specs
from services.authoring.history import History
from services.authoring.palette import all_cards, palette
from services.authoring.preview import PreviewLimiter, preview_document
from services.authoring.session import BuilderSession
from services.facade import Services


def spread_zscore(session: BuilderSession, *, fix: bool = True) -> dict[str, str]:
    """The issue's journey as edits: two fetches, sub, zscore, one output."""
    ids = {
        "dgs10": session.apply(E.add_step, "fetch_series", "dgs10"),
        "dgs3mo": session.apply(E.add_step, "fetch_series", "dgs3mo"),
        "spread": session.apply(E.add_step, "sub", "spread"),
        "z": session.apply(E.add_step, "zscore", "z"),
    }
    session.apply(E.connect, "dgs10", "spread")
    session.apply(E.connect, "dgs3mo", "spread")
    session.apply(E.connect, "spread", "z")
    session.apply(E.add_output, "series", "z")
    session.apply(E.set_param, "z", "window", 1260)
    session.apply(E.set_param, "dgs10", "series_id", "DGS10")
    if fix:
        session.apply(E.set_param, "dgs3mo", "series_id", "DGS3MO")
    return ids


@pytest.fixture
def session() -> BuilderSession:
    return BuilderSession("new", Draft())


# ----------------------------------------------------------------------------- building
def test_building_the_spread_z_score_gives_the_expected_dsl(session: BuilderSession) -> None:
    spread_zscore(session)
    assert session.check().count == 0
    assert session.draft.dsl == {
        "version": "1.0",
        "steps": [
            {"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10"}},
            {"id": "dgs3mo", "operation": "fetch_series", "params": {"series_id": "DGS3MO"}},
            {"id": "spread", "operation": "sub", "params": {}, "inputs": ["dgs10", "dgs3mo"]},
            {"id": "z", "operation": "zscore", "params": {"window": 1260}, "inputs": ["spread"]},
        ],
        "outputs": {"series": [{"id": "z", "source": "z", "label": "z"}], "tables": [], "metrics": []},
    }


def test_a_missing_parameter_is_reported_on_its_node_and_field_until_it_is_set(session: BuilderSession) -> None:
    spread_zscore(session, fix=False)
    checked = session.check()
    assert checked.count == 1
    (problem,) = checked.located
    assert (problem.area, problem.key, problem.field) == ("step", "dgs3mo", "params.series_id")
    assert problem.problem.where == ("steps", 1, "params", "series_id") and "required" in problem.text.lower()
    nodes, _ = canvas(session.draft.dsl, checked.types, list(checked.located))
    assert {n.id: bool(n.errors) for n in nodes} == {"dgs10": False, "dgs3mo": True, "spread": False, "z": False}
    session.apply(E.set_param, "dgs3mo", "series_id", "DGS3MO")
    assert session.check().count == 0


def test_new_steps_get_free_ids_named_after_their_operation(session: BuilderSession) -> None:
    assert [session.apply(E.add_step, "fetch_series") for _ in range(3)] == ["series", "series_2", "series_3"]
    assert session.apply(E.add_step, "zscore") == "zscore"
    with pytest.raises(EditRefused, match="already called 'zscore'"):
        session.apply(E.add_step, "zscore", "zscore")
    with pytest.raises(EditRefused, match="no operation 'rolling_men'"):
        session.apply(E.add_step, "rolling_men")


def test_an_edge_whose_types_do_not_fit_is_refused_with_a_sentence(session: BuilderSession) -> None:
    session.apply(E.add_step, "fetch_options_chain", "chain")
    session.apply(E.add_step, "zscore", "z")
    session.apply(E.add_step, "fetch_series", "s")
    before = session.draft
    with pytest.raises(EditRefused) as refused:
        session.apply(E.connect, "chain", "z")
    assert str(refused.value) == "'z' (zscore) takes a series as its input 'x', but 'chain' gives a frame."
    assert session.draft is before
    session.apply(E.connect, "s", "z")
    with pytest.raises(EditRefused, match="takes at most 1 input"):
        session.apply(E.connect, "chain", "z")
    with pytest.raises(EditRefused, match="loop"):
        session.apply(E.connect, "z", "s")
    with pytest.raises(EditRefused, match="its own output"):
        session.apply(E.connect, "z", "z")


def test_the_inputs_offered_are_upstream_steps_whose_type_fits(session: BuilderSession) -> None:
    spread_zscore(session)
    session.apply(E.add_step, "fetch_options_chain", "chain")
    assert E.input_candidates(session.draft, "z", 0) == ["dgs10", "dgs3mo", "spread"]  # not z itself, not the frame
    assert "z" not in E.input_candidates(session.draft, "spread", 0)  # downstream: a loop
    session.apply(E.set_input, "spread", 1, "dgs10")
    assert graph.find(session.draft.dsl, "spread")[1]["inputs"] == ["dgs10", "dgs10"]
    session.apply(E.set_input, "spread", 1, None)
    assert graph.find(session.draft.dsl, "spread")[1]["inputs"] == ["dgs10"]


def test_binding_a_parameter_to_an_input_needs_the_input_declared(session: BuilderSession) -> None:
    spread_zscore(session)
    with pytest.raises(EditRefused, match="no input 'start'"):
        session.apply(E.bind_param, "dgs10", "start", "start")
    spec = next(s for s in param_specs("fetch_series") if s.name == "start")
    field = new_field_for(spec, taken=set())
    assert field["name"] == "start" and field["type"] == "date"
    session.apply(E.add_field, **{"name": "start", "type_": "date", "default": "today-10y", "label": "Start"})
    assert bindable_fields(session.draft.input_schema, spec) == ["start"]
    assert bindable_fields(session.draft.input_schema, next(s for s in param_specs("zscore") if s.name == "window")) == []
    session.apply(E.bind_param, "dgs10", "start", "start")
    assert E.param_value(graph.find(session.draft.dsl, "dgs10")[1], "start") == ("input", "start")
    assert session.check().count == 0
    session.apply(E.update_field, 0, {"name": "since"})  # a renamed input follows into its bindings
    assert graph.find(session.draft.dsl, "dgs10")[1]["params"]["start"] == "$since"
    session.apply(E.set_param, "dgs10", "series_id", "$literal")  # a literal dollar text is escaped
    assert graph.find(session.draft.dsl, "dgs10")[1]["params"]["series_id"] == "$$literal"
    assert E.param_value(graph.find(session.draft.dsl, "dgs10")[1], "series_id") == ("value", "$literal")


@pytest.mark.parametrize(
    ("choice", "steps", "z_inputs", "outputs"),
    [
        ("disconnect", ["dgs10", "dgs3mo", "z"], None, ["z"]),
        ("reconnect", ["dgs10", "dgs3mo", "z"], ["dgs10"], ["z"]),
        ("delete", ["dgs10", "dgs3mo"], None, []),
    ],
)
def test_removing_a_step_asks_what_happens_to_its_dependents(session: BuilderSession, choice: str, steps: list[str], z_inputs: Any, outputs: list[str]) -> None:
    spread_zscore(session)
    assert graph.dependents(session.draft.dsl, "spread") == ["z"]
    session.apply(E.remove_step, "spread", choice)
    assert graph.step_ids(session.draft.dsl) == steps
    z = graph.find(session.draft.dsl, "z")
    assert (z[1].get("inputs") if z else None) == z_inputs
    assert [o["source"] for o in session.draft.dsl["outputs"]["series"]] == outputs


def test_renaming_a_step_follows_it_into_inputs_and_outputs(session: BuilderSession) -> None:
    spread_zscore(session)
    session.apply(E.rename_step, "z", "spread_z")
    assert graph.find(session.draft.dsl, "spread_z") and session.draft.dsl["outputs"]["series"][0]["source"] == "spread_z"
    with pytest.raises(EditRefused, match="cannot be a step id"):
        session.apply(E.rename_step, "spread_z", "Spread Z")


def test_outputs_are_added_changed_moved_and_removed(session: BuilderSession) -> None:
    spread_zscore(session)
    index = session.apply(E.add_output, "series", "spread")
    session.apply(E.update_output, "series", index, {"label": "10y - 3m (pp)", "axis": "right", "color": "#d62728", "chart": "area"})
    session.apply(E.move_output, "series", index, -1)
    assert [o["id"] for o in session.draft.dsl["outputs"]["series"]] == ["spread", "z"]
    assert session.draft.dsl["outputs"]["series"][0] == {"id": "spread", "source": "spread", "label": "10y - 3m (pp)", "axis": "right", "color": "#d62728", "chart": "area"}
    session.apply(E.update_output, "series", 0, {"axis": None})
    assert "axis" not in session.draft.dsl["outputs"]["series"][0]
    metric = session.apply(E.add_output, "metrics", "z")
    assert any(p.where == ("outputs", "metrics", metric, "source") for p in session.check().problems)  # a series is no metric
    session.apply(E.remove_output, "metrics", metric)
    assert session.check().count == 0


def test_input_fields_are_declared_reordered_and_checked(session: BuilderSession) -> None:
    spread_zscore(session)
    session.apply(E.add_field, "start", "date", default="today-10y", label="Start")
    session.apply(E.add_field, "end", "date", default="today", label="End", after="start")
    session.apply(E.add_field, "window", "integer", default=1260, min=20, max=5000)
    session.apply(E.move_field, 2, -2)
    assert [f["name"] for f in session.draft.input_schema["fields"]] == ["window", "start", "end"]
    with pytest.raises(EditRefused, match="already called"):
        session.apply(E.add_field, "end", "date")
    schema = InputSchema.model_validate(session.draft.input_schema)
    with pytest.raises(InputInvalid) as bad:
        resolve_inputs(schema, {"start": "2024-01-01", "end": "2023-01-01"})
    assert bad.value.fields == {"end": "End (2023-01-01) must be after the start (2024-01-01)."}
    session.apply(E.update_field, 0, {"after": "start"})  # an integer cannot come after a date
    assert [p.where for p in session.check().problems] == [("input_schema", "fields", 0, "after")]
    session.apply(E.remove_field, 0)
    assert session.check().count == 0


def test_undo_and_redo_walk_the_edits_and_a_new_edit_clears_redo(session: BuilderSession) -> None:
    spread_zscore(session)
    final = session.draft
    assert session.undo() and graph.find(session.draft.dsl, "dgs3mo")[1]["params"] == {}
    assert session.undo() and session.undo()
    assert session.redo() and session.redo() and session.redo() and session.draft == final
    assert not session.redo()
    session.undo()
    session.apply(E.set_param, "z", "window", 60)
    assert not session.history.can_redo
    history: History[int] = History(limit=3)
    for state in range(10):
        history.push(state)
    assert [history.undo(0), history.undo(0), history.undo(0), history.undo(0)] == [9, 8, 7, None]


def test_the_json_tab_and_the_canvas_edit_the_same_document(session: BuilderSession) -> None:
    spread_zscore(session)
    text = json.dumps(session.draft.dsl, indent=2)
    doc = json.loads(text.replace('"window": 1260', '"window": 1'))
    session.replace(E.replace_dsl(session.draft, doc))
    (problem,) = session.check().located
    assert (problem.key, problem.field) == ("z", "params.window")
    session.replace(E.replace_dsl(session.draft, {"steps": "nope"}))
    assert session.check().count >= 2
    with pytest.raises(EditRefused, match="JSON tab"):
        session.apply(E.add_step, "zscore")
    assert session.undo() and session.undo() and session.check().count == 0


def test_the_canvas_lays_steps_out_left_to_right_by_depth(session: BuilderSession) -> None:
    spread_zscore(session)
    nodes, edges = canvas(session.draft.dsl, session.check().types, [])
    assert {n.id: (n.column, n.row) for n in nodes} == {"dgs10": (0, 0), "dgs3mo": (0, 1), "spread": (1, 0), "z": (2, 0)}
    assert {n.id: (n.family, n.output) for n in nodes}["spread"] == ("math", "series")
    assert [(e.source, e.target, e.slot) for e in edges] == [("dgs10", "spread", "a"), ("dgs3mo", "spread", "b"), ("spread", "z", "x")]
    cyclic = {"version": "1.0", "steps": [{"id": "a", "operation": "abs", "inputs": ["b"]}, {"id": "b", "operation": "abs", "inputs": ["a"]}]}
    assert set(graph.depths(cyclic)) == {"a", "b"}  # a cycle never loops forever


# ----------------------------------------------------------------------------- palette and forms
def test_the_palette_lists_every_operation_by_family_and_searches_help_text() -> None:
    names = {c.name for cards in palette().values() for c in cards}
    assert names == set(load_all())
    assert list(palette())[:3] == ["fetch", "math", "stats"]
    found = palette("standard deviations")
    assert "zscore" in {c.name for c in found.get("stats", [])}
    card = next(c for c in all_cards() if c.name == "sub")
    assert card.signature == "scalar|series, scalar|series? → same as input" and card.summary.startswith("Subtract")


def test_every_parameter_of_every_operation_gets_a_widget_kind() -> None:
    specs = {op: param_specs(op) for op in load_all()}
    kinds = [s.kind for group in specs.values() for s in group]
    assert set(kinds) <= {"integer", "number", "boolean", "enum", "date", "string", "list", "json"}
    assert kinds.count("json") <= 3, [(op, s.name) for op, g in specs.items() for s in g if s.kind == "json"]
    window = next(s for s in param_specs("zscore") if s.name == "window")
    assert (window.kind, window.minimum, window.nullable, window.required) == ("integer", 2, True, False)
    units = next(s for s in param_specs("fetch_series") if s.name == "units")
    assert units.kind == "enum" and "pc1" in units.options and units.nullable
    series_id = next(s for s in param_specs("fetch_series") if s.name == "series_id")
    assert series_id.required and series_id.kind == "string"
    columns = next(s for s in param_specs("select") if s.name == "columns")
    assert columns.kind == "list" and columns.coerce("a, b") == ["a", "b"] and columns.as_text(["a", "b"]) == "a, b"
    assert next(s for s in param_specs("fetch_series") if s.name == "start").kind == "date"


# ----------------------------------------------------------------------------- preview
class SpyRunner:
    """Records the jobs it is given and runs them inline over the sample."""

    name = "spy"

    def __init__(self, inner: Any):
        self.inner = inner
        self.jobs: list[Any] = []

    def run(self, job: Any) -> dict[str, Any]:
        self.jobs.append(job)
        return self.inner.run(job)

    def close(self) -> None:
        return None


def test_preview_runs_the_draft_up_to_the_step_through_the_runner_unrecorded(svc: Services) -> None:
    user = svc.auth.guest()
    spy = SpyRunner(svc.builder.preview._runner)
    svc.builder.preview._runner = spy
    session = BuilderSession("new", Draft())
    spread_zscore(session)
    session.apply(E.add_step, "summary", "stats")
    session.apply(E.connect, "z", "stats")
    runs_before = svc.store.runs.runs_today(user)
    shown = svc.builder.preview.preview(user, session.draft, "z")
    assert shown.kind == "series" and shown.data == "sample" and shown.step_ms is not None and shown.runtime_ms > 0
    (series,) = shown.outputs["series"]
    assert len(series["x"]) == len(series["y"]) > 1000 and series["x"][-1] >= "2026-08-01"
    assert [s["id"] for s in spy.jobs[0].dsl["steps"]] == ["dgs10", "dgs3mo", "spread", "z"]  # not 'stats', downstream
    record = svc.builder.preview.preview(user, session.draft, "stats")
    assert record.kind == "record" and {r["metric"] for r in record.outputs["tables"][0]["rows"]} >= {"latest", "mean"}
    assert svc.store.runs.runs_today(user) == runs_before and svc.runs.remaining_today(user) == user.daily_limit


def test_preview_refuses_a_step_whose_upstream_is_invalid_but_not_for_errors_elsewhere(svc: Services) -> None:
    user = svc.auth.guest()
    session = BuilderSession("new", Draft())
    spread_zscore(session, fix=False)
    with pytest.raises(ValidationFailed) as failed:
        svc.builder.preview.preview(user, session.draft, "z")
    assert [p.where for p in failed.value.problems] == [("steps", 1, "params", "series_id")]
    assert svc.builder.preview.preview(user, session.draft, "dgs10").kind == "series"


def test_preview_has_its_own_per_user_limit_and_one_at_a_time() -> None:
    now = [0.0]
    limiter = PreviewLimiter(per_minute=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.acquire("ana")
        limiter.release("ana")
    with pytest.raises(PreviewLimitExceeded, match="at most 3 times a minute; try again in 60 s"):
        limiter.acquire("ana")
    limiter.acquire("bob")
    with pytest.raises(PreviewLimitExceeded, match="still running"):
        limiter.acquire("bob")
    now[0] = 61.0
    limiter.acquire("ana")


def test_the_preview_document_keeps_only_what_the_step_needs() -> None:
    doc = {"version": "1.0", "steps": [{"id": "a", "operation": "fetch_series", "params": {"series_id": "X"}},
                                        {"id": "b", "operation": "fetch_series", "params": {"series_id": "Y"}},
                                        {"id": "c", "operation": "abs", "inputs": ["a"]}]}
    assert preview_document(doc, "c", "series") == {"version": "1.0", "steps": [doc["steps"][0], doc["steps"][2]],
                                                    "outputs": {"series": [{"id": "preview", "source": "c", "label": "c"}]}}


# ----------------------------------------------------------------------------- drafts and saving
def test_a_draft_autosaves_on_change_and_comes_back_in_a_new_session(svc: Services) -> None:
    user = svc.auth.guest()
    session = svc.builder.open(user)
    assert not session.resumed and not svc.builder.autosave(user, session)  # nothing to keep yet
    spread_zscore(session, fix=False)
    assert svc.builder.autosave(user, session) and not svc.builder.autosave(user, session)
    again = svc.builder.open(user)  # a reload: a new browser session, the same user
    assert again.resumed and again.draft == session.draft and again.check().count == 1
    assert [d.key for d in svc.builder.drafts(user)] == ["new"]
    assert svc.builder.open(svc.auth.guest()).draft == Draft()  # another user's drafts are not yours


def test_saving_a_new_model_makes_it_private_with_the_changelog(svc: Services) -> None:
    user, other = svc.auth.guest(), svc.auth.guest()
    session = svc.builder.open(user)
    spread_zscore(session, fix=False)
    with pytest.raises(ValidationFailed):
        svc.builder.save(user, session, "First cut")
    session.apply(E.set_param, "dgs3mo", "series_id", "DGS3MO")
    session.apply(E.set_meta, name="10y minus 3m spread, 5-year z-score", slug="spread-10y-3m-z", tags=["Rates", "z-score"])
    with pytest.raises(InputInvalid, match="one line"):
        svc.builder.save(user, session, "  ")
    svc.builder.autosave(user, session)
    saved = svc.builder.save(user, session, "Spread of 10y over 3m and its 5-year z-score")
    assert saved.created and saved.slug == "spread-10y-3m-z" and saved.version == 1
    model = svc.registry.get_model("spread-10y-3m-z", user)
    assert model.visibility == "private" and model.latest.changelog == "Spread of 10y over 3m and its 5-year z-score"
    assert model.latest.dsl == session.draft.dsl and model.tags == ("rates", "z-score")
    assert svc.builder.drafts(user) == []  # the draft is gone once saved
    with pytest.raises(Exception, match="No model"):
        svc.registry.get_model("spread-10y-3m-z", other)
    outcome = svc.runs.run_model(user, "spread-10y-3m-z")
    assert outcome.result.outputs["series"][0]["id"] == "z"


def test_a_taken_slug_is_refused_with_a_free_suggestion(svc: Services) -> None:
    user = svc.auth.guest()
    check = svc.builder.check_slug("spread-10y-2y")
    assert not check.ok and check.suggestion == "spread-10y-2y-2" and "taken" in check.message
    assert svc.builder.check_slug("a-free-one").ok
    assert svc.builder.check_slug("Not A Slug").suggestion == "not-a-slug"
    session = svc.builder.open(user)
    spread_zscore(session)
    session.apply(E.set_meta, name="Spread", slug="spread-10y-2y")
    with pytest.raises(ConflictError, match="Try 'spread-10y-2y-2'"):
        svc.builder.save(user, session, "x")


def test_editing_your_own_model_makes_a_new_version_and_others_are_refused(svc: Services) -> None:
    user, other = svc.auth.guest(), svc.auth.guest()
    fork = svc.models.fork(user, "spread-10y-2y")
    with pytest.raises(PermissionDenied, match="Fork and edit"):
        svc.builder.open(other, slug="spread-10y-2y")
    session = svc.builder.open(user, slug=fork.slug)
    assert session.key == f"model:{fork.slug}" and session.draft.base == fork.slug
    session.apply(E.rename_step, "latest", "stats")
    saved = svc.builder.save(user, session, "Rename the summary step")
    assert (saved.slug, saved.version, saved.created) == (fork.slug, 2, False)
    versions = svc.registry.list_versions(fork.slug, user)
    assert [v.version for v in versions] == [2, 1] and versions[0].changelog == "Rename the summary step"


def test_start_from_a_model_copies_it_into_a_new_draft(svc: Services) -> None:
    user = svc.auth.guest()
    session = svc.builder.open(user, start_from="spread-10y-2y")
    assert session.key == "from:spread-10y-2y" and session.draft.base is None and session.draft.origin == "spread-10y-2y"
    assert session.draft.meta["slug"] == "10y-minus-2y-spread-my-version" and session.check().count == 0
    saved = svc.builder.save(user, session, "Started from the template")
    assert saved.created and svc.registry.get_model(saved.slug, user).visibility == "private"


def test_every_problem_is_found_by_the_same_validator_the_engine_uses(session: BuilderSession) -> None:
    spread_zscore(session, fix=False)
    assert list(session.check().problems) == validate(session.draft.dsl, session.draft.input_schema)
