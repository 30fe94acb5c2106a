"""Round trip (issue 12): a model loaded into the builder and saved unchanged is the identical DSL, for
every seed and for generated valid documents, through the JSON tab, the draft store and a new version."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.validator import validate
from services.authoring import edits as E
from services.authoring.document import Draft
from services.facade import Services
from services.seeds import SEEDS_DIR

SEEDS = sorted(Path(SEEDS_DIR).glob("*.json"))


def text(value: Any) -> str:
    """The exact serialisation (key order included) that the sqlite store writes."""
    return json.dumps(value)


def save_unchanged(svc: Services, user: Any, dsl: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create a model of ``dsl``, load it into the builder, go through the JSON tab and the draft store, save it."""
    slug = f"rt-{uuid.uuid4().hex[:10]}"
    svc.models.create(user, {"slug": slug, "name": "Round trip", "description": "", "lab_scope": "both", "difficulty": "basic",
                             "dsl": dsl, "input_schema": schema})
    session = svc.builder.open(user, slug=slug)
    typed = json.loads(json.dumps(session.draft.dsl, indent=2))  # the JSON tab shows it and reads it back
    session.replace(E.replace_dsl(session.draft, typed))
    session.apply(E.rename_step, typed["steps"][0]["id"], typed["steps"][0]["id"])  # an edit that changes nothing
    svc.builder.autosave(user, session)
    reopened = svc.builder.open(user, slug=slug)  # as after a reload
    saved = svc.builder.save(user, reopened, "Saved unchanged")
    latest = svc.registry.get_model(slug, user).latest
    assert latest.version == saved.version == 2
    return latest.dsl, latest.input_schema


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_every_seed_saves_back_identical(svc: Services, path: Path) -> None:
    seed = json.loads(path.read_text())
    user = svc.auth.guest()
    dsl, schema = save_unchanged(svc, user, seed["dsl"], seed["input_schema"])
    assert text(dsl) == text(seed["dsl"]) and text(schema) == text(seed["input_schema"])


def test_the_seeds_are_all_there() -> None:
    assert len(SEEDS) >= 25


# ----------------------------------------------------------------------------- generated documents
SERIES_IDS = ("DGS10", "DGS2", "DGS3MO", "UNRATE", "CPIAUCSL")
UNARY = {
    "zscore": st.fixed_dictionaries({}, optional={"window": st.integers(2, 500)}),
    "rolling_mean": st.fixed_dictionaries({"window": st.integers(5, 300)}, optional={"min_periods": st.integers(1, 5)}),
    "diff": st.fixed_dictionaries({}, optional={"periods": st.integers(1, 12)}),
    "abs": st.just({}),
    "scale": st.fixed_dictionaries({"factor": st.floats(-100, 100, allow_nan=False)}, optional={"offset": st.floats(-5, 5, allow_nan=False)}),
    "shift": st.fixed_dictionaries({"periods": st.integers(-5, 5)}),
}
BINARY = ("sub", "add", "mul", "div")


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid DSL document with the key order and optional keys varied (``params``/``inputs`` omitted or present)."""
    steps: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 3))):
        params: dict[str, Any] = {"series_id": draw(st.sampled_from(SERIES_IDS))}
        if draw(st.booleans()):
            params["start"] = "$start"
        steps.append({"id": f"f{index}", "operation": "fetch_series", "params": params})
    for index in range(draw(st.integers(0, 6))):
        earlier = [s["id"] for s in steps]
        if len(earlier) < 2 or draw(st.booleans()):  # a binary step takes two different steps
            op = draw(st.sampled_from(sorted(UNARY)))
            step: dict[str, Any] = {"id": f"u{index}", "operation": op}
            params = draw(UNARY[op])
            inputs = [draw(st.sampled_from(earlier))]
        else:
            op = draw(st.sampled_from(BINARY))
            step = {"id": f"b{index}", "operation": op}
            params = {"align": "inner"} if draw(st.booleans()) else {}
            inputs = draw(st.lists(st.sampled_from(earlier), min_size=2, max_size=2, unique=True))
        if params or draw(st.booleans()):
            step["params"] = params
        if draw(st.booleans()):  # inputs before params, sometimes
            step = {"id": step["id"], "operation": step["operation"], "inputs": inputs, **{k: v for k, v in step.items() if k == "params"}}
        else:
            step["inputs"] = inputs
        steps.append(step)
    shown = draw(st.lists(st.sampled_from([s["id"] for s in steps]), min_size=1, max_size=3, unique=True))
    series = [{"id": sid, "source": sid, "label": draw(st.text("abcdef -()%", min_size=1, max_size=12))} for sid in shown]
    if draw(st.booleans()):
        series[0]["axis"] = "right"
    outputs: dict[str, Any] = {"series": series}
    if draw(st.booleans()):
        steps.append({"id": "stats", "operation": "summary", "inputs": [shown[0]]})
        outputs["tables"] = [{"id": "stats", "source": "stats", "columns": ["metric", "value"]}]
    return {"version": "1.0", "steps": steps, "outputs": outputs}


SCHEMA = {"fields": [{"name": "start", "type": "date", "default": "today-5y", "label": "Start"}]}


@settings(max_examples=150, deadline=None)
@given(documents())
def test_generated_documents_survive_the_draft_and_the_json_tab_unchanged(doc: dict[str, Any]) -> None:
    assert validate(doc, SCHEMA) == []
    draft = Draft(json.loads(text(doc)), SCHEMA)
    stored = Draft.from_json(json.loads(text(draft.to_json())))
    typed = json.loads(json.dumps(stored.dsl, indent=2))
    assert text(E.replace_dsl(stored, typed).dsl) == text(doc)
    for step in doc["steps"]:  # selecting each input again changes nothing
        for position, ref in enumerate(step.get("inputs", [])):
            assert text(E.set_input(stored, step["id"], position, ref).dsl) == text(doc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents())
def test_generated_documents_save_back_identical_as_a_new_version(svc: Services, doc: dict[str, Any]) -> None:
    user = svc.auth.guest()
    dsl, schema = save_unchanged(svc, user, doc, SCHEMA)
    assert text(dsl) == text(doc) and schema == SCHEMA
