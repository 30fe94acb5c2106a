"""The Store protocols, specified once per aggregate and run against every available backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.artifact import ArtifactPayload
from contracts.errors import AuthError, ConflictError, InputInvalid, NotFoundError, RateLimitExceeded
from contracts.records import ModelQuery, User
from store.base import AGGREGATES, Store
from tests.store.conftest import seed_meta

RESULT = {"outputs": {"series": [], "tables": [], "metrics": []}, "trace": [], "provenance": [{"provider": "sample"}], "runtime_ms": 3.0}


def email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def successful_run(store: Store, user: User, inputs_hash: str, outputs: dict[str, object] | None = None) -> str:
    model = store.models.get_model("spread-10y-2y", user)
    run_id = store.runs.reserve_run(user, model.id, model.latest.id, {"start": "2024-01-01"}, inputs_hash)
    store.runs.finish_run(user, run_id, "success", outputs or RESULT, 3.0, None)
    return run_id


# ----------------------------------------------------------------------------- the backend
def test_backend_exposes_one_object_per_aggregate(store: Store) -> None:
    assert isinstance(store, Store) and store.kind in ("sqlite", "supabase")
    for name, protocol in AGGREGATES.items():
        assert isinstance(getattr(store, name), protocol), name


# ----------------------------------------------------------------------------- users
def test_sign_up_then_sign_in_with_the_same_password(store: Store) -> None:
    address = email()
    made = store.users.sign_up(address, "correct horse", "Ana")
    again = store.users.sign_in(address.upper(), "correct horse")
    assert again.id == made.id and again.tier == "free" and again.role == "user" and not again.is_guest
    with pytest.raises(AuthError, match="do not match"):
        store.users.sign_in(address, "wrong password")


def test_sign_up_refuses_a_short_password_and_a_taken_email(store: Store) -> None:
    with pytest.raises(InputInvalid) as bad:
        store.users.sign_up("not-an-email", "short")
    assert set(bad.value.fields) == {"email", "password"}
    address = email()
    store.users.sign_up(address, "long enough")
    with pytest.raises(AuthError):
        store.users.sign_up(address, "long enough")


def test_guest_is_a_free_anonymous_account(store: Store) -> None:
    guest = store.users.guest()
    assert guest.is_guest and guest.tier == "free" and guest.email is None


# ----------------------------------------------------------------------------- models
def test_public_seed_is_a_template_listed_and_readable_by_anyone(store: Store) -> None:
    listed = store.models.list_models(None, ModelQuery())
    assert "spread-10y-2y" in [m.slug for m in listed]
    model = store.models.get_model("spread-10y-2y", None)
    assert model is not None and model.latest is not None and model.latest.version == 1
    assert model.is_template and model.owner_id is None and model.difficulty == "basic"
    assert model.latest.runtime == "dsl" and model.latest.code_bundle is None and model.latest.dependencies == ()
    assert model.latest.dsl["steps"][0]["operation"] == "fetch_series"


def test_private_and_unlisted_models_are_not_listed_to_others(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    private = f"private-{uuid.uuid4().hex[:6]}"
    unlisted = f"unlisted-{uuid.uuid4().hex[:6]}"
    made = store.models.create_model(ana, seed_meta(slug=private), "private")
    assert made.owner_id == ana.id and not made.is_template
    store.models.create_model(ana, seed_meta(slug=unlisted), "unlisted")
    bob_sees = {m.slug for m in store.models.list_models(bob, ModelQuery(limit=200))}
    ana_sees = {m.slug for m in store.models.list_models(ana, ModelQuery(limit=200))}
    assert private not in bob_sees and unlisted not in bob_sees
    assert {private, unlisted} <= ana_sees
    assert store.models.get_model(private, bob) is None
    assert store.models.get_model(unlisted, bob) is not None  # readable by link
    assert store.models.get_model(unlisted, None) is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ModelQuery(lab_scope="econ"), True),
        (ModelQuery(lab_scope="derivatives"), False),
        (ModelQuery(tags=("rates",)), True),
        (ModelQuery(tags=("rates", "options")), False),
        (ModelQuery(difficulty="basic"), True),
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
    assert ("spread-10y-2y" in {m.slug for m in store.models.list_models(None, query)}) is expected


def test_versions_fork_and_drafts(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    slug = f"mine-{uuid.uuid4().hex[:6]}"
    model = store.models.create_model(ana, seed_meta(slug=slug), "public")
    v2 = store.models.add_version(ana, model.id, model.latest.dsl, model.latest.input_schema, {}, "Draft idea", status="draft")
    assert v2.version == 2 and v2.status == "draft"
    assert [v.version for v in store.models.list_versions(slug, ana)] == [2, 1]
    assert [v.version for v in store.models.list_versions(slug, bob)] == [1]  # drafts stay with the author
    fork = store.models.fork_model(bob, slug, f"fork-{uuid.uuid4().hex[:6]}", None)
    assert fork.forked_from_id == model.id and fork.visibility == "private" and fork.owner_id == bob.id and not fork.is_template
    assert fork.latest.changelog.startswith(f"Forked from {slug}")
    with pytest.raises(ConflictError):
        store.models.fork_model(bob, slug, fork.slug, None)


def test_a_seed_loaded_twice_is_not_duplicated(store: Store) -> None:
    assert store.models.load_seeds([seed_meta()]) == 0


# ----------------------------------------------------------------------------- runs
def test_run_lifecycle_and_usage(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    model = store.models.get_model("spread-10y-2y", ana)
    run_id = store.runs.reserve_run(ana, model.id, model.latest.id, {"start": "2024-01-01"}, "h1")
    pending = store.runs.get_run(ana, run_id)
    assert pending.status == "pending" and pending.model_version_id == model.latest.id and pending.inputs == {"start": "2024-01-01"}
    store.runs.finish_run(ana, run_id, "success", {"outputs": {}, "trace": []}, 12.5, None)
    run = store.runs.get_run(ana, run_id)
    assert run.status == "success" and run.runtime_ms == 12.5 and not run.cached and run.outputs == {"outputs": {}, "trace": []}
    second = store.runs.reserve_run(ana, model.id, model.latest.id, {}, "h2")
    store.runs.finish_run(ana, second, "error", None, None, "Step 'x' failed")
    assert store.runs.get_run(ana, second).error_message == "Step 'x' failed"
    usage = store.runs.usage(model.id, datetime.now(UTC) - timedelta(days=1))
    assert usage[-1]["runs"] == 2 and usage[-1]["unique_users"] == 1 and usage[-1]["date"] == datetime.now(UTC).date().isoformat()


def test_a_cache_hit_references_the_run_it_reuses(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    model = store.models.get_model("spread-10y-2y", ana)
    source = successful_run(store, ana, "c1")
    hit = store.runs.find_cached_run(ana, model.latest.id, "c1")
    assert hit is not None and hit[0] == source and hit[1] == RESULT
    cached_id = store.runs.log_cached_run(ana, source, "c1")
    cached = store.runs.get_run(ana, cached_id)
    assert cached.cached and cached.cached_from_run_id == source and cached.outputs == RESULT and cached.status == "success"
    assert {r.id: r.outputs for r in store.runs.list_runs(ana)}[cached_id] == RESULT
    again = store.runs.log_cached_run(ana, cached_id, "c1")  # a hit of a hit points at the original
    assert store.runs.get_run(ana, again).cached_from_run_id == source
    assert store.runs.runs_today(ana) == 1  # cache hits are logged but not counted
    assert store.runs.find_cached_run(ana, model.latest.id, "c1")[0] == source  # hits are never served as sources


def test_minute_limit_per_model(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    model = store.models.get_model("spread-10y-2y", ana)
    for i in range(3):
        store.runs.reserve_run(ana, model.id, model.latest.id, {}, f"m{i}")
    with pytest.raises(RateLimitExceeded) as refused:
        store.runs.reserve_run(ana, model.id, model.latest.id, {}, "m4")
    assert refused.value.kind == "minute" and "3 times a minute" in str(refused.value)


def test_runs_are_private_to_their_user(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    model = store.models.get_model("spread-10y-2y", ana)
    run_id = store.runs.reserve_run(ana, model.id, model.latest.id, {}, "p1")
    assert store.runs.get_run(bob, run_id) is None
    assert store.runs.list_runs(bob) == []
    with pytest.raises(NotFoundError):
        store.runs.finish_run(bob, run_id, "success", {}, 1.0, None)


# ----------------------------------------------------------------------------- artifacts
def test_publish_unlisted_artifact_readable_by_slug_not_listed(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    run_id = successful_run(store, ana, "a1")
    prefix = f"art-{uuid.uuid4().hex[:8]}"
    art = store.artifacts.publish(ana, run_id, prefix, "Title", "Summary", "unlisted")
    assert art.owner_id == ana.id and art.model_run_id == run_id and art.views == 0 and art.type == "model_run"
    content = ArtifactPayload.from_json(art.payload)
    assert content.model.slug == "spread-10y-2y" and content.model.difficulty == "basic" and content.version.version == 1
    assert content.inputs == {"start": "2024-01-01"} and content.result["provenance"] == [{"provider": "sample"}]
    assert art.slug not in {a.slug for a in store.artifacts.list_artifacts(None, False)}
    assert art.slug in {a.slug for a in store.artifacts.list_artifacts(ana, True)}
    found = store.artifacts.get_artifact(art.slug, None)
    assert found.title == "Title" and found.id == art.id
    assert store.artifacts.get_artifact(prefix, None) is None  # the title part alone opens nothing
    public = store.artifacts.publish(ana, run_id, prefix, "Listed", "", "public")
    assert public.slug == prefix  # a public artifact keeps the address it was given (the services add 24 random bits)
    with pytest.raises(ConflictError):
        store.artifacts.publish(ana, run_id, prefix, "Again", "", "public")


def test_publishing_a_cache_hit_freezes_the_outputs_it_reuses(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    source = successful_run(store, ana, "a2")
    hit = store.runs.log_cached_run(bob, source, "a2")
    art = store.artifacts.publish(bob, hit, f"hit-{uuid.uuid4().hex[:8]}", "From the cache", "", "public")
    assert art.payload["result"] == RESULT and art.payload["run"]["cached"] is True and art.model_run_id == hit


def test_a_pending_or_failed_run_cannot_be_published(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    model = store.models.get_model("spread-10y-2y", ana)
    pending = store.runs.reserve_run(ana, model.id, model.latest.id, {}, "a3")
    with pytest.raises(InputInvalid):
        store.artifacts.publish(ana, pending, f"no-{uuid.uuid4().hex[:8]}", "Nope", "", "public")


# ----------------------------------------------------------------------------- social
def test_saves_and_one_rating_per_user(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    model = store.models.get_model("spread-10y-2y", ana)
    store.social.save(ana, model.id)
    store.social.save(ana, model.id)
    assert model.id in store.social.saved_ids(ana)
    assert [m.slug for m in store.models.list_models(ana, ModelQuery(saved_only=True))] == ["spread-10y-2y"]
    store.social.rate(ana, model.id, 2, "meh")
    store.social.rate(ana, model.id, 5, "Great, (really) 100%_")
    summary = store.social.ratings(model.id, None)
    mine = [r for r in summary.reviews if r.user_id == ana.id]
    assert len(mine) == 1 and mine[0].rating == 5 and mine[0].review == "Great, (really) 100%_"
    assert store.social.ratings(model.id, ana).mine.rating == 5
    store.social.unsave(ana, model.id)
    assert model.id not in store.social.saved_ids(ana)
