"""The run flow on the Supabase backend, end to end: the real supabase-py client against the loopback
PostgREST and GoTrue over the real migrations (tests/store/postgrest_gotrue.py).

Runs are recorded by the server with the service-role key on the user's behalf (issue 9); without
that key, running is refused with one sentence saying what the deployment needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import services
from contracts.errors import RateLimitExceeded, StoreUnavailable
from contracts.rules import GUEST_DAILY_RUNS
from engine.data import DataAccess
from services.config import Settings
from services.facade import Services
from store.supabase import SupabaseStore
from tests.store.conftest import seed_meta

pytestmark = pytest.mark.services
SLUG = "spread-10y-2y"


def build(loopback, tmp_path: Path, sample: DataAccess, *, server_key: bool) -> Services:  # type: ignore[no-untyped-def]
    store = SupabaseStore(loopback.url, loopback.anon_key, service_role_key=loopback.service_role_key if server_key else None,
                          auto_refresh_token=False)
    if server_key:
        store.models.load_seeds([seed_meta()])
    settings = Settings(db_path=str(tmp_path / "unused.db"), supabase_url=loopback.url, supabase_anon_key=loopback.anon_key)
    return services.build(settings, store=store, data=sample, load_seeds=False)


def test_a_run_is_recorded_by_the_server_for_the_user(supabase_loopback, tmp_path: Path, sample: DataAccess) -> None:  # type: ignore[no-untyped-def]
    svc = build(supabase_loopback, tmp_path, sample, server_key=True)
    ana = svc.auth.sign_up("ana-runs@example.com", "password1")
    outcome = svc.runs.run_model(ana, SLUG, {"start": "2024-01-01"})
    run = svc.runs.get_run(ana, outcome.run_id)  # read back with Ana's own JWT
    assert run.status == "success" and run.outputs == outcome.result.to_json() and run.model_slug == SLUG
    bob = svc.auth.guest()
    hit = svc.runs.run_model(bob, SLUG, {"start": "2024-01-01", "end": "2024-12-31"})
    assert hit.cached and svc.runs.get_run(bob, hit.run_id).inputs == run.inputs
    assert svc.runs.remaining_today(ana) == 9 and svc.runs.remaining_today(bob) == GUEST_DAILY_RUNS  # a guest's smaller quota
    for _ in range(2):
        svc.runs.run_model(bob, SLUG, {"start": "2024-01-01"})
    with pytest.raises(RateLimitExceeded, match="at most 3 times a minute"):  # cache hits count per minute
        svc.runs.run_model(bob, SLUG, {"start": "2024-01-01"})
    art = svc.publishing.publish(ana, outcome.run_id, "Spread", visibility="unlisted")
    assert len(art.slug.rsplit("-", 1)[1]) == 32
    for _ in range(3):
        seen = svc.publishing.get_artifact(art.slug, None, browser_key="tab-1")
    assert seen.views == 1


def test_without_the_server_key_running_is_refused_with_what_the_deployment_needs(supabase_loopback, tmp_path: Path, sample: DataAccess) -> None:  # type: ignore[no-untyped-def]
    build(supabase_loopback, tmp_path, sample, server_key=True)  # the templates, loaded by an operator
    svc = build(supabase_loopback, tmp_path, sample, server_key=False)
    user = svc.auth.guest()
    assert svc.registry.get_model(SLUG, user).latest is not None  # browsing works with the anon key alone
    with pytest.raises(StoreUnavailable, match="needs the server-side key: set SUPABASE_SERVICE_ROLE_KEY") as refused:
        svc.runs.run_model(user, SLUG, {"start": "2023-03-01"})
    assert "never in a browser" in str(refused.value)
    assert svc.runs.list_runs(user) == []
