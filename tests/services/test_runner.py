"""The supervised process runner: a run past its budget or its memory cap is killed and reported in a
sentence, other users' runs go on, and the pool recovers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.errors import DataNotFound, InputInvalid, LimitExceeded, StepFailed, ValidationFailed
from contracts.limits import Limits
from contracts.settings import DataSettings
from services.runner import InlineRunner, ProcessPoolRunner, RunJob, error_from_wire, error_to_wire

ROOT = Path(__file__).resolve().parents[2]
SEED = json.loads((ROOT / "seeds" / "yield-curve-10y-2y.json").read_text())
PRELOAD = ("services.worker_boot", "tests.services.hostile_ops")


def job(dsl: dict, budget_ms: int = 30_000, memory_mb: int = 256, inputs: dict | None = None, schema: dict | None = None) -> RunJob:
    limits = Limits(max_runtime_ms=budget_ms, max_memory_mb=memory_mb)
    return RunJob(dsl, schema if schema is not None else {"fields": []}, inputs or {}, limits, "sample", DataSettings())


def one_step(operation: str, **params: object) -> dict:
    return {"version": "1.0", "steps": [{"id": "x", "operation": operation, "params": params}], "outputs": {"series": [{"id": "x", "source": "x", "label": "x"}]}}


SPREAD = job(SEED["dsl"], schema=SEED["input_schema"], inputs={"start": "2024-01-01", "end": "2024-06-30"})


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolRunner]:
    runner = ProcessPoolRunner(workers=2, memory_mb=256, preload=PRELOAD)
    runner.warm()
    yield runner
    runner.close()


def test_a_seed_runs_in_a_worker_and_gives_the_inline_numbers(pool: ProcessPoolRunner) -> None:
    from services.data import sample_access

    in_worker = pool.run(SPREAD)
    inline = InlineRunner(sample_access).run(SPREAD)
    assert in_worker["outputs"] == inline["outputs"]
    assert [t["step"] for t in in_worker["trace"]] == [t["step"] for t in inline["trace"]]


def test_a_run_past_its_budget_is_killed_while_another_users_run_completes(pool: ProcessPoolRunner) -> None:
    replaced = pool.replaced
    outcome: dict[str, object] = {}

    def slow() -> None:
        started = time.monotonic()
        try:
            pool.run(job(one_step("test_sleep", seconds=60), budget_ms=1500))
        except LimitExceeded as exc:
            outcome["error"], outcome["seconds"] = str(exc), time.monotonic() - started

    hostile = threading.Thread(target=slow)
    hostile.start()
    time.sleep(0.3)  # the hostile run holds one worker
    started = time.monotonic()
    normal = pool.run(SPREAD)
    assert normal["outputs"]["series"] and time.monotonic() - started < 5
    hostile.join(30)
    assert outcome["error"] == "The run took over 1.5 s and was stopped; narrow the date range or simplify the model."
    assert 1.5 <= float(outcome["seconds"]) < 6  # budget + grace + replacement, not 60 s
    assert pool.replaced == replaced + 1
    assert pool.run(SPREAD)["outputs"] == normal["outputs"]  # the pool recovered


def test_a_run_past_its_memory_cap_is_stopped_and_the_pool_recovers(pool: ProcessPoolRunner) -> None:
    replaced = pool.replaced
    with pytest.raises(LimitExceeded, match=r"memory cap of 256 MB"):
        pool.run(job(one_step("test_hog", megabytes=4096)))
    assert pool.replaced == replaced + 1
    assert pool.run(SPREAD)["outputs"]["series"]


def test_engine_errors_cross_the_boundary_with_their_type_and_details(pool: ProcessPoolRunner) -> None:
    with pytest.raises(StepFailed) as failed:
        pool.run(job(one_step("fetch_series", series_id="NOPE")))
    assert failed.value.step_id == "x" and failed.value.cause_code == DataNotFound.code
    with pytest.raises(ValidationFailed) as invalid:
        pool.run(job({"version": "1.0", "steps": [{"id": "x", "operation": "rolling_men"}]}))
    assert any(p.where == ("steps", 0, "operation") for p in invalid.value.problems)


def test_errors_round_trip_as_plain_data() -> None:
    for error in (
        InputInvalid({"start": "Start: not a date."}),
        StepFailed("a", "zscore", "too short.", "E_OPERATION"),
        LimitExceeded("Too big."),
        DataNotFound("No such series."),
    ):
        back = error_from_wire(json.loads(json.dumps(error_to_wire(error))))
        assert type(back) is type(error) and str(back) == str(error)
    assert error_from_wire({"code": "E_SOMETHING_NEW", "message": "A sentence."}).args == ("A sentence.",)


def test_every_worker_busy_is_a_sentence_not_a_hang() -> None:
    single = ProcessPoolRunner(workers=1, memory_mb=256, preload=PRELOAD)
    try:
        single.warm()
        errors: list[Exception] = []

        def block() -> None:
            try:
                single.run(job(one_step("test_sleep", seconds=60), budget_ms=3000))
            except LimitExceeded as exc:
                errors.append(exc)

        blocker = threading.Thread(target=block)
        blocker.start()
        time.sleep(0.3)
        with pytest.raises(LimitExceeded, match="Every model worker is busy"):
            single._acquire(wait_s=0.2)
        blocker.join(30)
        assert len(errors) == 1
    finally:
        single.close()


def test_through_the_run_flow_a_killed_run_is_recorded_as_failed_and_others_go_on(tmp_path: Path, pool: ProcessPoolRunner) -> None:
    import services
    from contracts.errors import RunFailed
    from services.config import Settings
    from store.sqlite import SqliteStore
    from tests.store.conftest import FAST_HASHER, seed_meta

    store = SqliteStore(tmp_path / "auster.db", password_hasher=FAST_HASHER)
    store.models.load_seeds([seed_meta(), seed_meta(slug="sleepy", name="Sleeps", dsl=one_step("test_sleep", seconds=60), input_schema={"fields": []})])
    svc = services.build(Settings(db_path=str(tmp_path / "auster.db"), max_runtime_ms=1500), store=store, runner=pool, load_seeds=False)
    hostile, honest = svc.auth.guest(), svc.auth.guest()
    failures: list[RunFailed] = []

    def attack() -> None:
        try:
            svc.runs.run_model(hostile, "sleepy")
        except RunFailed as exc:
            failures.append(exc)

    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(0.3)
    outcome = svc.runs.run_model(honest, "spread-10y-2y", {"start": "2024-01-01"})
    assert outcome.result.outputs["series"] and not outcome.cached
    attacker.join(30)
    assert str(failures[0]) == "The run took over 1.5 s and was stopped; narrow the date range or simplify the model."
    recorded = svc.runs.get_run(hostile, failures[0].run_id)
    assert recorded.status == "error" and "was stopped" in (recorded.error_message or "")
    svc.close()


def test_a_worker_never_imports_the_parents_main_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside ``streamlit run`` the main module is the app script while a page runs: workers started then
    imported app.py (drawing the app and starting a pool of their own), so the first run waited seconds."""
    import sys
    import types

    marker = tmp_path / "imported"
    script = tmp_path / "app_script.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    runner = ProcessPoolRunner(workers=1, memory_mb=256, preload=PRELOAD)
    try:
        runner.warm()
        assert runner.run(SPREAD)["outputs"]["series"]
    finally:
        runner.close()
    assert not marker.exists(), "the worker imported the parent's main script"


def test_the_data_providers_events_counted_in_a_worker_come_back_with_its_answer(pool: ProcessPoolRunner) -> None:
    """The admin page's providers' health counts what the workers' caches did, each event once."""
    from services.health import TALLY

    TALLY.drain()  # this process's own counts so far are not the workers'
    pool.run(SPREAD)
    pool.run(SPREAD)
    counted = [r for r in TALLY.drain() if r.provider == "sample"]
    assert {r.kind for r in counted} == {"series"}
    assert sum(r.count for r in counted if r.event in ("hit", "miss")) == 4  # two fetch steps a run, two runs
    assert not TALLY.drain()
