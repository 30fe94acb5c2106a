"""Versions you can compare (issue 13): history, the structural diff, running and restoring an earlier
version, comparing two versions' results, and forks that follow their source."""

from __future__ import annotations

import copy
import uuid

import pytest

from contracts.errors import InputInvalid, NotFoundError, PermissionDenied
from services.facade import Services
from services.versions import MISSING, Change, diff_table, diff_versions
from tests.store.conftest import SPREAD_SEED

INPUTS = {"start": "2024-01-01", "end": "2024-06-30"}


def spread_v2() -> tuple[dict, dict]:
    """The spread in basis points, smoothed over 5 days; a new input; the stats table gone, a metric added."""
    dsl = copy.deepcopy(SPREAD_SEED["dsl"])
    dsl["steps"][2]["params"] = {"align": "inner"}
    dsl["steps"].append({"id": "bp", "operation": "scale", "inputs": ["spread"], "params": {"factor": 100}})
    dsl["steps"].append({"id": "smooth", "operation": "rolling_mean", "inputs": ["bp"], "params": {"window": 5}})
    dsl["steps"][3]["inputs"] = ["smooth"]
    dsl["outputs"]["series"][0] = {"id": "spread", "source": "smooth", "label": "10y - 2y (bp, 5-day mean)"}
    schema = copy.deepcopy(SPREAD_SEED["input_schema"])
    schema["fields"][0]["default"] = "2022-01-01"
    return dsl, schema


@pytest.fixture
def authored(svc: Services) -> tuple[object, str]:
    """Ana's public copy of the spread, edited twice: v2 in basis points and smoothed, v3 smoothed over 20."""
    ana = svc.auth.sign_up(f"ana-{uuid.uuid4().hex[:6]}@example.com", "password1", "Ana")
    slug = f"spread-{uuid.uuid4().hex[:6]}"
    svc.models.create(ana, {**SPREAD_SEED, "slug": slug}, visibility="public")
    dsl, schema = spread_v2()
    svc.models.add_version(ana, slug, dsl, schema, changelog="Basis points, smoothed")
    dsl3 = copy.deepcopy(dsl)
    dsl3["steps"][-1]["params"]["window"] = 20
    svc.models.add_version(ana, slug, dsl3, schema, changelog="Smoother")
    return ana, slug


def test_history_lists_number_date_author_changelog_and_status(svc: Services, authored: tuple[object, str]) -> None:
    _, slug = authored
    history = svc.versions.history(None, slug)
    assert [(v.version, v.author_name, v.changelog, v.status) for v in history] == [
        (3, "Ana", "Smoother", "published"), (2, "Ana", "Basis points, smoothed", "published"), (1, "Ana", "First version", "published"),
    ]
    assert history[0].created_at >= history[-1].created_at


def test_the_diff_names_steps_added_removed_and_changed_down_to_each_parameter(svc: Services, authored: tuple[object, str]) -> None:
    _, slug = authored
    diff = svc.versions.diff(None, slug, 1, 3)
    steps = {(s.id, s.status): s for s in diff.steps}
    assert set(steps) == {("spread", "changed"), ("latest", "changed"), ("bp", "added"), ("smooth", "added")}
    assert steps[("spread", "changed")].changes == (Change("params.align", MISSING, "inner"),)
    assert steps[("latest", "changed")].changes == (Change("inputs", ["spread"], ["smooth"]),)
    assert steps[("smooth", "added")].summary == "rolling_mean of bp"
    assert [(i.id, i.status, i.changes) for i in diff.inputs] == [("start", "changed", (Change("default", "2023-01-01", "2022-01-01"),))]
    (series,) = diff.outputs
    assert series.kind == "series" and series.status == "changed"
    assert {c.path for c in series.changes} == {"source", "label"}
    assert diff.counts() == {"added": 2, "removed": 0, "changed": 4}


def test_the_diff_between_two_edits_is_the_one_parameter_that_moved(svc: Services, authored: tuple[object, str]) -> None:
    _, slug = authored
    diff = svc.versions.diff(None, slug, 2, 3)
    assert [(s.id, s.changes) for s in diff.steps] == [("smooth", (Change("params.window", 5, 20),))]
    assert not diff.inputs and not diff.outputs
    assert svc.versions.diff(None, slug, 3, 3).empty
    backwards = svc.versions.diff(None, slug, 3, 1)
    assert {(s.id, s.status) for s in backwards.steps} >= {("bp", "removed"), ("smooth", "removed")}


def test_removed_outputs_and_inputs_are_named(svc: Services) -> None:
    model = svc.registry.get_model("spread-10y-2y", None)
    old = model.latest
    dsl = copy.deepcopy(old.dsl)
    del dsl["outputs"]["tables"]
    schema = {"fields": [old.input_schema["fields"][0]]}
    new = type(old)(**{**old.__dict__, "version": 2, "dsl": dsl, "input_schema": schema})
    diff = diff_versions(old, new)
    assert [(o.kind, o.id, o.status) for o in diff.outputs] == [("tables", "stats", "removed")]
    assert [(i.id, i.status) for i in diff.inputs] == [("end", "removed")]


def test_an_earlier_version_runs_as_it_was(svc: Services, authored: tuple[object, str]) -> None:
    _, slug = authored
    reader = svc.auth.guest()
    first = svc.runs.run_model(reader, slug, INPUTS, version=1)
    latest = svc.runs.run_model(reader, slug, INPUTS)
    assert first.version == 1 and latest.version == 3
    assert [t.operation for t in first.result.trace].count("rolling_mean") == 0
    assert [t.operation for t in latest.result.trace].count("rolling_mean") == 1
    with pytest.raises(NotFoundError, match="no version 9"):
        svc.versions.get(reader, slug, 9)


def test_restoring_makes_a_new_version_with_the_old_content(svc: Services, authored: tuple[object, str]) -> None:
    ana, slug = authored
    restored = svc.versions.restore(ana, slug, 1)
    assert restored.version == 4 and restored.changelog == "Restored version 1"
    assert restored.dsl == svc.versions.get(None, slug, 1).dsl
    assert svc.registry.get_model(slug, ana).latest.version == 4
    assert svc.versions.diff(None, slug, 1, 4).empty
    with pytest.raises(InputInvalid, match="already the current"):
        svc.versions.restore(ana, slug, 4)
    with pytest.raises(PermissionDenied):
        svc.versions.restore(svc.auth.guest(), slug, 2)


def test_compare_runs_both_versions_with_the_same_inputs_and_marks_what_differs(svc: Services, authored: tuple[object, str]) -> None:
    _, slug = authored
    reader = svc.auth.guest()
    comparison = svc.versions.compare(reader, slug, 1, 2, INPUTS)
    assert comparison.old.version == 1 and comparison.new.version == 2
    assert comparison.old.result.inputs["start"] == comparison.new.result.inputs["start"] == "2024-01-01"
    (series,) = comparison.series
    assert not series.same and series.old["label"] == "10y - 2y (pp)" and series.new["label"].startswith("10y - 2y (bp")
    first_old = next(y for y in series.old["y"] if y is not None)
    assert any(y is not None and abs(y - 100 * first_old) > 1e-9 for y in series.new["y"])  # basis points, smoothed
    (stats,) = comparison.tables
    assert not stats.same and ("mean" in {r["metric"] for r in stats.rows})
    changed_rows = {stats.rows[i]["metric"] for i, column in stats.changed if column == "value"}
    assert {"mean", "min", "max", "count"} <= changed_rows  # other values, and the 5-day mean starts four days later
    assert not comparison.same


def test_compare_two_identical_versions_finds_nothing(svc: Services, authored: tuple[object, str]) -> None:
    ana, slug = authored
    svc.versions.restore(ana, slug, 1)
    comparison = svc.versions.compare(ana, slug, 1, 4, {**INPUTS, "symbol": "SPY"})
    assert comparison.same
    assert comparison.left_out == {1: ["symbol"], 4: ["symbol"]}  # an input neither version takes is left out, and said so
    with pytest.raises(InputInvalid):
        svc.versions.compare(ana, slug, 2, 2, INPUTS)


def test_a_table_diff_pairs_rows_by_their_key_and_marks_rows_only_one_side_has() -> None:
    old = {"columns": ["metric", "value"], "rows": [{"metric": "mean", "value": 1.0}, {"metric": "max", "value": 3.0}]}
    new = {"columns": ["metric", "value"], "rows": [{"metric": "min", "value": 0.0}, {"metric": "mean", "value": 1.0 + 1e-13}]}
    table = diff_table("stats", old, new)
    assert [r["metric"] for r in table.rows] == ["min", "mean", "max"]
    assert table.only_new == {0} and table.only_old == {2} and not table.changed  # 1e-13 apart is the same number


def test_a_fork_owner_sees_newer_source_versions_with_the_diff_and_takes_one(svc: Services, authored: tuple[object, str]) -> None:
    ana, slug = authored
    bob = svc.auth.sign_up(f"bob-{uuid.uuid4().hex[:6]}@example.com", "password1", "Bob")
    fork = svc.models.fork(bob, slug)
    assert fork.name == "10y minus 2y spread (fork)"
    lineage = svc.versions.lineage(bob, fork.slug)
    assert (lineage.source.slug, lineage.source.version, lineage.source.owner_name) == (slug, 3, "Ana")
    assert svc.versions.source_updates(bob, fork.slug).newer == ()
    assert svc.versions.source_updates(None, fork.slug) is None  # only the fork's owner is offered updates
    with pytest.raises(NotFoundError):
        svc.versions.source_updates(ana, fork.slug)  # a private fork is not even visible to the source's author
    dsl = copy.deepcopy(svc.versions.get(ana, slug, 3).dsl)
    dsl["steps"][-1]["params"]["window"] = 60
    svc.models.add_version(ana, slug, dsl, changelog="Two-month mean")
    updates = svc.versions.source_updates(bob, fork.slug)
    ((version, diff),) = updates.newer
    assert version.version == 4 and [(s.id, s.changes) for s in diff.steps] == [("smooth", (Change("params.window", 20, 60),))]
    taken = svc.versions.take(bob, fork.slug, 4)
    assert taken.version == 2 and svc.registry.get_model(fork.slug, bob).latest.dsl == dsl
    assert svc.versions.source_updates(bob, fork.slug).newer == ()
    assert [f.slug for f in svc.versions.lineage(None, slug).forks] == []  # a private fork is not listed to others
    assert [f.slug for f in svc.versions.lineage(bob, slug).forks] == [fork.slug]
