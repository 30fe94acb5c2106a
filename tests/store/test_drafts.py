"""The builder's drafts (issue 12): the store protocol on every backend, the Supabase requests, and the
RLS of supabase/migrations/20250101000020_drafts.sql on the real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from store.base import Store
from tests.store.conftest import seed_meta
from tests.store.supabase_pg import apply_all, as_role, create_auth_user, fresh_database
from tests.store.test_supabase_requests import FakeSupabase, backend, fake  # noqa: F401  (fixtures)

DOC = {"dsl": {"version": "1.0", "steps": [{"id": "a", "operation": "fetch_series", "params": {}}]}, "input_schema": {"fields": []}, "meta": {"name": "Spread"}}


def email() -> str:
    return f"d{uuid.uuid4().hex[:10]}@example.com"


# ----------------------------------------------------------------------------- conformance
def test_a_draft_is_saved_replaced_listed_and_deleted_by_its_owner(store: Store) -> None:
    ana = store.users.sign_up(email(), "long enough")
    first = store.drafts.save_draft(ana, "new", DOC)
    assert first.owner_id == ana.id and first.key == "new" and first.document == DOC
    changed = DOC | {"meta": {"name": "Spread, z-score"}}
    again = store.drafts.save_draft(ana, "new", changed)
    assert again.document == changed and again.updated_at >= first.updated_at
    store.drafts.save_draft(ana, "model:spread-10y-2y", DOC)
    assert [d.key for d in store.drafts.list_drafts(ana)] == ["model:spread-10y-2y", "new"]
    assert store.drafts.get_draft(ana, "new").document == changed
    store.drafts.delete_draft(ana, "new")
    assert store.drafts.get_draft(ana, "new") is None and len(store.drafts.list_drafts(ana)) == 1


def test_another_users_drafts_are_invisible_and_untouched(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "long enough"), store.users.guest()
    store.drafts.save_draft(ana, "new", DOC)
    assert store.drafts.get_draft(bob, "new") is None and store.drafts.list_drafts(bob) == []
    store.drafts.delete_draft(bob, "new")
    store.drafts.save_draft(bob, "new", {"mine": True})
    assert store.drafts.get_draft(ana, "new").document == DOC
    assert store.drafts.get_draft(bob, "new").document == {"mine": True}


def test_slug_taken_sees_private_models_and_create_keeps_the_changelog(store: Store) -> None:
    ana, bob = store.users.sign_up(email(), "long enough"), store.users.guest()
    slug = f"hidden-{uuid.uuid4().hex[:6]}"
    store.models.create_model(ana, seed_meta(slug=slug), "private", changelog="Spread and its z-score")
    assert store.models.get_model(slug, bob) is None and store.models.slug_taken(slug)
    assert not store.models.slug_taken(f"free-{uuid.uuid4().hex[:6]}")
    assert store.models.get_model(slug, ana).latest.changelog == "Spread and its z-score"


# ----------------------------------------------------------------------------- Supabase requests
def test_drafts_are_requested_with_the_owners_jwt_and_upserted_on_owner_and_key(fake: FakeSupabase, backend) -> None:  # noqa: F811
    ana = backend.users.sign_in("ana@example.com", "pw-ana-123")
    row = {"owner_id": "ana", "draft_key": "new", "document": DOC, "updated_at": "2025-01-01T00:00:00+00:00"}
    fake.answers["/rest/v1/model_drafts"] = [row]
    fake.answers["/rest/v1/rpc/model_slug_taken"] = True
    saved = backend.drafts.save_draft(ana, "new", DOC)
    call = fake.requests[-1]
    assert saved.document == DOC and call.method == "POST" and call.headers["authorization"] == "Bearer jwt-ana"
    assert "on_conflict=owner_id%2Cdraft_key" in str(call.url) or "on_conflict=owner_id,draft_key" in str(call.url)
    assert json.loads(call.content)["owner_id"] == "ana"
    backend.drafts.list_drafts(ana)
    assert "owner_id=eq.ana" in str(fake.requests[-1].url)
    assert backend.models.slug_taken("spread") is True
    assert json.loads(fake.requests[-1].content) == {"p_slug": "spread"}


# ----------------------------------------------------------------------------- RLS on PostgreSQL
@pytest.fixture(scope="module")
def pg(postgres_dsn: str) -> Iterator[str]:
    with fresh_database(postgres_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            apply_all(conn)
        yield dsn


pg_only = pytest.mark.services


@pg_only
def test_a_draft_is_visible_and_writable_by_its_owner_only(pg: str) -> None:
    with psycopg.connect(pg, autocommit=True) as conn:
        ana, bob = create_auth_user(conn, email()), create_auth_user(conn, None, anonymous=True)
        with as_role(conn, ana):  # owner_id defaults to the caller
            conn.execute("insert into model_drafts (draft_key, document) values ('new', %s)", (json.dumps(DOC),))
            assert conn.execute("select owner_id::text, document from model_drafts").fetchall() == [(ana, DOC)]
        with as_role(conn, bob):
            assert conn.execute("select count(*) from model_drafts").fetchone()[0] == 0
            assert conn.execute("update model_drafts set document = '{}' where owner_id = %s", (ana,)).rowcount == 0
            assert conn.execute("delete from model_drafts where owner_id = %s", (ana,)).rowcount == 0
            conn.execute("insert into model_drafts (draft_key, document) values ('new', '{}')")  # the same key is his own
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, bob):
            conn.execute("insert into model_drafts (owner_id, draft_key, document) values (%s, 'planted', '{}')", (ana,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, bob):
            conn.execute("update model_drafts set owner_id = %s where owner_id = %s", (ana, bob))
        for statement in ("select count(*) from model_drafts", "insert into model_drafts (owner_id, draft_key, document) values (null, 'x', '{}')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), as_role(conn, None):
                conn.execute(statement)
        with as_role(conn, ana):
            assert conn.execute("select document from model_drafts").fetchall() == [(DOC,)]
            conn.execute("update model_drafts set document = '{\"v\": 2}' where draft_key = 'new'")
            assert conn.execute("delete from model_drafts where draft_key = 'new'").rowcount == 1
        with as_role(conn, bob):
            assert conn.execute("select document from model_drafts").fetchall() == [({},)]


@pg_only
def test_a_draft_goes_with_its_owner_and_is_bounded_in_size(pg: str) -> None:
    with psycopg.connect(pg, autocommit=True) as conn:
        carol = create_auth_user(conn, email())
        with as_role(conn, carol):
            conn.execute("insert into model_drafts (draft_key, document) values ('new', '{}')")
        with pytest.raises(psycopg.errors.CheckViolation), as_role(conn, carol):
            conn.execute("insert into model_drafts (draft_key, document) values ('big', %s)", (json.dumps({"x": "y" * 600_000}),))
        conn.execute("delete from auth.users where id = %s", (carol,))
        assert conn.execute("select count(*) from model_drafts where owner_id = %s", (carol,)).fetchone()[0] == 0


@pg_only
def test_model_slug_taken_answers_for_private_models_without_revealing_them(pg: str) -> None:
    with psycopg.connect(pg, autocommit=True) as conn:
        dan = create_auth_user(conn, email())
        slug = f"secret-{uuid.uuid4().hex[:6]}"
        conn.execute("insert into models (slug, name, owner_id, lab_scope, difficulty, visibility) values (%s, 'x', %s, 'econ', 'basic', 'private')", (slug, dan))
        with as_role(conn, None):
            assert conn.execute("select count(*) from models where slug = %s", (slug,)).fetchone()[0] == 0
            assert conn.execute("select model_slug_taken(%s)", (slug,)).fetchone()[0] is True
            assert conn.execute("select model_slug_taken('nobody-has-this')").fetchone()[0] is False
