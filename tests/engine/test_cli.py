"""`python -m engine` is a stable contract: ops, validate and run, with exit codes and JSON shapes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.__main__ import main
from tests.engine.test_validator import SCHEMA, SPREAD

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def seed_file(tmp_path: Path) -> str:
    seed = {"slug": "spread", "name": "Spread", "description": "10y-2y", "lab_scope": "econ", "tags": [], "difficulty": "basic",
            "dsl": SPREAD, "input_schema": SCHEMA, "output_schema": {}}
    return write(tmp_path, "seed.json", seed)


def test_ops_lists_every_operation_with_family_types_and_params(capsys):
    assert main(["ops", "--json"]) == 0
    ops = {op["name"]: op for op in json.loads(capsys.readouterr().out)}
    assert len(ops) >= 45
    sub = ops["sub"]
    assert sub["family"] == "math" and sub["output"] == "depends on inputs"
    assert "constant" in sub["params"]["properties"] and sub["summary"]
    assert ops["fetch_series"]["output"] == "series"


def test_ops_text_listing_has_one_entry_per_operation(capsys):
    assert main(["ops"]) == 0
    assert "fetch_series" in capsys.readouterr().out


def test_validate_accepts_a_bare_dsl_and_a_seed_file(tmp_path, capsys):
    bare = json.loads(json.dumps(SPREAD).replace('"$start"', '"2020-01-01"').replace('"$end"', '"2020-12-31"'))
    assert main(["validate", write(tmp_path, "bare.json", bare), seed_file(tmp_path)]) == 0
    assert capsys.readouterr().out.count(": valid") == 2


def test_a_bare_dsl_cannot_use_inputs_it_does_not_declare(tmp_path, capsys):
    assert main(["validate", write(tmp_path, "bare.json", SPREAD)]) == 1
    assert "E_UNDECLARED_INPUT at $.steps[0].params.start" in capsys.readouterr().out


def test_validate_prints_code_path_message_and_exits_1(tmp_path, capsys):
    bad = write(tmp_path, "bad.json", {**SPREAD, "version": "3"})
    assert main(["validate", bad]) == 1
    assert "E_VERSION at $.version: unsupported DSL version '3'" in capsys.readouterr().out


def test_validate_json_reports_objects(tmp_path, capsys):
    bad = write(tmp_path, "bad.json", "{not json")
    assert main(["validate", bad, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[0]["valid"] is False and report[0]["errors"][0]["code"] == "E_JSON"
    assert set(report[0]["errors"][0]) == {"code", "path", "where", "message", "hint"}


def test_validate_a_missing_file_is_a_sentence_not_a_traceback(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.json")]) == 1
    assert "cannot read" in capsys.readouterr().out


def test_run_prints_the_stored_json_shape(tmp_path, capsys):
    path = seed_file(tmp_path)
    assert main(["run", path, "--input", "start=2024-01-01", "--input", "end=2024-03-31", "--data", "sample", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    series = result["outputs"]["series"][0]
    assert set(series) >= {"id", "label", "x", "y"} and series["x"][0] == "2024-01-02"
    assert isinstance(result["outputs"]["tables"][0]["rows"], list)
    assert {"trace", "provenance", "runtime_ms"} <= set(result)


def test_run_failure_exits_1_with_a_sentence(tmp_path, capsys):
    path = seed_file(tmp_path)
    assert main(["run", path, "--input", "start=not-a-date", "--data", "sample"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Invalid inputs: start:") and "Traceback" not in err


def test_run_with_a_malformed_input_flag(tmp_path, capsys):
    assert main(["run", seed_file(tmp_path), "--input", "start", "--data", "sample"]) == 1
    assert "name=value" in capsys.readouterr().err


def test_the_module_runs_as_a_subprocess(tmp_path):
    done = subprocess.run([sys.executable, "-m", "engine", "run", seed_file(tmp_path), "--data", "sample"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "runtime:" in done.stdout and "sample (sample) fred_series DGS10 as of 2026-08-20" in done.stdout
