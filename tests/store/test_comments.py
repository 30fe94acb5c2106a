"""Discussions (issue 13): threaded comments on models and artifacts, specified once and run on every
backend; then the walls of the Supabase SQL attacked directly as another user and as an anonymous
visitor, as PostgREST would run their requests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from contracts.errors import AuthRequired, CommentLimitExceeded, InputInvalid, NotFoundError, PermissionDenied
from contracts.records import User
from contracts.rules import COMMENT_MAX_CHARS, COMMENTS_PER_WINDOW
from store.base import Store
from tests.store.conftest import seed_meta
from tests.store.supabase_pg import as_role
from tests.store.test_conformance import email, successful_run
from tests.store.test_supabase_sql import conn, pg, world  # noqa: F401  (fixtures)

HOSTILE = '<script>alert(1)</script> [x](javascript:alert(1)) (a, b) %_'


def people(store: Store, *names: str) -> list[User]:
    return [store.users.sign_up(email(), "password1", name) for name in names]


def model_of(store: Store, owner: User, visibility: str = "public") -> str:
    return store.models.create_model(owner, seed_meta(slug=f"talk-{uuid.uuid4().hex[:8]}"), visibility).slug


def test_a_thread_of_comments_and_replies_in_order(store: Store) -> None:
    ana, bob = people(store, "Ana", "Bob")
    slug = model_of(store, ana)
    first = store.comments.post_comment(bob, "model", slug, "  Why 2y and not 3m?  ")
    reply = store.comments.post_comment(ana, "model", slug, "The 3m version is a fork away.", parent_id=first.id)
    again = store.comments.post_comment(bob, "model", slug, HOSTILE, parent_id=reply.id)
    thread = store.comments.list_comments(None, "model", slug)
    assert [(c.author_name, c.body, c.parent_id) for c in thread] == [
        ("Bob", "Why 2y and not 3m?", None), ("Ana", "The 3m version is a fork away.", first.id), ("Bob", HOSTILE, reply.id),
    ]
    assert thread[0].target == "model" and thread[0].artifact_id is None and again.reports == 0


def test_comments_are_visible_exactly_to_those_who_can_see_the_model(store: Store) -> None:
    ana, bob = people(store, "Ana", "Bob")
    private, unlisted = model_of(store, ana, "private"), model_of(store, ana, "unlisted")
    store.comments.post_comment(ana, "model", private, "Note to self")
    assert [c.body for c in store.comments.list_comments(ana, "model", private)] == ["Note to self"]
    for viewer in (bob, None):
        with pytest.raises(NotFoundError):
            store.comments.list_comments(viewer, "model", private)
    with pytest.raises(NotFoundError):
        store.comments.post_comment(bob, "model", private, "Let me in")
    store.comments.post_comment(bob, "model", unlisted, "Found it by its link")  # an unlisted model, by its link
    assert [c.body for c in store.comments.list_comments(None, "model", unlisted)] == ["Found it by its link"]


def test_an_artifact_has_its_own_thread(store: Store) -> None:
    ana, bob = people(store, "Ana", "Bob")
    run_id = successful_run(store, ana, f"h-{uuid.uuid4().hex[:6]}")
    art = store.artifacts.publish(ana, run_id, f"art-{uuid.uuid4().hex[:8]}", "Spread today", "", "unlisted")
    store.comments.post_comment(bob, "artifact", art.slug, "Nice chart")
    (comment,) = store.comments.list_comments(None, "artifact", art.slug)
    assert comment.target == "artifact" and comment.artifact_id == art.id and comment.body == "Nice chart"
    assert store.comments.list_comments(None, "model", "spread-10y-2y") == []  # not in the model's thread
    with pytest.raises(NotFoundError):
        store.comments.list_comments(None, "artifact", "no-such-artifact")


def test_authors_edit_and_delete_their_own_and_nobody_elses(store: Store) -> None:
    ana, bob = people(store, "Ana", "Bob")
    slug = model_of(store, ana)
    mine = store.comments.post_comment(bob, "model", slug, "Frist")
    reply = store.comments.post_comment(ana, "model", slug, "Welcome", parent_id=mine.id)
    edited = store.comments.edit_comment(bob, mine.id, "First!")
    assert edited.body == "First!" and edited.edited_at is not None
    with pytest.raises(PermissionDenied):
        store.comments.edit_comment(ana, mine.id, "Bob says hi")
    with pytest.raises(PermissionDenied):
        store.comments.delete_comment(ana, mine.id)
    store.comments.delete_comment(bob, mine.id)
    thread = store.comments.list_comments(None, "model", slug)
    assert [(c.id, c.deleted, c.body) for c in thread] == [(mine.id, True, ""), (reply.id, False, "Welcome")]  # the reply keeps its place
    with pytest.raises(PermissionDenied):
        store.comments.edit_comment(bob, mine.id, "Back again")


def test_an_admin_hides_any_comment_and_reads_the_reports(store: Store) -> None:
    ana, bob, root = people(store, "Ana", "Bob", "Root")
    store.users.set_profile(root.email, role="admin")
    admin = root  # the same session: the role is read from the profile at each request
    slug = model_of(store, ana)
    rude = store.comments.post_comment(bob, "model", slug, "Something rude")
    store.comments.report_comment(ana, rude.id, "Insulting")
    with pytest.raises(PermissionDenied):
        store.comments.reports(ana)
    with pytest.raises(PermissionDenied):
        store.comments.hide_comment(ana, rude.id)
    (report,) = store.comments.reports(admin)
    assert (report.reason, report.reporter_name, report.slug, report.comment.body, report.comment.reports) == ("Insulting", "Ana", slug, "Something rude", 1)
    store.comments.hide_comment(admin, rude.id)
    assert [(c.hidden, c.body) for c in store.comments.list_comments(ana, "model", slug)] == [(True, "")]
    assert [(c.hidden, c.body) for c in store.comments.list_comments(admin, "model", slug)] == [(True, "Something rude")]
    with pytest.raises(PermissionDenied):
        store.comments.edit_comment(bob, rude.id, "Something polite")  # a hidden comment stays as it was
    store.comments.hide_comment(admin, rude.id, hidden=False)
    assert store.comments.list_comments(None, "model", slug)[0].body == "Something rude"


def test_length_limits_and_an_identity_are_required(store: Store) -> None:
    (ana,) = people(store, "Ana")
    slug = model_of(store, ana)
    for body in ("", "   ", "x" * (COMMENT_MAX_CHARS + 1)):
        with pytest.raises(InputInvalid):
            store.comments.post_comment(ana, "model", slug, body)
    assert len(store.comments.post_comment(ana, "model", slug, "x" * COMMENT_MAX_CHARS).body) == COMMENT_MAX_CHARS
    with pytest.raises((AuthRequired, PermissionDenied)):
        store.comments.post_comment(None, "model", slug, "Anonymous")  # type: ignore[arg-type]


def test_at_most_ten_comments_in_ten_minutes_per_user(store: Store) -> None:
    ana, bob = people(store, "Ana", "Bob")
    slug = model_of(store, ana)
    for i in range(COMMENTS_PER_WINDOW):
        store.comments.post_comment(ana, "model", slug, f"Comment {i}")
    with pytest.raises(CommentLimitExceeded) as refused:
        store.comments.post_comment(ana, "model", slug, "One too many")
    assert "at most 10 comments in 10 minutes" in str(refused.value)
    assert datetime.now(UTC) + timedelta(minutes=9) < refused.value.resets_at <= datetime.now(UTC) + timedelta(minutes=10, seconds=5)
    store.comments.post_comment(bob, "model", slug, "Someone else may still talk")  # the limit is per user


# ----------------------------------------------------------------------------- attacks on the Supabase SQL
def test_the_comment_tables_are_closed_to_anon_and_users(conn: psycopg.Connection, world: dict[str, str]) -> None:  # noqa: F811
    with as_role(conn, world["ana"]):
        conn.execute("select post_comment('model', %s, null, 'On my private model')", (f"private-{world['tag']}",))
    for who in (world["bob"], None, world["ana"]):
        with as_role(conn, who):
            for statement in (
                "select count(*) from model_comments",
                "insert into model_comments (model_id, user_id, body) values (gen_random_uuid(), gen_random_uuid(), 'x')",
                "update model_comments set body = 'defaced'",
                "delete from model_comments",
                "select count(*) from comment_reports",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                    conn.execute(statement)


@pytest.mark.parametrize("who", ["bob", None])
def test_another_user_and_anon_cannot_read_or_touch_a_private_models_thread(conn: psycopg.Connection, world: dict[str, str], who: str | None) -> None:  # noqa: F811
    private = f"private-{world['tag']}"
    with as_role(conn, world["ana"]):
        comment = conn.execute("select post_comment('model', %s, null, 'Secret plan')", (private,)).fetchone()[0]
    attacker = world[who] if who else None
    for statement, args in (
        ("select list_comments('model', %s)", (private,)),
        ("select post_comment('model', %s, null, 'hi')", (private,)),
        ("select edit_comment(%s, 'defaced')", (comment["id"],)),
        ("select delete_comment(%s)", (comment["id"],)),
        ("select hide_comment(%s, true)", (comment["id"],)),
        ("select report_comment(%s, 'spam')", (comment["id"],)),
        ("select comment_reports_for_admin(10)", ()),
    ):
        with pytest.raises(psycopg.Error) as refused, as_role(conn, attacker):
            conn.execute(statement, args)
        assert isinstance(refused.value, psycopg.errors.InsufficientPrivilege) or "AUSTER:" in str(refused.value), statement
    with as_role(conn, world["ana"]):
        (thread,) = conn.execute("select list_comments('model', %s)", (private,)).fetchone()
    assert [c["body"] for c in thread] == ["Secret plan"]


def test_a_reply_cannot_be_attached_to_another_thread(conn: psycopg.Connection, world: dict[str, str]) -> None:  # noqa: F811
    with as_role(conn, world["ana"]):
        secret = conn.execute("select post_comment('model', %s, null, 'Private')", (f"private-{world['tag']}",)).fetchone()[0]
    with pytest.raises(psycopg.Error, match="AUSTER:not_found"), as_role(conn, world["bob"]):
        conn.execute("select post_comment('model', %s, %s, 'Reply across threads')", (f"public-{world['tag']}", secret["id"]))
