"""The engine as a target (issue 9): hostile documents are refused quickly, in sentences, never with a
traceback. Each case here once cost minutes, gigabytes or a stack trace; keep the corpus growing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.document import MAX_DEPTH, read_json
from engine.validator import validate
from services import authoring

ROOT = Path(__file__).resolve().parents[2]
FETCH = {"id": "a", "operation": "fetch_series", "params": {"series_id": "DGS10"}}
OUTPUT = {"series": [{"id": "a", "source": "a", "label": "a"}]}


def doc(*steps: dict, outputs: dict | None = None) -> dict:
    return {"version": "1.0", "steps": list(steps) or [FETCH], "outputs": outputs or OUTPUT}


def cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "run", str(path), "--data", "sample"], cwd=ROOT, capture_output=True, text=True, timeout=120)


SEED_WITH_DEFAULT = {
    "slug": "x-y", "name": "x", "description": "d", "lab_scope": "econ", "difficulty": "basic",
    "dsl": doc({"id": "a", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "$start"}}),
    "input_schema": {"fields": [{"name": "start", "type": "date", "default": "today-99999999999y"}]},
}

FILES = {
    "not UTF-8": (b"\xff\xfe{}", "not UTF-8 text"),
    "a 5,000-digit integer": (('{"version": "1.0", "steps": [{"id": "a", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": ' + "9" * 5000 + "}}]}").encode(), "has 5000 digits"),
    "50,000-deep nesting": (("[" * 50_000 + "]" * 50_000).encode(), "nests 50,000 levels deep"),
    "duplicate keys (the second steps silently ran)": (
        b'{"version": "1.0", "steps": [], "steps": [{"id": "b", "operation": "fetch_series", "params": {"series_id": "DGS2"}}]}',
        "the key 'steps' appears twice",
    ),
    "an overflowing relative date": (json.dumps(SEED_WITH_DEFAULT).encode(), "the default 'today-99999999999y' is not a date"),
    "NaN where a number goes": (b'{"version": "1.0", "steps": [{"id": "a", "operation": "scale", "params": {"factor": NaN}}]}', "'NaN' is not a JSON number"),
}


@pytest.mark.parametrize("name", list(FILES))
def test_the_cli_refuses_hostile_files_with_a_sentence(name: str, tmp_path: Path) -> None:
    body, expected = FILES[name]
    path = tmp_path / "model.json"
    path.write_bytes(body)
    started = time.monotonic()
    result = cli(path)
    assert result.returncode == 1
    assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert time.monotonic() - started < 30


def test_the_builder_reads_text_with_the_same_rules() -> None:
    _, problems = authoring.parse('{"a": 1, "a": 2}')
    assert problems[0].code == "E_JSON" and "appears twice" in problems[0].message
    _, problems = authoring.parse("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert "levels deep" in problems[0].message
    assert read_json('{"ok": [1, 2.5, "x", null, true]}') == ({"ok": [1, 2.5, "x", None, True]}, [])


def codes(problems: list) -> dict[str, tuple]:
    return {p.code: p.where for p in problems}


def test_a_metric_format_with_a_giant_width_is_refused_before_anything_runs() -> None:
    """A 272-byte model with the format '2000000000' once reached 5.9 GB and a 2 GB result."""
    model = doc(FETCH, {"id": "m", "operation": "summary", "inputs": ["a"]},
                outputs={"metrics": [{"id": "m", "source": "m", "field": "mean", "label": "m", "format": "2000000000"}]})
    found = codes(validate(model))
    assert found["E_SCHEMA"] == ("outputs", "metrics", 0, "format")
    for fine in (".2f", ".1%", ",.0f", "+.3g", ">12,.2f"):
        model["outputs"]["metrics"][0]["format"] = fine
        assert validate(model) == [], fine


def test_one_step_naming_the_same_input_three_thousand_times_is_refused_at_once() -> None:
    """An 18 KB model doing this once ran past 240 s with a 30 s budget."""
    started = time.monotonic()
    problems = validate(doc(FETCH, {"id": "s", "operation": "add", "inputs": ["a"] * 3000}))
    assert time.monotonic() - started < 1
    assert any(p.code == "E_LIMIT" and p.where == ("steps", 1, "inputs") for p in problems)
    duplicates = validate(doc(FETCH, {"id": "s", "operation": "sub", "inputs": ["a", "a"]}))
    assert any("more than once among its inputs" in p.message for p in duplicates)


def test_oversized_parameters_and_documents_are_refused() -> None:
    many = validate(doc({"id": "a", "operation": "fetch_series", "params": {f"p{i}": 1 for i in range(500)}}))
    assert any("at most 32 parameters" in p.message for p in many)
    long_text = validate(doc({"id": "a", "operation": "fetch_series", "params": {"series_id": "D" * 1_000_000}}))
    assert any("1,000,000 characters long" in p.message for p in long_text)
    started = time.monotonic()
    huge = validate({"version": "1.0", "steps": [FETCH] * 100_000, "outputs": OUTPUT})
    assert time.monotonic() - started < 2
    assert huge[0].code == "E_LIMIT" and huge[0].where == ("steps",)
    assert read_json(b" " * 2_000_000)[1][0].message.startswith("the document is 2,000,000 bytes")


def test_labels_and_output_lists_are_bounded() -> None:
    long_label = validate(doc(outputs={"series": [{"id": "a", "source": "a", "label": "x" * 10_000}]}))
    assert any(p.code == "E_LIMIT" and p.where == ("outputs", "series", 0, "label") for p in long_label)
    many = validate(doc(outputs={"series": [{"id": f"o{i}", "source": "a", "label": "l"} for i in range(200)]}))
    assert any(p.code == "E_LIMIT" and p.where == ("outputs", "series") for p in many)


def test_a_colour_plotly_would_refuse_is_refused_by_the_validator() -> None:
    """Regression (issue 9): an output colour Plotly refuses raised a traceback inside the page."""
    bad = validate(doc(outputs={"series": [{"id": "a", "source": "a", "label": "a", "color": "notacolour"}]}))
    assert any(p.where == ("outputs", "series", 0, "color") for p in bad)
    for fine in ("#1f77b4", "#abc", "rgb(31, 119, 180)", "rgba(31, 119, 180, 0.4)"):
        assert validate(doc(outputs={"series": [{"id": "a", "source": "a", "label": "a", "color": fine}]})) == [], fine


def test_visitors_never_see_error_details() -> None:
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
