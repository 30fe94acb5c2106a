"""Registry, social and publishing, as the app uses them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from contracts.errors import AuthRequired, InputInvalid, NotFoundError, PermissionDenied
from services.facade import Services
from tests.store.conftest import seed_meta

SLUG = "spread-10y-2y"


def test_listing_cache_never_leaks_private_models_between_users(svc: Services) -> None:
    ana, bob = svc.auth.guest(), svc.auth.guest()
    assert [m.slug for m in svc.registry.list_models(bob)] == [SLUG]  # warms bob's cached listing
    svc.models.create(ana, seed_meta(slug="anas-draft"), "private")
    assert "anas-draft" in [m.slug for m in svc.registry.list_models(ana)]
    assert "anas-draft" not in [m.slug for m in svc.registry.list_models(bob)]
    assert "anas-draft" not in [m.slug for m in svc.registry.list_models(None)]


def test_sorts_and_bad_filters(svc: Services) -> None:
    user = svc.auth.guest()
    svc.models.create(user, seed_meta(slug="newer", name="Newer"), "public")
    svc.social.rate(user, "newer", 5)
    svc.runs.run_model(user, SLUG, {})
    assert svc.registry.list_models(user, sort="newest")[0].slug == "newer"
    assert svc.registry.list_models(user, sort="top_rated")[0].slug == "newer"
    assert svc.registry.list_models(user, sort="popular")[0].slug == SLUG
    with pytest.raises(InputInvalid) as bad:
        svc.registry.list_models(user, sort="best", lab_scope="crypto")
    assert set(bad.value.fields) == {"sort", "lab_scope"}


def test_fork_versions_and_visibility(svc: Services) -> None:
    ana, bob = svc.auth.guest(), svc.auth.guest()
    fork = svc.models.fork(bob, SLUG)
    assert fork.visibility == "private" and fork.slug.startswith(SLUG)
    doc = fork.latest.dsl
    v2 = svc.models.add_version(bob, fork.slug, doc, changelog="Same, but mine")
    assert [v.version for v in svc.registry.list_versions(fork.slug, bob)] == [2, 1] and v2.changelog == "Same, but mine"
    with pytest.raises(NotFoundError):
        svc.registry.get_model(fork.slug, ana)
    svc.models.set_visibility(bob, fork.slug, "unlisted")
    assert svc.registry.get_model(fork.slug, ana).visibility == "unlisted"
    with pytest.raises(PermissionDenied, match="fork it"):
        svc.models.add_version(ana, fork.slug, doc)
    with pytest.raises(InputInvalid, match="E_UNKNOWN_OP"):
        svc.models.add_version(bob, fork.slug, doc | {"steps": [{"id": "x", "operation": "rolling_men"}]})


def test_save_and_rate(svc: Services) -> None:
    user = svc.auth.guest()
    with pytest.raises(AuthRequired):
        svc.social.save(None, SLUG)
    svc.social.save(user, SLUG)
    assert svc.social.is_saved(user, SLUG) and [m.slug for m in svc.social.list_saved(user)] == [SLUG]
    with pytest.raises(InputInvalid, match="1 to 5"):
        svc.social.rate(user, SLUG, 6)
    svc.social.rate(user, SLUG, 4, "<script>alert(1)</script>")
    summary = svc.social.ratings(SLUG, user)
    assert summary.mine.review == "<script>alert(1)</script>" and summary.average == 4  # stored as text; the app escapes


def test_parallel_ratings_and_publishes_lose_nothing(svc: Services) -> None:
    users = [svc.auth.guest() for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda pair: svc.social.rate(pair[1], SLUG, 1 + pair[0] % 5), enumerate(users)))
    assert svc.social.ratings(SLUG).count == 8
    author = users[0]
    run_id = svc.runs.run_model(author, SLUG, {"start": "2024-05-01"}).run_id
    with ThreadPoolExecutor(8) as pool:
        slugs = list(pool.map(lambda i: svc.publishing.publish(author, run_id, "Same title").slug, range(12)))
    assert len(set(slugs)) == 12
    assert len(svc.publishing.list_artifacts(author, mine=True)) == 12


def test_published_artifact_renders_without_rerunning_and_counts_views(svc: Services) -> None:
    user = svc.auth.guest()
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-01-01"})
    art = svc.publishing.publish(user, outcome.run_id, "Curve, (2024) 100%", "Flat-ish.", "unlisted")
    assert art.slug.startswith("curve-2024-100-")
    seen = svc.publishing.get_artifact(art.slug)  # anonymous
    assert seen.result().outputs == outcome.result.outputs and seen.views == 1
    assert seen.payload["model"]["slug"] == SLUG and seen.payload["inputs"]["start"] == "2024-01-01"
    assert art.slug not in [a.slug for a in svc.publishing.list_artifacts()]
    with pytest.raises(InputInvalid) as bad:
        svc.publishing.publish(user, outcome.run_id, "", visibility="secret")
    assert set(bad.value.fields) == {"title", "visibility"}
    with pytest.raises(NotFoundError):
        svc.publishing.publish(svc.auth.guest(), outcome.run_id, "Not mine")
    with pytest.raises(NotFoundError, match="check the link"):
        svc.publishing.get_artifact("no-such-thing")


def test_admin_changes_tiers(svc: Services) -> None:
    svc.auth.sign_up("boss@example.com", "password1")
    boss = svc.store.users.set_profile("boss@example.com", role="admin")
    svc.auth.sign_up("cleo@example.com", "password1")
    assert svc.auth.set_tier(boss, "cleo@example.com", "paid").tier == "paid"
    with pytest.raises(PermissionDenied):
        svc.auth.set_tier(svc.auth.guest(), "cleo@example.com", "paid")


# ----------------------------------------------------------------------------- issue 9
def test_views_are_counted_once_per_viewer_per_day(svc: Services) -> None:
    """Reloading an artifact 2,000 times added 2,000 views; now a viewer counts once a day."""
    user = svc.auth.guest()
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-01-01"})
    art = svc.publishing.publish(user, outcome.run_id, "Counted", visibility="public")
    for _ in range(5):
        seen = svc.publishing.get_artifact(art.slug, None, browser_key="browser-a")
    assert seen.views == 1
    assert svc.publishing.get_artifact(art.slug, None, browser_key="browser-b").views == 2
    assert svc.publishing.get_artifact(art.slug, user).views == 3
    assert svc.publishing.get_artifact(art.slug, user).views == 3
    stored = {r[0] for r in svc.store.db.all("SELECT viewer_key FROM artifact_views")}
    assert "browser-a" not in "".join(stored) and f"user:{user.id}" in stored  # a browser session is kept only as a hash


def test_an_unlisted_artifact_cannot_be_found_by_guessing(svc: Services) -> None:
    user = svc.auth.guest()
    outcome = svc.runs.run_model(user, SLUG, {"start": "2024-01-01"})
    art = svc.publishing.publish(user, outcome.run_id, "Quiet", visibility="unlisted")
    random_part = art.slug.removeprefix("quiet-")
    assert len(random_part) * 4 >= 128 and int(random_part, 16) >= 0


def test_a_run_of_a_model_made_private_since_cannot_be_published(svc: Services) -> None:
    ana, bob = svc.auth.guest(), svc.auth.guest()
    svc.models.create(ana, seed_meta(slug="anas-public"), "public")
    outcome = svc.runs.run_model(bob, "anas-public", {"start": "2024-01-01"})
    svc.models.set_visibility(ana, "anas-public", "private")
    with pytest.raises(PermissionDenied, match="no longer shared with you"):
        svc.publishing.publish(bob, outcome.run_id, "Their secret")
    assert svc.publishing.list_artifacts(bob, mine=True) == []
