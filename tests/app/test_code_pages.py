"""Code models in the app (issue 15), through AppTest: the model page shows the code and every review
decision; the review page is for admins, shows the code, the diff and a sandboxed trial run, and decides."""

from __future__ import annotations

import time
import uuid

import pytest
from streamlit.testing.v1 import AppTest

from contracts.code import CodeBundle
from services.code_templates import TEMPLATES
from tests.app.conftest import APP
from tests.app.test_pages import no_failure, texts, unescape

TEMPLATE = TEMPLATES["python"]


def people(svc):
    ana = svc.auth.sign_up(f"ana{uuid.uuid4().hex[:6]}@example.com", "a long passphrase", display_name="Ana")
    root = svc.auth.sign_up(f"root{uuid.uuid4().hex[:6]}@example.com", "a long passphrase", display_name="Root")
    svc.store.users.set_profile(root.email, role="admin")
    return ana, svc.store.users.refresh_user(root)


def code_model(svc, owner) -> str:
    slug = f"code-{uuid.uuid4().hex[:6]}"
    svc.models.create(owner, TEMPLATE.meta(slug, "Spread in Python"), "private", "From the template", code=CodeBundle("python", TEMPLATE.code, ("pandas",)))
    return slug


def as_user(user, page: str, **query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state["auster.user"] = user
    at.run()
    at.query_params.update(query)
    return at.switch_page(page).run()


def test_the_owner_sees_the_code_and_that_it_waits_for_review(svc):
    ana, _ = people(svc)
    slug = code_model(svc, ana)
    at = as_user(ana, "views/model.py", slug=slug)
    no_failure(at)
    assert "Python model, version 1: Waiting for review. Only you can see and run it" in texts(at)
    assert any("def run(inputs):" in c.value for c in at.code)
    assert "No review decision yet." in texts(at)


def test_the_review_page_is_not_even_in_a_users_navigation(svc):
    ana, _ = people(svc)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        as_user(ana, "views/review.py")


def test_an_admin_reads_the_code_and_diff_then_rejects_with_a_note_shown_on_the_model_page(svc):
    ana, admin = people(svc)
    slug = code_model(svc, ana)
    at = as_user(admin, "views/review.py")
    no_failure(at)
    assert "1 code version(s) waiting" in texts(at)
    assert any("def run(inputs):" in c.value for c in at.code)
    assert any(c.value.startswith("--- nothing approved yet") for c in at.code)
    at.button(key="FormSubmitter:review.decide-Reject").click().run()
    assert "Say why it is rejected" in texts(at)
    at.text_area(key="review.note").input("Please document the inputs.")
    at.button(key="FormSubmitter:review.decide-Reject").click().run()
    no_failure(at)
    assert "Nothing is waiting for review." in texts(at)
    page = as_user(ana, "views/model.py", slug=slug)
    shown = unescape(texts(page))
    assert "Rejected" in shown and "Please document the inputs." in shown and "by Root" in shown


def test_a_code_model_runs_through_the_queue_and_its_result_replaces_the_queued_line(svc):
    from sandbox import unavailable_reason
    from tests.conftest import missing_service

    reason = unavailable_reason("python")
    if reason:
        missing_service(f"the Python sandbox cannot run here: {reason}")
    ana, _ = people(svc)
    slug = code_model(svc, ana)
    at = as_user(ana, "views/model.py", slug=slug)
    at.button(key=f"{slug}.run").click().run()
    no_failure(at)
    run_id = at.query_params["run"][0] if isinstance(at.query_params["run"], list) else at.query_params["run"]
    assert svc.queue.status(ana, run_id).state in ("queued", "running", "done")
    for _ in range(120):
        if svc.queue.status(ana, run_id).finished:
            break
        time.sleep(0.5)
    at.run()
    no_failure(at)
    assert svc.queue.status(ana, run_id).state == "done"
    assert any("10y - 2y" in c.proto.spec for c in at.get("plotly_chart"))


def test_while_the_queue_does_not_answer_the_page_keeps_following_the_recorded_run(svc, monkeypatch):
    import socket

    ana, _ = people(svc)
    slug = code_model(svc, ana)
    model = svc.registry.get_model(slug, ana)
    run_id = svc.store.runs.reserve_run(ana, model.id, model.latest.id, {}, "h-recorded")  # recorded, then Redis went away
    with socket.socket() as probe:  # a port nobody listens on: Redis restarting
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MODEL_WORKER_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("MODEL_WORKER_SECRET", "a secret for this test")
    at = as_user(ana, "views/model.py", slug=slug, run=run_id)
    assert not at.exception and not at.error
    assert any("The run queue did not answer; your run is recorded" in i.value for i in at.info)
    at.run()  # the page follows it every second: same sentence, no traceback, the address still names the run
    assert not at.exception and any("your run is recorded" in i.value for i in at.info)
    assert at.query_params["run"] in (run_id, [run_id])
