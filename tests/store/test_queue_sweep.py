"""What the queue's sweep needs from the store (issue 15), on every backend: the queued runs still pending past a
threshold, across users, and finishing one only while it is pending, so that a run the queue lost is failed once
with its quota given back and a run that finished meanwhile is never overwritten. On Supabase the listing reads
every user's runs, so a user's JWT (or a visitor) calling it, or reserving a queued run in anyone's name, is
refused by the database."""

from __future__ import annotations

import time

import pytest

from contracts.errors import NotFoundError
from contracts.records import User
from store.base import Store
from tests.store.test_code_reviews import raw, refused
from tests.store.test_conformance import RESULT, email

LOST = "The run queue restarted and lost this run before a worker took it; the run was not charged. Run it again."


def reserve(store: Store, user: User, key: str, queued: bool = True) -> str:
    model = store.models.get_model("spread-10y-2y", user)
    return store.runs.reserve_run(user, model.id, model.latest.id, {"start": "2024-01-01"}, key, queued=queued)


def swept(store: Store, older_than_s: float = 0.0) -> list[str]:
    return [r.id for r in store.runs.pending_queued_runs(older_than_s, 1000)]


def test_it_lists_every_users_queued_runs_still_pending_oldest_first(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    first = reserve(store, ana, "q1")
    second = reserve(store, bob, "q2")
    in_place = reserve(store, ana, "inline", queued=False)  # the app executes it itself: no queue knows it, yet it is not lost
    finished = reserve(store, bob, "q3")
    store.runs.finish_run(bob, finished, "success", RESULT, 3.0, None)
    time.sleep(0.05)
    listed = swept(store)
    assert [r for r in listed if r in (first, second, in_place, finished)] == [first, second]
    runs = {r.id: r for r in store.runs.pending_queued_runs(0, 1000)}
    assert (runs[first].user_id, runs[second].user_id) == (ana.id, bob.id)
    assert runs[first].status == "pending" and runs[first].inputs == {"start": "2024-01-01"}


def test_a_run_younger_than_the_threshold_is_not_listed(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    young = reserve(store, ana, "young")
    assert young not in swept(store, older_than_s=3600)
    time.sleep(0.05)
    assert young in swept(store, older_than_s=0)


def test_failing_a_lost_run_gives_its_quota_back_and_takes_it_off_the_list(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    lost = reserve(store, ana, "lost")
    assert store.runs.runs_today(ana) == 1  # pending, it holds a place in the day's quota
    store.runs.finish_run(ana, lost, "error", None, None, LOST)
    assert store.runs.runs_today(ana) == 0
    assert lost not in swept(store)
    assert store.runs.get_run(ana, lost).error_message == LOST


def test_a_run_that_finished_meanwhile_is_never_overwritten(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    run_id = reserve(store, ana, "raced")
    time.sleep(0.05)
    assert run_id in swept(store)  # the sweep saw it pending ...
    store.runs.finish_run(ana, run_id, "success", RESULT, 3.0, None)  # ... its worker recorded it ...
    with pytest.raises(NotFoundError):
        store.runs.finish_run(ana, run_id, "error", None, None, LOST)  # ... so failing it changes nothing
    run = store.runs.get_run(ana, run_id)
    assert run.status == "success" and run.outputs == RESULT and run.error_message is None
    assert store.runs.runs_today(ana) == 1


def test_a_users_runs_say_whether_they_were_recorded_for_the_queue(store: Store) -> None:
    """The owner's status reads and submissions may fail as lost only a run recorded for the queue: the run records
    they read carry the mark, so a slow run the app executes in place is told apart from a queued one."""
    ana = store.users.sign_up(email(), "password1")
    queued = reserve(store, ana, "for-the-queue")
    in_place = reserve(store, ana, "in-place", queued=False)
    assert (store.runs.get_run(ana, queued).queued, store.runs.get_run(ana, in_place).queued) == (True, False)
    listed = {r.id: r.queued for r in store.runs.list_runs(ana)}
    assert (listed[queued], listed[in_place]) == (True, False)
    time.sleep(0.05)
    assert all(r.queued for r in store.runs.pending_queued_runs(0, 1000))


# ----------------------------------------------------------------------------- Supabase: attacks with a user's JWT
@pytest.mark.parametrize("who", ["owner", "other", "visitor"])
def test_attack_no_user_or_visitor_can_list_the_queued_runs_or_reserve_one(store: Store, who: str) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    raw(store, ana)  # the sqlite backend has no such door
    run_id = reserve(store, ana, "mine")
    client = store.clients.for_viewer({"owner": ana, "other": bob, "visitor": None}[who])
    model = store.models.get_model("spread-10y-2y", ana)
    refused(client.rpc("pending_queued_runs", {"p_older_than_s": 0, "p_limit": 1000}))
    refused(client.rpc("reserve_queued_run", {"p_user_id": ana.id, "p_model_id": model.id, "p_model_version_id": model.latest.id,
                                              "p_inputs_json": {}, "p_inputs_hash": "forged", "p_stale_after_s": 3600}))
    refused(client.table("model_runs").update({"queued": False}).eq("id", run_id))
    refused(client.table("model_runs").update({"status": "error"}).eq("id", run_id))
    time.sleep(0.05)
    assert run_id in swept(store)  # still pending and queued, as the server left it
    assert store.runs.get_run(ana, run_id).status == "pending"
