"""The Supabase backend's HTTP requests, intercepted at the httpx transport (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from contracts.errors import AuthRequired, PermissionDenied, RateLimitExceeded, SessionExpired, StoreUnavailable
from contracts.records import ModelQuery
from store.supabase import SupabaseStore, postgrest_like

URL = "http://127.0.0.1:54321"
ANON = "anon-key"
SERVICE = "service-role-key"


def fake_user(uid: str) -> dict[str, object]:
    return {"id": uid, "aud": "authenticated", "role": "authenticated", "email": f"{uid}@example.com", "app_metadata": {}, "user_metadata": {}, "created_at": "2025-01-01T00:00:00Z"}


class FakeSupabase:
    """Answers auth and PostgREST calls; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status_for_listing = 200
        self.answers: dict[str, object] = {}  # path -> JSON body answered with 200
        self.errors: dict[str, tuple[int, dict[str, object]]] = {}  # path -> (status, PostgREST error body)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/auth/v1/token":
            body = json.loads(request.content)
            uid = body["email"].split("@")[0]
            return httpx.Response(200, json={"access_token": f"jwt-{uid}", "refresh_token": "r", "expires_in": 3600, "expires_at": 4102444800, "token_type": "bearer", "user": fake_user(uid)})
        if path == "/rest/v1/profiles":
            uid = dict(parse_qsl(request.url.query.decode()))["id"].removeprefix("eq.")
            return httpx.Response(200, json=[{"id": uid, "email": f"{uid}@example.com", "display_name": uid, "tier": "free", "role": "user", "is_guest": False}])
        if path in self.errors:
            status, error = self.errors[path]
            return httpx.Response(status, json=error)
        if path == "/rest/v1/model_listing":
            return httpx.Response(self.status_for_listing, json=[] if self.status_for_listing == 200 else {"message": "unavailable"})
        if path in self.answers:
            return httpx.Response(200, json=self.answers[path])
        if path == "/rest/v1/rpc/reserve_run":
            return httpx.Response(400, json={"code": "P0001", "message": "AUSTER:rate_limit_daily:10:free", "details": None, "hint": None})
        return httpx.Response(404, json={"message": "not faked"})

    def factory(self) -> Callable[[], httpx.Client]:
        return lambda: httpx.Client(transport=httpx.MockTransport(self.handler))


@pytest.fixture
def fake() -> FakeSupabase:
    return FakeSupabase()


@pytest.fixture
def backend(fake: FakeSupabase) -> SupabaseStore:
    return SupabaseStore(URL, ANON, service_role_key=SERVICE, http_client_factory=fake.factory(), auto_refresh_token=False)


def listing_params(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True)


def test_each_session_has_its_own_client_carrying_its_own_jwt(fake: FakeSupabase, backend: SupabaseStore) -> None:
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    bob = backend.users.sign_in("bob@example.com", "pw-bob-123")
    assert ana.session is not bob.session
    backend.models.list_models(ana, ModelQuery())
    backend.models.list_models(bob, ModelQuery())
    backend.models.list_models(None, ModelQuery())
    auths = [r.headers["authorization"] for r in fake.requests if r.url.path == "/rest/v1/model_listing"]
    assert auths == ["Bearer jwt-ana", "Bearer jwt-bob", f"Bearer {ANON}"]
    assert all(r.headers["apikey"] == ANON for r in fake.requests)


def test_search_text_with_commas_parentheses_percent_and_underscore_is_escaped(fake: FakeSupabase, backend: SupabaseStore) -> None:
    backend.models.list_models(None, ModelQuery(text="a,b(c) 10%_x", lab_scope="econ", tags=("rates",), sort="top_rated", limit=5))
    params = listing_params(fake.requests[-1])
    ors = [v for k, v in params if k == "or"]
    assert ors == [
        '(name.ilike."*a,b(c)*",description.ilike."*a,b(c)*",slug.ilike."*a,b(c)*")',
        '(name.ilike."*10\\\\%\\\\_x*",description.ilike."*10\\\\%\\\\_x*",slug.ilike."*10\\\\%\\\\_x*")',
    ]
    assert ("lab_scope", "in.(econ,both)") in params
    assert ("tags", "cs.{rates}") in params
    assert ("order", "rating_avg.desc.nullslast,rating_count.desc.nullslast,created_at.desc.nullslast") in params
    assert ("limit", "5") in params


def test_a_plain_word_also_matches_a_tag(fake: FakeSupabase, backend: SupabaseStore) -> None:
    backend.models.list_models(None, ModelQuery(text="Rates"))
    (value,) = [v for k, v in listing_params(fake.requests[-1]) if k == "or"]
    assert value.endswith(",tags.cs.{rates})")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("spread", '"*spread*"'), ('say "hi"', '"*say \\"hi\\"*"'), ("a*b", '"*a_b*"'), ("back\\slash", '"*back\\\\\\\\slash*"')],
)
def test_like_patterns(text: str, pattern: str) -> None:
    assert postgrest_like(text) == pattern


def test_a_failing_get_is_not_retried_silently(fake: FakeSupabase, backend: SupabaseStore) -> None:
    fake.status_for_listing = 503
    with pytest.raises(StoreUnavailable):
        backend.models.list_models(None, ModelQuery())
    assert sum(r.url.path == "/rest/v1/model_listing" for r in fake.requests) == 1


def test_rate_limit_from_the_database_becomes_a_sentence(fake: FakeSupabase, backend: SupabaseStore) -> None:
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    with pytest.raises(RateLimitExceeded, match="You have used your 10 free runs today; they reset at 00:00 UTC"):
        backend.runs.reserve_run(ana, "m", "v", {}, "h")
    call = fake.requests[-1]
    assert call.method == "POST" and call.headers["authorization"] == f"Bearer {SERVICE}"  # recorded by the server, for Ana
    assert json.loads(call.content) == {"p_user_id": "ana", "p_model_id": "m", "p_model_version_id": "v", "p_inputs_json": {}, "p_inputs_hash": "h",
                                        "p_stale_after_s": 3600.0}


RUN_ROW = {
    "id": "r2", "model_id": "m", "model_version_id": "v", "user_id": "ana", "inputs_json": {"start": "2024-01-01"}, "inputs_hash": "h",
    "outputs_json": {"outputs": {}}, "runtime_ms": 4.0, "status": "success", "error_message": None, "cached": True,
    "cached_from_run_id": "r1", "created_at": "2025-01-01T00:00:00+00:00", "finished_at": "2025-01-01T00:00:00+00:00", "model_slug": "spread",
}
ARTIFACT_ROW = {
    "id": "a", "slug": "curve-abc", "type": "model_run", "model_run_id": "r2", "model_id": "m", "version_id": "v", "owner_id": "ana",
    "title": "Curve", "summary": "", "visibility": "public", "views": 3, "payload": {"result": {}}, "created_at": "2025-01-01T00:00:00+00:00",
}


def body(request: httpx.Request) -> object:
    return json.loads(request.content)


def test_run_functions_are_called_with_the_seeds_argument_names(fake: FakeSupabase, backend: SupabaseStore) -> None:
    fake.answers = {
        "/rest/v1/rpc/finish_run": None,
        "/rest/v1/rpc/find_cached_run": [{"run_id": "r1", "outputs_json": {"outputs": {}}}],
        "/rest/v1/rpc/log_cached_run": "r2",
        "/rest/v1/rpc/my_runs": [RUN_ROW],
    }
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    backend.runs.finish_run(ana, "r1", "error", None, None, "Step 'x' failed", error_code="E_NO_DATA", error_operation="fetch_series")
    assert body(fake.requests[-1]) == {"p_user_id": "ana", "p_run_id": "r1", "p_status": "error", "p_outputs_json": None, "p_runtime_ms": None,
                                       "p_error_message": "Step 'x' failed", "p_error_code": "E_NO_DATA", "p_error_operation": "fetch_series"}
    assert backend.runs.find_cached_run(ana, "v", "h") == ("r1", {"outputs": {}})
    assert body(fake.requests[-1]) == {"p_user_id": "ana", "p_model_version_id": "v", "p_inputs_hash": "h"}
    assert backend.runs.log_cached_run(ana, "r1", "h") == "r2"
    assert body(fake.requests[-1]) == {"p_user_id": "ana", "p_source_run_id": "r1", "p_inputs_hash": "h"}
    assert {r.headers["authorization"] for r in fake.requests[-3:]} == {f"Bearer {SERVICE}"}
    run = backend.runs.get_run(ana, "r2")
    assert body(fake.requests[-1]) == {"p_run_id": "r2", "p_limit": 1} and fake.requests[-1].headers["authorization"] == "Bearer jwt-ana"
    assert (run.model_version_id, run.inputs, run.outputs, run.cached_from_run_id, run.model_slug) == ("v", {"start": "2024-01-01"}, {"outputs": {}}, "r1", "spread")
    assert [r.id for r in backend.runs.list_runs(ana, limit=20)] == ["r2"] and body(fake.requests[-1]) == {"p_run_id": None, "p_limit": 20}


def test_artifacts_and_listings_use_the_seeds_column_names(fake: FakeSupabase, backend: SupabaseStore) -> None:
    fake.answers = {
        "/rest/v1/rpc/publish_artifact": ARTIFACT_ROW,
        "/rest/v1/published_artifacts": [ARTIFACT_ROW],
        "/rest/v1/model_usage_daily": [{"date": "2025-01-01", "runs": 2, "unique_users": 1}],
    }
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    art = backend.artifacts.publish(ana, "r2", "curve-abc", "Curve", "", "public")
    assert body(fake.requests[-1]) == {"p_model_run_id": "r2", "p_slug": "curve-abc", "p_title": "Curve", "p_summary": "", "p_visibility": "public"}
    assert (art.owner_id, art.model_run_id, art.views, art.type) == ("ana", "r2", 3, "model_run")
    backend.artifacts.list_artifacts(ana, mine=True)
    assert ("owner_id", "eq.ana") in listing_params(fake.requests[-1])
    backend.models.list_models(ana, ModelQuery(only_mine=True))
    assert ("owner_id", "eq.ana") in listing_params(fake.requests[-1])
    assert backend.runs.usage("m", datetime(2025, 1, 1)) == [{"date": "2025-01-01", "runs": 2, "unique_users": 1}]
    params = listing_params(fake.requests[-1])
    assert ("select", "date,runs,unique_users,errors,cache_hits") in [(k, v.replace(" ", "")) for k, v in params] and ("date", "gte.2025-01-01") in params


# ----------------------------------------------------------------------------- issue 16: JWT expiry
@pytest.mark.parametrize(
    ("code", "message"),
    [("PGRST303", "JWT expired"), ("PGRST301", "JWT expired"), ("PGRST301", "Expected 3 parts in JWT; got 1")],
)
def test_an_expired_or_invalid_jwt_says_the_session_expired(fake: FakeSupabase, backend: SupabaseStore, code: str, message: str) -> None:
    """Current PostgREST reports an expired JWT as PGRST303 (401), older ones as PGRST301: both mean
    "sign in again", never "The database refused the request"."""
    fake.errors["/rest/v1/rpc/my_runs"] = (401, {"code": code, "details": None, "hint": None, "message": message})
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    with pytest.raises(SessionExpired, match="Your session has expired; sign in again") as expired:
        backend.runs.list_runs(ana)
    assert isinstance(expired.value, AuthRequired) and expired.value.code == "E_SESSION_EXPIRED"


def test_a_refusal_by_row_level_security_is_permission_not_sign_in(fake: FakeSupabase, backend: SupabaseStore) -> None:
    fake.errors["/rest/v1/model_saves"] = (403, {"code": "42501", "details": None, "hint": None,
                                                 "message": 'new row violates row-level security policy for table "model_saves"'})
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    with pytest.raises(PermissionDenied):
        backend.social.save(ana, "m")


# ----------------------------------------------------------------------------- issue 9: the server key
def test_without_the_service_role_key_running_is_refused_with_what_the_deployment_needs(fake: FakeSupabase) -> None:
    backend = SupabaseStore(URL, ANON, http_client_factory=fake.factory(), auto_refresh_token=False)
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    with pytest.raises(StoreUnavailable) as refused:
        backend.runs.reserve_run(ana, "m", "v", {}, "h")
    sentence = str(refused.value)
    assert sentence.endswith(".") and ". " not in sentence  # one sentence
    assert "SUPABASE_SERVICE_ROLE_KEY" in str(refused.value) and "never in a browser" in str(refused.value)
    assert not [r for r in fake.requests if "/rpc/" in r.url.path]  # nothing was asked of the database with a user's JWT instead
