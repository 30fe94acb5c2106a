"""The Store protocol, specified once and run against every available backend."""

from __future__ import annotations

import uuid

import pytest

from contracts.errors import AuthError, ConflictError, InputInvalid, NotFoundError, RateLimitExceeded
from contracts.records import ModelQuery
from store.base import Store
from tests.store.conftest import seed_meta


def email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def test_backend_satisfies_the_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_sign_up_then_sign_in_with_the_same_password(store: Store) -> None:
    address = email()
    made = store.sign_up(address, "correct horse", "Ana")
    again = store.sign_in(address.upper(), "correct horse")
    assert again.id == made.id and again.tier == "free" and again.role == "user" and not again.is_guest
    with pytest.raises(AuthError, match="do not match"):
        store.sign_in(address, "wrong password")


def test_sign_up_refuses_a_short_password_and_a_taken_email(store: Store) -> None:
    with pytest.raises(InputInvalid) as bad:
        store.sign_up("not-an-email", "short")
    assert set(bad.value.fields) == {"email", "password"}
    address = email()
    store.sign_up(address, "long enough")
    with pytest.raises(AuthError):
        store.sign_up(address, "long enough")


def test_guest_is_a_free_anonymous_account(store: Store) -> None:
    guest = store.guest()
    assert guest.is_guest and guest.tier == "free" and guest.email is None


def test_public_seed_is_listed_and_readable_by_anyone(store: Store) -> None:
    listed = store.list_models(None, ModelQuery())
    assert "spread-10y-2y" in [m.slug for m in listed]
    model = store.get_model("spread-10y-2y", None)
    assert model is not None and model.latest is not None and model.latest.version == 1
    assert model.latest.dsl["steps"][0]["operation"] == "fetch_series"


def test_private_and_unlisted_models_are_not_listed_to_others(store: Store) -> None:
    ana, bob = store.sign_up(email(), "password1"), store.sign_up(email(), "password1")
    private = f"private-{uuid.uuid4().hex[:6]}"
    unlisted = f"unlisted-{uuid.uuid4().hex[:6]}"
    store.create_model(ana, seed_meta(slug=private), "private")
    store.create_model(ana, seed_meta(slug=unlisted), "unlisted")
    bob_sees = {m.slug for m in store.list_models(bob, ModelQuery(limit=200))}
    ana_sees = {m.slug for m in store.list_models(ana, ModelQuery(limit=200))}
    assert private not in bob_sees and unlisted not in bob_sees
    assert {private, unlisted} <= ana_sees
    assert store.get_model(private, bob) is None
    assert store.get_model(unlisted, bob) is not None  # readable by link
    assert store.get_model(unlisted, None) is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ModelQuery(lab_scope="econ"), True),
        (ModelQuery(lab_scope="derivatives"), False),
        (ModelQuery(tags=("rates",)), True),
        (ModelQuery(tags=("rates", "options")), False),
        (ModelQuery(difficulty="advanced"), False),
        (ModelQuery(text="SPREAD"), True),
        (ModelQuery(text="commas,"), True),
        (ModelQuery(text="100%"), True),
        (ModelQuery(text="1_0%"), False),  # _ and % are literal, not wildcards
        (ModelQuery(text="(percent,"), True),
        (ModelQuery(text="yield-curve"), True),
    ],
)
def test_filters_and_search(store: Store, query: ModelQuery, expected: bool) -> None:
    assert ("spread-10y-2y" in {m.slug for m in store.list_models(None, query)}) is expected


def test_versions_fork_and_drafts(store: Store) -> None:
    ana, bob = store.sign_up(email(), "password1"), store.sign_up(email(), "password1")
    slug = f"mine-{uuid.uuid4().hex[:6]}"
    model = store.create_model(ana, seed_meta(slug=slug), "public")
    v2 = store.add_version(ana, model.id, model.latest.dsl, model.latest.input_schema, {}, "Draft idea", status="draft")
    assert v2.version == 2 and v2.status == "draft"
    assert [v.version for v in store.list_versions(slug, ana)] == [2, 1]
    assert [v.version for v in store.list_versions(slug, bob)] == [1]  # drafts stay with the author
    fork = store.fork_model(bob, slug, f"fork-{uuid.uuid4().hex[:6]}", None)
    assert fork.forked_from_id == model.id and fork.visibility == "private" and fork.author_id == bob.id
    assert fork.latest.changelog.startswith(f"Forked from {slug}")
    with pytest.raises(ConflictError):
        store.fork_model(bob, slug, fork.slug, None)


def test_run_lifecycle_usage_and_cache(store: Store) -> None:
    ana = store.sign_up(email(), "password1")
    model = store.get_model("spread-10y-2y", ana)
    run_id = store.reserve_run(ana, model.id, model.latest.id, {"start": "2024-01-01"}, "h1")
    assert store.get_run(ana, run_id).status == "pending"
    store.finish_run(ana, run_id, "success", {"outputs": {}, "trace": []}, 12.5, None)
    run = store.get_run(ana, run_id)
    assert run.status == "success" and run.runtime_ms == 12.5 and not run.cached
    hit = store.find_cached_run(ana, model.latest.id, "h1")
    assert hit is not None and hit[0] == run_id
    cached_id = store.log_cached_run(ana, run_id, {"start": "2024-01-01"})
    assert store.get_run(ana, cached_id).cached
    assert store.runs_today(ana) == 1  # the cache hit is logged but not counted
    second = store.reserve_run(ana, model.id, model.latest.id, {}, "h2")
    store.finish_run(ana, second, "error", None, None, "Step 'x' failed")
    assert store.get_run(ana, second).error == "Step 'x' failed"
    from datetime import UTC, datetime, timedelta

    usage = store.usage(model.id, datetime.now(UTC) - timedelta(days=1))
    assert usage[-1]["runs"] == 2 and usage[-1]["unique_users"] == 1


def test_minute_limit_per_model(store: Store) -> None:
    ana = store.sign_up(email(), "password1")
    model = store.get_model("spread-10y-2y", ana)
    for i in range(3):
        store.reserve_run(ana, model.id, model.latest.id, {}, f"m{i}")
    with pytest.raises(RateLimitExceeded) as refused:
        store.reserve_run(ana, model.id, model.latest.id, {}, "m4")
    assert refused.value.kind == "minute" and "3 times a minute" in str(refused.value)


def test_runs_are_private_to_their_user(store: Store) -> None:
    ana, bob = store.sign_up(email(), "password1"), store.sign_up(email(), "password1")
    model = store.get_model("spread-10y-2y", ana)
    run_id = store.reserve_run(ana, model.id, model.latest.id, {}, "p1")
    assert store.get_run(bob, run_id) is None
    assert store.list_runs(bob) == []
    with pytest.raises(NotFoundError):
        store.finish_run(bob, run_id, "success", {}, 1.0, None)


def test_saves_and_one_rating_per_user(store: Store) -> None:
    ana = store.sign_up(email(), "password1")
    model = store.get_model("spread-10y-2y", ana)
    store.save(ana, model.id)
    store.save(ana, model.id)
    assert model.id in store.saved_ids(ana)
    store.rate(ana, model.id, 2, "meh")
    store.rate(ana, model.id, 5, "Great, (really) 100%_")
    summary = store.ratings(model.id, None)
    mine = [r for r in summary.reviews if r.user_id == ana.id]
    assert len(mine) == 1 and mine[0].rating == 5 and mine[0].review == "Great, (really) 100%_"
    store.unsave(ana, model.id)
    assert model.id not in store.saved_ids(ana)


def test_publish_unlisted_artifact_readable_by_slug_not_listed(store: Store) -> None:
    ana = store.sign_up(email(), "password1")
    model = store.get_model("spread-10y-2y", ana)
    run_id = store.reserve_run(ana, model.id, model.latest.id, {"start": "2024-01-01"}, "a1")
    result = {"outputs": {"series": [], "tables": [], "metrics": []}, "trace": [], "provenance": [{"provider": "sample"}], "runtime_ms": 3.0}
    store.finish_run(ana, run_id, "success", result, 3.0, None)
    slug = f"art-{uuid.uuid4().hex[:8]}"
    art = store.publish(ana, run_id, slug, "Title", "Summary", "unlisted")
    assert art.payload["model"]["slug"] == "spread-10y-2y" and art.payload["version"]["version"] == 1
    assert art.payload["inputs"] == {"start": "2024-01-01"} and art.payload["result"]["provenance"] == [{"provider": "sample"}]
    assert slug not in {a.slug for a in store.list_artifacts(None, False)}
    assert store.get_artifact(slug, None).title == "Title"
    assert store.count_view(slug) == 1 and store.count_view(slug) == 2
    with pytest.raises(ConflictError):
        store.publish(ana, run_id, slug, "Again", "", "public")
