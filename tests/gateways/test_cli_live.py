"""`python -m engine run --data live|sample|auto` serves the same seed from the replay server or the sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.__main__ import main
from tests.gateways.replay_server import ReplayServer
from tests.gateways.test_factory import live_env

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ARGS = ["--input", "start=2024-01-01", "--input", "end=2024-06-30", "--json"]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = main(["run", *argv])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize("slug", ["yield-curve-10y-2y", "drawdown"])
def test_live_and_sample_runs_of_a_seed_give_the_same_numbers(slug, server: ReplayServer, monkeypatch, capsys):
    for key, value in live_env(server).items():
        monkeypatch.setenv(key, value)
    seed = str(SEEDS / f"{slug}.json")
    live = run_json(capsys, seed, "--data", "live", *ARGS)
    sample = run_json(capsys, seed, "--data", "sample", *ARGS)
    assert {p["provider"] for p in live["provenance"]} <= {"fred", "polygon"} and all(p["live"] for p in live["provenance"])
    assert {p["provider"] for p in sample["provenance"]} == {"sample"}
    assert live["outputs"] == sample["outputs"]
    auto = run_json(capsys, seed, "--data", "auto", *ARGS)  # keys are set: auto goes live
    assert auto["outputs"] == sample["outputs"] and all(p["live"] for p in auto["provenance"])


def test_live_without_keys_exits_1_with_a_sentence(monkeypatch, capsys):
    for key in ("FRED_API_KEY", "MASSIVE_API_KEY", "POLYGON_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(SEEDS.parent / "tests")  # no .streamlit/secrets.toml here
    assert main(["run", str(SEEDS / "yield-curve-10y-2y.json"), "--data", "live"]) == 1
    assert "Live data needs FRED_API_KEY" in capsys.readouterr().err
