"""The rules both backends follow, decided once (issue 16) and the walls of issue 9, run against every
available backend through the same ``store`` fixture as tests/store/test_conformance.py (sqlite,
Supabase through the real supabase-py client against the loopback PostgREST/GoTrue over the real
migrations, and a live project when its keys are given)."""

from __future__ import annotations

import re
import uuid

import pytest

from contracts.errors import ConflictError, InputInvalid, PermissionDenied, RateLimitExceeded
from contracts.records import Model, ModelQuery, User
from contracts.rules import UNLISTED_SLUG_RANDOM_BITS
from store.base import Store
from store.common import STALE_RUN_MESSAGE
from tests.store.conftest import seed_meta
from tests.store.test_conformance import RESULT, email, successful_run


def tag() -> str:
    return uuid.uuid4().hex[:8]


def authored(store: Store, owner: User, visibility: str, prefix: str = "m") -> Model:
    return store.models.create_model(owner, seed_meta(slug=f"{prefix}-{tag()}"), visibility)


def run_of(store: Store, user: User, model: Model, inputs_hash: str, status: str = "success") -> str:
    run_id = store.runs.reserve_run(user, model.id, model.latest.id, {"start": "2024-01-01"}, inputs_hash)
    store.runs.finish_run(user, run_id, status, RESULT if status == "success" else None, 2.0, None if status == "success" else "no data")
    return run_id


# ----------------------------------------------------------------------------- issue 16: one rule each
def test_an_unlisted_model_readable_by_link_can_be_saved_and_rated_by_another_user(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    model = authored(store, ana, "unlisted")
    store.social.save(bob, model.id)
    assert model.id in store.social.saved_ids(bob)
    rating = store.social.rate(bob, model.id, 4, "Useful, (really)")
    assert (rating.user_id, rating.rating) == (bob.id, 4)


def test_ratings_of_an_unlisted_model_are_seen_by_whoever_has_the_link_and_never_listed(store: Store) -> None:
    ana, bob, cleo = (store.users.sign_up(email(), "password1") for _ in range(3))
    model = authored(store, ana, "unlisted")
    store.social.rate(bob, model.id, 5, "Great")
    for viewer in (cleo, None, ana, bob):
        summary = store.social.ratings(model.id, viewer)
        assert (summary.count, summary.average) == (1, 5.0), viewer
    assert model.slug not in {m.slug for m in store.models.list_models(cleo, ModelQuery(limit=200))}


@pytest.mark.parametrize("visibility", ["public", "unlisted", "private"])
def test_add_version_by_a_non_author_is_permission_denied(store: Store, visibility: str) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    model = authored(store, ana, visibility)
    with pytest.raises(PermissionDenied, match="Only the author can change this model"):
        store.models.add_version(bob, model.id, model.latest.dsl, model.latest.input_schema, {}, "Mine now")
    assert [v.version for v in store.models.list_versions(model.slug, ana)] == [1]


def test_runs_of_another_authors_unlisted_model_keep_their_model_slug(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    model = authored(store, ana, "unlisted")
    run_id = run_of(store, bob, model, "u1")
    assert store.runs.get_run(bob, run_id).model_slug == model.slug
    assert [r.model_slug for r in store.runs.list_runs(bob)] == [model.slug]


# ----------------------------------------------------------------------------- issue 9: limits
def test_failed_runs_do_not_use_the_daily_quota_but_count_per_minute(store: Store) -> None:
    bob = store.users.sign_up(email(), "password1")
    models = [authored(store, bob, "private") for _ in range(5)]
    for model in models[:4]:  # 12 failures, more than the 10 free runs of a day
        for i in range(3):
            run_of(store, bob, model, f"f{i}", status="error")
        with pytest.raises(RateLimitExceeded) as refused:  # failures still count per minute
            store.runs.reserve_run(bob, model.id, model.latest.id, {}, "f4")
        assert refused.value.kind == "minute"
    assert store.runs.runs_today(bob) == 0
    store.runs.reserve_run(bob, models[4].id, models[4].latest.id, {}, "after-failures")
    assert store.runs.runs_today(bob) == 1


def test_cache_hits_count_against_the_per_minute_limit(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    source = successful_run(store, ana, "hits")
    for _ in range(3):
        store.runs.log_cached_run(bob, source, "hits")
    with pytest.raises(RateLimitExceeded) as refused:
        store.runs.log_cached_run(bob, source, "hits")
    assert refused.value.kind == "minute"
    model = store.models.get_model("spread-10y-2y", bob)
    with pytest.raises(RateLimitExceeded):  # and a fresh run of the model within the same minute
        store.runs.reserve_run(bob, model.id, model.latest.id, {}, "fresh")
    assert store.runs.runs_today(bob) == 0  # hits never use the daily quota


def test_a_cache_hit_takes_the_canonical_inputs_of_the_run_it_reuses(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    source = successful_run(store, ana, "canon")
    with pytest.raises(InputInvalid, match="other inputs"):
        store.runs.log_cached_run(bob, source, "another-key")
    hit = store.runs.get_run(bob, store.runs.log_cached_run(bob, source, "canon"))
    assert hit.inputs == {"start": "2024-01-01"} and hit.outputs == RESULT and hit.cached_from_run_id == source


def test_a_run_left_pending_past_the_run_budget_is_failed_and_stops_counting(store: Store) -> None:
    bob = store.users.sign_up(email(), "password1")
    model = store.models.get_model("spread-10y-2y", bob)
    lost = store.runs.reserve_run(bob, model.id, model.latest.id, {}, "lost")  # its recording never came
    assert store.runs.runs_today(bob) == 1
    store.runs.reserve_run(bob, model.id, model.latest.id, {}, "next", stale_after_s=0)
    swept = store.runs.get_run(bob, lost)
    assert swept.status == "error" and swept.error_message == STALE_RUN_MESSAGE
    assert store.runs.runs_today(bob) == 1  # the new reservation only
    fresh = store.runs.reserve_run(bob, model.id, model.latest.id, {}, "third")  # a budget not yet passed sweeps nothing
    assert store.runs.get_run(bob, fresh).status == "pending"


# ----------------------------------------------------------------------------- issue 9: artifacts
def test_views_are_counted_once_per_viewer_per_day(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    art = store.artifacts.publish(ana, successful_run(store, ana, "views"), f"views-{tag()}", "Views", "", "public")
    assert store.artifacts.count_view(art.id, f"user:{ana.id}") == 1
    assert store.artifacts.count_view(art.id, f"user:{ana.id}") == 1
    assert store.artifacts.count_view(art.id, "visitor:" + "ab" * 20) == 2
    assert store.artifacts.get_artifact(art.slug, None).views == 2
    assert store.artifacts.count_view(str(uuid.uuid4()), "visitor:x") == 0


def test_unlisted_addresses_carry_128_random_bits(store: Store) -> None:
    ana = store.users.sign_up(email(), "password1")
    run_id = successful_run(store, ana, "bits")
    prefix = f"note-{tag()}"
    slugs = {store.artifacts.publish(ana, run_id, prefix, "Note", "", "unlisted").slug for _ in range(2)}
    assert len(slugs) == 2
    for slug in slugs:
        match = re.fullmatch(re.escape(prefix) + r"-([0-9a-f]+)", slug)
        assert match and len(match.group(1)) * 4 >= UNLISTED_SLUG_RANDOM_BITS, slug


def test_a_run_of_a_model_no_longer_shared_with_the_publisher_is_not_published(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "password1"), store.users.sign_up(email(), "password1")
    model = authored(store, ana, "public")
    run_id = run_of(store, bob, model, "then")
    store.models.set_visibility(ana, model.id, "private")
    with pytest.raises(PermissionDenied, match="no longer shared"):
        store.artifacts.publish(bob, run_id, f"leak-{tag()}", "Leak", "", "public")
    assert store.artifacts.list_artifacts(bob, True) == []
    store.artifacts.publish(ana, run_of(store, ana, model, "own"), f"own-{tag()}", "Mine", "", "public")  # the owner still may


def test_template_slugs_are_reserved_before_and_after_loading(store: Store) -> None:
    bob = store.users.sign_up(email(), "password1")
    for reserved in ("yield-curve-10y-2y", "spread-10y-2y"):  # a template of this release not loaded here, and a loaded one
        with pytest.raises(ConflictError):
            store.models.create_model(bob, seed_meta(slug=reserved), "public")
        with pytest.raises(ConflictError):
            store.models.fork_model(bob, "spread-10y-2y", reserved, None)


def test_a_template_loaded_later_moves_a_squatter_aside(store: Store) -> None:
    bob = store.users.sign_up(email(), "password1")
    slug = f"future-template-{tag()}"
    squatter = store.models.create_model(bob, seed_meta(slug=slug, name="Squatter"), "public")
    assert store.models.load_seeds([seed_meta(slug=slug)]) == 1
    template = store.models.get_model(slug, None)
    assert template.is_template and template.owner_id is None
    moved = [m for m in store.models.list_models(bob, ModelQuery(only_mine=True, limit=200)) if m.id == squatter.id]
    assert moved and moved[0].slug.startswith(f"{slug}-") and moved[0].owner_id == bob.id
    with pytest.raises(ConflictError):
        store.models.create_model(bob, seed_meta(slug=slug), "public")
