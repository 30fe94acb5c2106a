"""The run flow of DESIGN.md section 5, as a user meets it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts.errors import AuthRequired, InputInvalid, NotFoundError, RateLimitExceeded, RunFailed, StoreUnavailable
from services.facade import Services
from tests.store.conftest import seed_meta

SLUG = "spread-10y-2y"


def member(svc: Services) -> object:
    """A free account (guests have a smaller quota of their own: tests/services/test_identity.py)."""
    import uuid

    return svc.auth.sign_up(f"member-{uuid.uuid4().hex[:10]}@example.com", "password1")


def test_a_run_is_recorded_with_its_outputs_and_counted(svc: Services) -> None:
    user = svc.auth.sign_up("ana@example.com", "password1")
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-01-01"})
    assert not outcome.cached and outcome.warnings == [] and outcome.version == 1
    assert outcome.result.outputs["series"][0]["id"] == "spread"
    run = svc.runs.get_run(user, outcome.run_id)
    assert run.status == "success" and run.inputs == {"start": "2024-01-01", "end": "2024-12-31"}
    assert run.outputs["provenance"][0]["provider"] == "sample"
    assert svc.runs.remaining_today(user) == 9


def test_anonymous_visitors_must_sign_in_or_be_a_guest_to_run(svc: Services) -> None:
    with pytest.raises(AuthRequired, match="Sign in or continue as a guest to run a model"):
        svc.runs.run_model(None, SLUG, {})
    assert not svc.runs.run_model(member(svc), SLUG, {}).cached


def test_bad_inputs_give_one_sentence_per_field_and_cost_nothing(svc: Services) -> None:
    user = member(svc)
    with pytest.raises(InputInvalid) as refused:
        svc.runs.run_model(user, SLUG, {"start": "yesterday-ish", "colour": "red"})
    assert set(refused.value.fields) == {"start", "colour"}
    assert "YYYY-MM-DD" in refused.value.fields["start"]
    assert svc.runs.remaining_today(user) == 10


def test_cache_hit_is_logged_not_counted_and_shared_across_users(svc: Services) -> None:
    ana, bob = member(svc), member(svc)
    first = svc.runs.run_model(ana, SLUG, {"start": "2024-01-01"})
    again = svc.runs.run_model(bob, SLUG, {"start": "2024-01-01", "end": "2024-12-31"})  # same canonical inputs
    assert again.cached and again.run_id != first.run_id
    assert again.result.outputs == first.result.outputs
    assert svc.runs.get_run(bob, again.run_id).cached
    assert svc.runs.remaining_today(bob) == 10


def test_the_eleventh_free_run_is_refused_with_a_sentence(svc: Services) -> None:
    user = member(svc)
    for i in range(4):
        svc.models.create(user, seed_meta(slug=f"copy-{i}"), "private")
    for i in range(10):
        svc.runs.run_model(user, f"copy-{i % 4}", {"start": f"2024-01-{i + 1:02d}"})
    with pytest.raises(RateLimitExceeded, match="You have used your 10 free runs today; they reset at 00:00 UTC"):
        svc.runs.run_model(user, "copy-3", {"start": "2024-02-01"})
    # a cached result is still served (copy-3 ran twice this minute: a hit is its third run)
    assert svc.runs.run_model(user, "copy-3", {"start": "2024-01-04"}).cached


def test_three_runs_a_minute_per_model(svc: Services) -> None:
    user = member(svc)
    for day in (1, 2, 3):
        svc.runs.run_model(user, SLUG, {"start": f"2024-01-0{day}"})
    with pytest.raises(RateLimitExceeded, match="at most 3 times a minute"):
        svc.runs.run_model(user, SLUG, {"start": "2024-01-04"})


def test_paid_users_get_a_hundred(svc: Services) -> None:
    svc.auth.sign_up("pay@example.com", "password1")
    user = svc.store.users.set_profile("pay@example.com", tier="paid")
    assert svc.runs.remaining_today(user) == 100


def test_a_failed_run_is_recorded_with_its_error_and_does_not_use_the_daily_quota(svc: Services) -> None:
    """Issue 9: a run that fails (an upstream outage, no data, a bad step) costs no daily run."""
    user = member(svc)
    with pytest.raises(RunFailed) as failed:
        svc.runs.run_model(user, SLUG, {"start": "2030-01-01", "end": "2030-12-31"})
    run = svc.runs.get_run(user, failed.value.run_id)
    assert run.status == "error" and run.error_message == str(failed.value) and failed.value.step_id
    assert svc.runs.remaining_today(user) == 10


def test_if_recording_fails_the_user_still_gets_the_result_with_a_warning(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    user = member(svc)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(svc.store.runs, "finish_run", broken)
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-03-01"})
    assert outcome.result.outputs["series"] and outcome.run_id is None
    assert "could not be saved" in outcome.warnings[0]


def test_twenty_simultaneous_attempts_admit_exactly_the_remaining_quota(svc: Services) -> None:
    user = member(svc)
    for i in range(8):
        svc.models.create(user, seed_meta(slug=f"conc-{i}"), "private")
    for day in (1, 2, 3):
        svc.runs.run_model(user, "conc-0", {"start": f"2024-01-0{day}"})
    barrier = threading.Barrier(20)

    def attempt(i: int) -> str:
        barrier.wait()
        try:
            # 7 models for 20 attempts: at most 3 per model, so a refusal can only be the daily limit
            # (with 6 models, a model's 4th attempt could meet the per-minute limit first)
            svc.runs.run_model(user, f"conc-{1 + i % 7}", {"start": f"2023-01-{i + 1:02d}"})
            return "ok"
        except RateLimitExceeded as exc:
            return exc.kind

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert results.count("ok") == 7 and results.count("daily") == 13
    assert len([r for r in svc.runs.list_runs(user, 100) if not r.cached]) == 10


def test_unknown_and_private_models_are_not_found(svc: Services) -> None:
    ana, bob = member(svc), member(svc)
    svc.models.create(ana, seed_meta(slug="anas-secret"), "private")
    with pytest.raises(NotFoundError):
        svc.runs.run_model(bob, "anas-secret", {})


def test_without_the_database_a_run_is_refused_with_a_sentence_not_run_without_limits(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    user = member(svc)
    served = svc.runs.run_model(user, SLUG, {"start": "2024-06-03"})

    def down(*args: object, **kwargs: object) -> str:
        raise OSError("connection reset")

    monkeypatch.setattr(svc.store.runs, "reserve_run", down)
    with pytest.raises(StoreUnavailable, match="could not be checked against your limits; try again in a moment"):
        svc.runs.run_model(user, SLUG, {"start": "2024-06-04"})
    # what was already computed is still served from the cache
    assert svc.runs.run_model(user, SLUG, {"start": "2024-06-03"}).result.outputs == served.result.outputs


# ----------------------------------------------------------------------------- issue 9
def test_cache_hits_count_against_the_per_minute_limit(svc: Services) -> None:
    """A cached result is not a free pass: three runs of a model a minute, served from the cache or not."""
    ana, bob = member(svc), member(svc)
    svc.runs.run_model(ana, SLUG, {"start": "2024-02-01"})
    for _ in range(3):
        assert svc.runs.run_model(bob, SLUG, {"start": "2024-02-01"}).cached
    with pytest.raises(RateLimitExceeded, match="at most 3 times a minute"):
        svc.runs.run_model(bob, SLUG, {"start": "2024-02-01"})
    assert svc.runs.remaining_today(bob) == 10


def test_a_cache_hit_records_the_inputs_that_produced_its_outputs(svc: Services) -> None:
    ana, bob = member(svc), member(svc)
    first = svc.runs.run_model(ana, SLUG, {"start": "2024-01-01"})
    hit = svc.runs.run_model(bob, SLUG, {"start": "2024-01-01", "end": "2024-12-31"})
    assert hit.cached and svc.runs.get_run(bob, hit.run_id).inputs == svc.runs.get_run(ana, first.run_id).inputs


@pytest.fixture
def clocked(tmp_path, sample):
    """Services over a sqlite store whose clock the test moves, with a 0.2 s busy timeout."""
    from datetime import UTC, datetime

    import services
    from services.config import Settings
    from store.sqlite import SqliteStore
    from tests.store.conftest import FAST_HASHER

    now = [datetime.now(UTC)]
    store = SqliteStore(tmp_path / "clocked.db", password_hasher=FAST_HASHER, clock=lambda: now[0], busy_timeout_s=0.2)
    store.models.load_seeds([seed_meta()])
    built = services.build(Settings(db_path=str(tmp_path / "clocked.db")), store=store, data=sample, load_seeds=False)
    yield built, now
    built.close()


def lock_the_database_while_running(svc: Services, monkeypatch: pytest.MonkeyPatch, release_after_s: float | None) -> list:
    """The model runs, then another process takes the database's write lock (and keeps it, or releases it later)."""
    import sqlite3

    held: list = []
    run = svc.runs.runner.run

    def run_then_lock(job):
        result = run(job)
        other = sqlite3.connect(svc.store.path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")
        held.append(other)
        if release_after_s is not None:
            threading.Timer(release_after_s, lambda: (other.execute("ROLLBACK"), other.close())).start()
        return result

    monkeypatch.setattr(svc.runs.runner, "run", run_then_lock)
    return held


def test_a_run_whose_recording_is_locked_out_once_is_finished_on_the_second_try(clocked, monkeypatch: pytest.MonkeyPatch) -> None:
    svc, _ = clocked
    user = member(svc)
    lock_the_database_while_running(svc, monkeypatch, release_after_s=0.3)
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-04-01"})
    assert outcome.warnings == [] and svc.runs.get_run(user, outcome.run_id).status == "success"


def test_a_run_whose_recording_fails_never_stays_pending_for_ever(clocked, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: sqlite locked mid-run left the run pending for ever, counting against the quota."""
    from datetime import timedelta

    svc, now = clocked
    user = member(svc)
    held = lock_the_database_while_running(svc, monkeypatch, release_after_s=None)
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-05-01"})
    assert outcome.result.outputs["series"] and "could not be saved" in outcome.warnings[0]
    held[0].execute("ROLLBACK")
    held[0].close()
    monkeypatch.undo()
    (lost,) = svc.runs.list_runs(user)
    assert lost.status == "pending" and svc.runs.remaining_today(user) == 9
    now[0] += timedelta(seconds=svc.runs.stale_after_s + 1)  # past the run budget
    svc.runs.run_model(user, SLUG, {"start": "2024-05-02"})
    swept = svc.runs.get_run(user, lost.id)
    assert swept.status == "error" and "does not count" in swept.error_message
    assert svc.runs.remaining_today(user) == 9  # only the new run counts
