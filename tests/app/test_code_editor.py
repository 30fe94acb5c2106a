"""The code editor page (issue 15), through AppTest: start from a template in either language, test-run on
the sample data (output, logs, limits), save as a new private model waiting for review, then a new version
with a changelog."""

from __future__ import annotations

import uuid

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP
from tests.app.test_pages import no_failure, texts, unescape


def signed_in(svc) -> tuple[AppTest, object]:
    ana = svc.auth.sign_up(f"ana{uuid.uuid4().hex[:6]}@example.com", "a long passphrase", display_name="Ana")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["auster.user"] = ana
    at.run()
    return at, ana


def test_a_user_starts_from_the_js_template_test_runs_it_and_saves_it_for_review(svc):
    from sandbox import unavailable_reason
    from tests.conftest import missing_service

    reason = unavailable_reason("js")
    if reason:
        missing_service(f"the JavaScript sandbox cannot run here: {reason}")
    at, ana = signed_in(svc)
    at.switch_page("views/editor.py").run()
    no_failure(at)
    assert "function run(inputs)" not in at.session_state["editor.code"]  # Python first
    at.session_state["editor.template"] = "js"
    at.run()
    assert "function run(inputs)" in at.session_state["editor.code"]
    at.session_state["editor.code"] = at.session_state["editor.code"].replace("function run(inputs) {", "function run(inputs) {\n  console.log('hello from js');")
    at.button(key="editor.test").click().run()
    no_failure(at)
    assert at.text_area(key="editor.stdout").value.startswith("hello from js")
    assert "Limits: 30 s, 512 MB memory" in unescape(texts(at))
    assert any("10y - 2y" in c.proto.spec for c in at.get("plotly_chart"))
    slug = f"js-spread-{uuid.uuid4().hex[:6]}"
    at.text_input(key="editor.name").input("JS spread")
    at.text_input(key="editor.slug").input(slug)
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    no_failure(at)
    model = svc.registry.get_model(slug, ana)
    assert (model.latest.runtime, model.latest.review_status, model.visibility) == ("js", "pending", "private")
    assert "hello from js" in model.latest.code_bundle


def test_a_broken_draft_is_a_sentence_not_a_traceback(svc):
    at, _ = signed_in(svc)
    at.switch_page("views/editor.py").run()
    at.session_state["editor.dsl"] = "{not json"
    at.button(key="editor.test").click().run()
    assert not at.exception
    assert "This is not valid JSON (line 1" in at.error[0].value


def test_saving_a_new_version_needs_a_changelog_and_goes_to_review(svc):
    at, ana = signed_in(svc)
    at.switch_page("views/editor.py").run()
    slug = f"py-{uuid.uuid4().hex[:6]}"
    at.text_input(key="editor.name").input("Py spread")
    at.text_input(key="editor.slug").input(slug)
    at.button(key="FormSubmitter:editor.save-Save and submit for review").click().run()
    no_failure(at)
    at.query_params["slug"] = slug
    at.run()
    at.session_state["editor.code"] = at.session_state["editor.code"] + "\n# tidier\n"
    at.button(key="FormSubmitter:editor.save-Save as a new version and submit for review").click().run()
    assert "Say what changed in this version." in at.error[0].value
    at.text_input(key="editor.changelog").input("A comment")
    at.button(key="FormSubmitter:editor.save-Save as a new version and submit for review").click().run()
    no_failure(at)
    versions = svc.registry.list_versions(slug, ana)
    assert [(v.version, v.review_status, v.changelog) for v in versions][:1] == [(2, "pending", "A comment")]
