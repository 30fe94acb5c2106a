"""The loopback PostgREST and GoTrue (tests/store/postgrest_gotrue.py) fail where the real ones fail.

A stand-in that accepts everything would prove nothing about the Supabase backend, so these tests
send it what PostgREST refuses, through the real supabase-py client, and expect PostgREST's answers:
a misspelt RPC argument (PGRST202), an unknown column (PostgreSQL's 42703 passed through, PGRST204 in
a payload), an unquoted comma in a filter (PGRST100 with Parsec's position), an expired or forged JWT
(PGRST303, PGRST301), a user's JWT calling a server-only function (42501, 403), and a stale schema
cache (PGRST202 until reloaded). The query-string grammar is checked against the errors PostgREST
documents for it (the doctests of src/PostgREST/ApiRequest/QueryParams.hs).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from postgrest.exceptions import APIError

from contracts.errors import SessionExpired, StoreUnavailable
from store.supabase import SupabaseStore, postgrest_like
from store.supabase.client import execute
from tests.store import postgrest_grammar as g
from tests.store.conftest import seed_meta

# ----------------------------------------------------------------------------- PostgREST's documented grammar
# (parser, input, expected (column, details)) from the doctests of PostgREST's QueryParams.hs
DOCUMENTED = [
    ("logic", "or()", 4, 'unexpected ")" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)'),
    ("logic", "or(id.in.1,2,id.eq.3)", 10, 'unexpected "1" expecting "("'),
    ("logic", "or)(", 3, 'unexpected ")" expecting "("'),
    ("logic", "and(ord(id.eq.1,id.eq.1),id.eq.2)", 7, 'unexpected "d" expecting "("'),
    ("logic", "or(id.eq.1,not.xor(id.eq.2,id.eq.3))", 16, 'unexpected "x" expecting logic operator (and, or)'),
    ("order", "clients(name,id)", 8, 'unexpected \'(\' expecting letter, digit, "-", "->>", "->", delimiter (.), "," or end of input'),
    ("order", "id.ac", 4, 'unexpected "c" expecting "asc", "desc", "nullsfirst" or "nullslast"'),
    ("order", "id.descc", 8, "unexpected 'c' expecting delimiter (.), \",\" or end of input"),
    ("order", "id.nulsfist", 4, 'unexpected "n" expecting "asc", "desc", "nullsfirst" or "nullslast"'),
    ("order", "id.nullslasttt", 13, "unexpected 't' expecting \",\" or end of input"),
    ("order", "id.smth34", 4, 'unexpected "s" expecting "asc", "desc", "nullsfirst" or "nullslast"'),
    ("order", "id.asc.nlsfst", 8, 'unexpected "l" expecting "nullsfirst" or "nullslast"'),
    ("order", "id.asc.nullslasttt", 17, "unexpected 't' expecting \",\" or end of input"),
    ("order", "id.asc.smth34", 8, 'unexpected "s" expecting "nullsfirst" or "nullslast"'),
    ("op", "fts().value", 5, 'unexpected ")" expecting operator (eq, gt, ...)'),
    ("op", "eq().value", 4, 'unexpected ")" expecting operator (eq, gt, ...)'),
    ("op", "is().value", 3, 'unexpected "(" expecting operator (eq, gt, ...)'),
    ("op", "in().value", 3, 'unexpected "(" expecting operator (eq, gt, ...)'),
    ("op", "noop.0", 1, 'unexpected "o" expecting "not" or operator (eq, gt, ...)'),
    ("select", "id,clients(name[])", 16, 'unexpected \'[\' expecting letter, digit, "-", "->>", "->", "::", ".", ")", "," or end of input'),
    ("select", "data->>-78xy", 11, "unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input"),
    ("field", ":", 1, 'unexpected ":" expecting field name (* or [a..z0..9_$])'),
]
PARSERS = {"logic": g.p_logic_tree, "order": g.p_order, "op": lambda: g.p_op_expr(g.p_single_val), "select": g.p_select, "field": g.p_field_name}


@pytest.mark.parametrize(("parser", "text", "column", "details"), DOCUMENTED, ids=[f"{p}:{t}" for p, t, _, _ in DOCUMENTED])
def test_the_grammar_fails_as_postgrest_documents(parser: str, text: str, column: int, details: str) -> None:
    with pytest.raises(g.QueryParamError) as failed:
        g.run(PARSERS[parser](), "name", text)
    assert failed.value.message == f'"name" (line 1, column {column})'
    assert failed.value.details == details


def test_the_grammar_reads_what_the_store_sends() -> None:
    tree = g.run(g.p_logic_tree(), "", "or" + '(name.ilike."*a,b(c)*",tags.cs.{rates},not.and(x.eq.1,y.in.("p,q",r)))')
    first, second, third = tree.children
    assert (first.field.name, first.op.operator, first.op.value) == ("name", "ilike", "*a,b(c)*")
    assert (second.op.operator, second.op.value) == ("cs", "{rates}")
    assert third.negated and third.operator == "and" and third.children[1].op.value == ["p,q", "r"]
    assert [(t.field.name, t.direction, t.nulls) for t in g.run(g.p_order(), "", "runs_30d.desc.nullslast,created_at.asc")] == [
        ("runs_30d", "desc", "nullslast"), ("created_at", "asc", None)]


# ----------------------------------------------------------------------------- through supabase-py
@pytest.fixture
def loopback(supabase_loopback):  # type: ignore[no-untyped-def]
    return supabase_loopback


@pytest.fixture
def backend(loopback) -> Iterator[SupabaseStore]:  # type: ignore[no-untyped-def]
    store = SupabaseStore(loopback.url, loopback.anon_key, service_role_key=loopback.service_role_key, auto_refresh_token=False)
    store.models.load_seeds([seed_meta()])
    yield store


def email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def api_error(request) -> APIError:  # type: ignore[no-untyped-def]
    with pytest.raises(APIError) as failed:
        request.execute()
    return failed.value


@pytest.mark.services
def test_a_misspelt_rpc_argument_fails_as_postgrest_fails(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    anon = backend.clients.for_viewer(None)
    error = api_error(anon.rpc("get_model_by_slug", {"p_slg": "spread-10y-2y"}))
    assert error.code == "PGRST202"
    assert error.message == "Could not find the function public.get_model_by_slug(p_slg) in the schema cache"
    assert error.details == ("Searched for the function public.get_model_by_slug with parameter p_slg or with a single unnamed json/jsonb parameter,"
                             " but no matches were found in the schema cache.")
    assert error.hint == "Perhaps you meant to call the function public.get_model_by_slug(p_slug)"
    response = httpx.post(f"{loopback.url}/rest/v1/rpc/get_model_by_slug", json={"p_slg": "x"}, headers={"apikey": loopback.anon_key})
    assert response.status_code == 404
    with pytest.raises(StoreUnavailable, match=r"refused the request \(PGRST202\)"):  # through the store: a sentence, never a traceback
        execute(anon.rpc("get_model_by_slug", {"p_slug": "x", "p_extra": 1}))


@pytest.mark.services
def test_an_unknown_column_fails_as_postgrest_fails(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    anon = backend.clients.for_viewer(None)
    selected = api_error(anon.table("models").select("slug,nme"))
    assert (selected.code, selected.message) == ("42703", "column models.nme does not exist")
    filtered = api_error(anon.table("models").select("slug").eq("visibilty", "public"))
    assert (filtered.code, filtered.message) == ("42703", "column models.visibilty does not exist")
    ana = backend.users.sign_up(email(), "password1")
    inserted = api_error(ana.session.table("model_saves").insert({"user_id": ana.id, "modle_id": str(uuid.uuid4())}))
    assert (inserted.code, inserted.message) == ("PGRST204", "Could not find the 'modle_id' column of 'model_saves' in the schema cache")
    response = httpx.get(f"{loopback.url}/rest/v1/models?select=nme", headers={"apikey": loopback.anon_key})
    assert response.status_code == 400


@pytest.mark.services
def test_an_unquoted_comma_in_a_filter_fails_as_postgrest_fails(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    anon = backend.clients.for_viewer(None)
    error = api_error(anon.table("model_listing").select("*").or_("name.ilike.*a,b*"))
    assert error.code == "PGRST100"
    assert error.message == '"failed to parse logic tree ((name.ilike.*a,b*))" (line 1, column 19)'
    assert error.details == 'unexpected "*" expecting letter, digit, "-", "->>", "->" or delimiter (.)'
    quoted = anon.table("model_listing").select("slug").or_(f"name.ilike.{postgrest_like('a,b')},slug.eq.spread-10y-2y").execute()
    assert [r["slug"] for r in quoted.data] == ["spread-10y-2y"]  # the same text quoted, as the store sends it, is one value
    response = httpx.get(f"{loopback.url}/rest/v1/model_listing", params={"or": "(name.ilike.*a,b*)"}, headers={"apikey": loopback.anon_key})
    assert response.status_code == 400


@pytest.mark.services
@pytest.mark.parametrize("through", ["store", "client"])
def test_an_expired_jwt_is_pgrst303_and_a_sentence_to_sign_in_again(backend: SupabaseStore, loopback, through: str) -> None:  # type: ignore[no-untyped-def]
    ana = backend.users.sign_up(email(), "password1")
    assert backend.runs.list_runs(ana) == []
    moved = 0.0
    try:
        moved += 3600 + 20
        loopback.advance(3600 + 20)  # past exp, but within PostgREST's 30 s of clock skew: still valid
        assert backend.runs.list_runs(ana) == []
        moved += 15
        loopback.advance(15)
        if through == "store":  # the store refreshes an expired JWT once, on demand, and sends the request again
            asked = len(loopback.requests)
            assert backend.runs.list_runs(ana) == []
            refreshes = [p for _, p in loopback.requests[asked:] if "grant_type=refresh_token" in p]
            assert len(refreshes) == 1
            backend.clients.new().auth.sign_in_with_password({"email": ana.email, "password": "password1"})
            other = backend.clients.new()
            other.auth.sign_in_with_password({"email": ana.email, "password": "password1"})
            other.auth.sign_out({"scope": "global"})  # every refresh token of the user is revoked
            moved += 3600 + 60
            loopback.advance(3600 + 60)
            with pytest.raises(SessionExpired, match="Your session has expired; sign in again"):
                backend.runs.list_runs(ana)
        else:
            error = api_error(ana.session.rpc("my_runs", {"p_run_id": None, "p_limit": 5}))
            assert (error.code, error.message) == ("PGRST303", "JWT expired")
            token = ana.session.options.headers["Authorization"]
            raw = httpx.post(f"{loopback.url}/rest/v1/rpc/my_runs", json={"p_run_id": None, "p_limit": 5},
                             headers={"apikey": loopback.anon_key, "Authorization": token})
            assert raw.status_code == 401 and raw.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    finally:
        loopback.advance(-moved)


@pytest.mark.services
def test_a_forged_jwt_is_pgrst301_and_a_sentence_to_sign_in_again(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    import jwt

    ana = backend.users.sign_up(email(), "password1")
    forged = jwt.encode({"sub": ana.id, "role": "service_role", "exp": 4102444800}, "not-the-projects-secret-but-long-enough", algorithm="HS256")
    ana.session.options.headers["Authorization"] = f"Bearer {forged}"
    ana.session._postgrest = None  # rebuilt with the forged header, as supabase-py does on an auth event
    error = api_error(ana.session.table("model_runs").select("*"))
    assert (error.code, error.message) == ("PGRST301", "JWT cryptographic operation failed")
    assert backend.runs.list_runs(ana) == []  # refreshed once with the refresh token: a genuine JWT replaces the forged one
    assert ana.session.options.headers["Authorization"] != f"Bearer {forged}"
    other = backend.clients.new()
    other.auth.sign_in_with_password({"email": ana.email, "password": "password1"})
    other.auth.sign_out({"scope": "global"})  # the refresh token is revoked too: no way back in
    ana.session.options.headers["Authorization"] = f"Bearer {forged}"
    ana.session._postgrest = None
    with pytest.raises(SessionExpired):
        backend.runs.list_runs(ana)


@pytest.mark.services
def test_a_users_jwt_cannot_call_the_servers_functions_over_rest(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    ana = backend.users.sign_up(email(), "password1")
    model = backend.models.get_model("spread-10y-2y", ana)
    run_id = backend.runs.reserve_run(ana, model.id, model.latest.id, {}, "h")
    forged = {"p_user_id": ana.id, "p_run_id": run_id, "p_status": "success", "p_outputs_json": {"outputs": {"metrics": [{"text": "999"}]}},
              "p_runtime_ms": 1, "p_error_message": None}
    error = api_error(ana.session.rpc("finish_run", forged))
    assert (error.code, error.message) == ("42501", "permission denied for function finish_run")
    raw = httpx.post(f"{loopback.url}/rest/v1/rpc/finish_run", json=forged, headers={"apikey": loopback.anon_key, "Authorization": f"Bearer {loopback.anon_key}"})
    assert raw.status_code == 401  # the anonymous role: 401; a signed-in one: 403
    raw = httpx.post(f"{loopback.url}/rest/v1/rpc/finish_run", json=forged,
                     headers={"apikey": loopback.anon_key, "Authorization": ana.session.options.headers["Authorization"]})
    assert raw.status_code == 403
    assert backend.runs.get_run(ana, run_id).status == "pending"
    old_shape = api_error(ana.session.rpc("increment_artifact_views", {"p_slug": "anything"}))
    assert old_shape.code == "PGRST202"  # gone: nobody learns whether a slug exists by counting a view


@pytest.mark.services
def test_a_function_added_after_start_is_unknown_until_the_schema_cache_reloads(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    name = f"probe_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(loopback.dsn, autocommit=True) as conn:
        conn.execute(f"create function public.{name}(p_x integer) returns integer language sql stable as $$ select p_x + 1 $$")
        conn.execute(f"grant execute on function public.{name}(integer) to anon")
    anon = backend.clients.for_viewer(None)
    assert api_error(anon.rpc(name, {"p_x": 1})).code == "PGRST202"
    loopback.reload_schema()  # NOTIFY pgrst, 'reload schema'
    assert anon.rpc(name, {"p_x": 1}).execute().data == 2


@pytest.mark.services
def test_the_gateway_wants_an_api_key(loopback) -> None:  # type: ignore[no-untyped-def]
    assert httpx.get(f"{loopback.url}/rest/v1/models").json() == {"message": "No API key found in request"}
    assert httpx.get(f"{loopback.url}/rest/v1/models", headers={"apikey": "guess"}).status_code == 401


@pytest.mark.services
def test_results_have_postgrest_shapes_and_headers(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    headers = {"apikey": loopback.anon_key, "Authorization": f"Bearer {loopback.anon_key}"}
    counted = httpx.head(f"{loopback.url}/rest/v1/models", params={"select": "id", "slug": "eq.spread-10y-2y"}, headers={**headers, "Prefer": "count=exact"})
    assert counted.status_code == 200 and counted.headers["Content-Range"] == "0-0/1"
    none = httpx.get(f"{loopback.url}/rest/v1/models", params={"slug": "eq.nothing"}, headers={**headers, "Prefer": "count=exact"})
    assert none.json() == [] and none.headers["Content-Range"] == "*/0"
    model = httpx.post(f"{loopback.url}/rest/v1/rpc/get_model_by_slug", json={"p_slug": "spread-10y-2y"}, headers=headers).json()
    assert model["model"]["slug"] == "spread-10y-2y"  # jsonb: the value itself
    missing = httpx.post(f"{loopback.url}/rest/v1/rpc/get_model_by_slug", json={"p_slug": "nothing"}, headers=headers)
    assert missing.status_code == 200 and missing.json() is None
    artifacts = httpx.post(f"{loopback.url}/rest/v1/rpc/get_artifact_by_slug", json={"p_slug": "nothing"}, headers=headers)
    assert artifacts.json() == []  # setof: an array


@pytest.mark.services
def test_refresh_tokens_rotate_and_local_sign_out_keeps_other_sessions(backend: SupabaseStore, loopback) -> None:  # type: ignore[no-untyped-def]
    address = email()
    backend.users.sign_up(address, "password1")
    laptop, phone = backend.clients.new(), backend.clients.new()
    for client in (laptop, phone):
        client.auth.sign_in_with_password({"email": address, "password": "password1"})
    first = laptop.auth.get_session().refresh_token
    laptop.auth.refresh_session()
    with pytest.raises(Exception, match="Already Used"):
        backend.clients.new().auth.refresh_session(first)
    laptop.auth.sign_out({"scope": "local"})
    assert phone.auth.refresh_session().session is not None  # the other device stays signed in
    last = phone.auth.get_session().refresh_token
    phone.auth.sign_out()  # global: every session of the user ends
    with pytest.raises(Exception, match="Refresh Token Not Found"):
        backend.clients.new().auth.refresh_session(last)
