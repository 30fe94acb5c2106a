"""Discussions on the model and artifact pages, and reports on the admin page (issue 13), through AppTest."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from components.text import JOINER, escape
from tests.app.conftest import APP
from tests.app.test_pages import XSS, YIELD_CURVE, no_failure, texts, unescape

PASSWORD = "a long passphrase"


def page_as(user: Any, page: str = "views/model.py", **query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if user is not None:
        at.session_state["auster.user"] = user
    at.run()
    at.query_params.update(query or {"slug": YIELD_CURVE})
    at.switch_page(page).run()
    return at


def post(at: AppTest, key: str, text: str) -> AppTest:
    at.text_area(key=f"{key}.body").input(text)
    at.button(key=f"FormSubmitter:{key}.new-Post comment").click().run()
    return at


def comment_markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_comment_and_reply_on_a_model_shown_as_plain_text(svc) -> None:
    ana = svc.auth.sign_up("ana@example.com", PASSWORD, display_name="Ana")
    key = f"talk.model.{YIELD_CURVE}"
    at = post(page_as(ana), key, f"Source: https://fred.stlouisfed.org/series/T10Y2Y {XSS}")
    no_failure(at)
    assert any("Your comment is posted." in s.value for s in at.success)
    (comment,) = svc.discussions.thread(None, "model", YIELD_CURVE)
    body = next(m for m in comment_markdown(at) if "fred" in m)
    url = "https://fred.stlouisfed.org/series/T10Y2Y"
    assert f"[{escape(url).replace(JOINER, '')}](<{url}>)" in body  # http(s) is a link
    # everything else is text: the tag and the brackets of the javascript: link are escaped
    assert "<script>" not in body and "\\<script\\>" in body and "\\[click\\](javascript" in body

    reply_key = f"{key}.{comment.comment.id}"
    at.text_area(key=f"{reply_key}.reply_body").input("And the 3m spread?")
    at.button(key=f"FormSubmitter:{reply_key}.reply-Post reply").click().run()
    no_failure(at)
    thread = svc.discussions.thread(None, "model", YIELD_CURVE)
    assert [(e.depth, e.comment.body) for e in thread][1] == (1, "And the 3m spread?")
    assert "Ana · " in unescape(texts(at)) and "2 comments" in texts(at)


def test_an_anonymous_visitor_reads_the_discussion_and_posting_starts_a_guest_session(svc) -> None:
    ana = svc.auth.sign_up("ana@example.com", PASSWORD, display_name="Ana")
    svc.discussions.post(ana, "model", YIELD_CURVE, "First!")
    at = page_as(None)
    assert any("First\\!" in m for m in comment_markdown(at))  # escaped: shown exactly as written
    assert not [b for b in at.button if b.key and b.key.endswith(".delete")]  # nothing to delete for a visitor
    post(at, f"talk.model.{YIELD_CURVE}", "A guest's question")
    assert at.session_state["auster.user"].is_guest
    assert [e.comment.body for e in svc.discussions.thread(None, "model", YIELD_CURVE)] == ["First!", "A guest's question"]


def test_edit_and_delete_your_own_and_the_rate_limit_is_one_sentence(svc) -> None:
    ana = svc.auth.sign_up("ana@example.com", PASSWORD, display_name="Ana")
    mine = svc.discussions.post(ana, "model", YIELD_CURVE, "Frist")
    key = f"talk.model.{YIELD_CURVE}.{mine.id}"
    at = page_as(ana)
    at.text_area(key=f"{key}.edit_body").input("First")
    at.button(key=f"FormSubmitter:{key}.edit-Save changes").click().run()
    assert svc.discussions.thread(None, "model", YIELD_CURVE)[0].comment.body == "First"
    at.button(key=f"{key}.delete").click().run()
    no_failure(at)
    assert any("deleted by its author" in m for m in comment_markdown(at))
    for i in range(9):
        svc.discussions.post(ana, "model", YIELD_CURVE, f"Note {i}")
    post(at, f"talk.model.{YIELD_CURVE}", "The eleventh")
    assert any("at most 10 comments in 10 minutes" in e.value for e in at.error)


def test_a_report_reaches_the_admin_page_and_the_admin_hides_the_comment(svc) -> None:
    ana = svc.auth.sign_up("ana@example.com", PASSWORD, display_name="Ana")
    bob = svc.auth.sign_up("bob@example.com", PASSWORD, display_name="Bob")
    svc.auth.sign_up("root@example.com", PASSWORD, display_name="Root")
    root = svc.store.users.set_profile("root@example.com", role="admin")
    rude = svc.discussions.post(bob, "model", YIELD_CURVE, "Something rude")
    key = f"talk.model.{YIELD_CURVE}.{rude.id}"
    at = page_as(ana)
    at.text_input(key=f"{key}.reason").input("Insulting")
    at.button(key=f"FormSubmitter:{key}.report-Report to the admins").click().run()
    assert any("the admins will look at it" in s.value for s in at.success)

    admin = page_as(root, "views/admin.py")
    no_failure(admin)
    assert "Insulting" in unescape(texts(admin)) and "Something rude" in unescape(texts(admin))
    next(b for b in admin.button if b.key and b.key.endswith(".hide")).click().run()
    assert any("hidden from readers" in s.value for s in admin.success)
    reader = page_as(None)
    assert any("hidden by an administrator" in m for m in comment_markdown(reader)) and "Something rude" not in texts(reader)


def test_an_artifact_has_its_own_discussion(svc) -> None:
    ana = svc.auth.sign_up("ana@example.com", PASSWORD, display_name="Ana")
    run = svc.runs.run_model(ana, YIELD_CURVE, {})
    art = svc.publishing.publish(ana, run.run_id, title="Spread today", visibility="unlisted")
    at = page_as(None, "views/artifact.py", slug=art.slug)
    no_failure(at)
    post(at, f"talk.artifact.{art.slug}", "Where is this from?")
    assert [e.comment.body for e in svc.discussions.thread(None, "artifact", art.slug)] == ["Where is this from?"]
    assert svc.discussions.thread(None, "model", YIELD_CURVE) == []
