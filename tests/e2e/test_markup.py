"""Markup nobody can inject (issue 9), checked in what Chromium renders.

One server over a fresh sqlite file. Before it starts, a public model and a published artifact carry a corpus
of Markdown and HTML payloads in every place text reaches the page: the model's name (the registry card, the
page title, the status label while it runs), description, tags (a blank line once broke out of their code
span), an input's label and help, a string input shown on the artifact, the artifact's title and summary, a
table cell, and Plotly's category tick labels and legend. A link carries a payload in a query value that the
run form echoes in its error box. For each page: no link to the payloads' host, no injected element, no
script dialog, and the payload readable as written. Two links that used to end in a traceback (an
overflowing relative date, a stored colour Plotly refuses) end in a sentence instead.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import app_env, start_app, stop_app

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
EVIL = "evil.example"
LINK = f"[Session expired: sign in again](https://{EVIL}/login)"
NAME = f"Curve **bold** <b>tag</b> [home](https://{EVIL})"
TAG = f"rates\n\n[tag link](https://{EVIL}/t)"
DESCRIPTION = f"Plain words. ![pixel](https://{EVIL}/p.png) <img src=x onerror=alert(1)> `code` :red[red] _it_ www.{EVIL} me@{EVIL} :material/home:"
LABEL = f"Note [label](https://{EVIL}/l)"
NOTE = f"<a href='https://{EVIL}/n'>note</a> **n**"
TITLE = f"Artifact [title](https://{EVIL}/a) <script>alert('t')</script>"
CATEGORY = f"<a href='https://{EVIL}/c'>SPY</a>"
CELL = f"[cell](https://{EVIL}/cell) **c**"
SLUG = "hostile-markup"

# What the page must not contain: a link or an image to the payloads' host, elements the payloads spell out.
INJECTED = f"""() => {{
    const all = [...document.querySelectorAll('a, img, script, b, strong, em, code, iframe')];
    const host = el => {{  // where the element points (a link to our own page may carry a payload in its query: that is fine)
        const target = el.getAttribute('href') || el.getAttribute('xlink:href') || el.getAttribute('src') || '';
        try {{ return new URL(target, location.href).hostname.endsWith('{EVIL}'); }} catch (e) {{ return target.includes('{EVIL}'); }}
    }};
    return [
        ...[...document.querySelectorAll('a, img, image, use')].filter(host).map(el => el.outerHTML.slice(0, 120)),
        ...all.filter(el => el.tagName === 'SCRIPT' && el.textContent.includes('alert')).map(el => 'script: ' + el.textContent.slice(0, 60)),
        ...all.filter(el => ['B', 'STRONG'].includes(el.tagName) && ['bold', 'tag', 'n', 'c'].includes(el.textContent.trim())).map(el => 'bold: ' + el.textContent),
        ...all.filter(el => el.tagName === 'EM' && el.textContent.trim() === 'it').map(el => 'em: ' + el.textContent),
        ...all.filter(el => el.tagName === 'CODE' && el.textContent.trim() === 'code').map(el => 'code: ' + el.textContent),
        ...[...document.querySelectorAll('svg a')].map(el => 'svg link: ' + el.outerHTML.slice(0, 120)),
    ];
}}"""
# Plotly's tick and legend texts as drawn (textContent: entities decoded, tags shown as characters).
PLOTLY_TEXTS = """() => [...document.querySelectorAll('.js-plotly-plot .xtick text, .js-plotly-plot .legendtext, .js-plotly-plot .gtitle')]
    .map(el => el.textContent)"""


def arrange(db_path: Path) -> str:
    """A public model and an artifact full of payloads; return the artifact's slug."""
    import os

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(app_env(db_path))
    try:
        import services
        from contracts.dsl import ModelMeta

        svc = services.build()
        owner = svc.auth.sign_up("mallory@example.com", "correct horse battery", display_name="Mallory")
        template = svc.registry.get_model("yield-curve-10y-2y", None)
        schema = dict(template.latest.input_schema)
        schema["fields"] = [*schema["fields"], {"name": "note", "type": "string", "label": LABEL, "help": LABEL, "default": "plain"}]
        meta = ModelMeta(
            slug=SLUG, name=NAME, description=DESCRIPTION, lab_scope="econ", tags=[TAG, "curve"], difficulty="basic",
            dsl=template.latest.dsl, input_schema=schema, output_schema=template.latest.output_schema,
        )
        svc.models.create(owner, meta, visibility="public")
        outcome = svc.runs.run_model(owner, SLUG, {"start": "2024-01-01", "end": "2024-06-30", "note": NOTE})
        svc.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    # The stored result gains a chart over categories and a table cell with payloads (as a vendor's names or
    # a future operation could produce), and a colour stored before the validator refused such colours.
    with sqlite3.connect(db_path) as conn:
        body = json.loads(conn.execute("SELECT outputs_json FROM model_runs WHERE id = ?", (outcome.run_id,)).fetchone()[0])
        body["outputs"]["series"].append({"id": "cats", "label": "Betas", "chart": "bar", "color": "notacolour", "x": [CATEGORY, "QQQ"], "y": [1.1, 0.9]})
        body["outputs"]["tables"].append({"id": "notes", "label": "Notes", "columns": ["name", "value"], "rows": [{"name": CELL, "value": 1.0}]})
        conn.execute("UPDATE model_runs SET outputs_json = ? WHERE id = ?", (json.dumps(body), outcome.run_id))
    os.environ.clear()
    os.environ.update(app_env(db_path))
    try:
        svc = services.build()
        owner = svc.auth.sign_in("mallory@example.com", "correct horse battery")
        artifact = svc.publishing.publish(owner, outcome.run_id, TITLE, f"Summary {LINK}", visibility="public")
        svc.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return artifact.slug


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, shots: Path) -> Iterator[tuple[str, str]]:
    db_path = tmp_path_factory.mktemp("markup") / "auster.db"
    artifact_slug = arrange(db_path)
    base, process = start_app(db_path, shots / "streamlit-markup.log")
    yield base, artifact_slug
    stop_app(process)


def settle(page: Any) -> None:
    page.wait_for_timeout(200)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=TIMEOUT_MS)


def body_text(page: Any) -> str:
    return " ".join(page.inner_text("body").replace("\u2060", "").split())  # the word joiners escape() adds are invisible


def shown(text: str) -> str:
    """A payload as a reader sees it on one line (line breaks fold into spaces)."""
    return " ".join(text.split())


def assert_nothing_injected(page: Any, alerts: list[str]) -> None:
    assert page.evaluate(INJECTED) == []
    assert alerts == [], "no script ran"
    assert page.locator("[data-testid='stException']").count() == 0, "no traceback"


def test_markup_payloads_render_as_text(browser, server, shots):
    base, artifact_slug = server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    try:
        # The registry card: name, description and tags.
        page.goto(f"{base}/?q=Curve")
        page.get_by_role("heading", name="Model registry").first.wait_for()
        page.get_by_text("Plain words.").first.wait_for()
        settle(page)
        text = body_text(page)
        for payload in (NAME, shown(TAG), "<img src=x onerror=alert(1)>"):
            assert shown(payload) in text, (payload, text[text.find("Note") - 50:text.find("Note") + 200])
        assert_nothing_injected(page, alerts)
        page.screenshot(path=str(shots / "markup-registry.png"), full_page=True)

        # The model page from a link whose start date is a markdown link: the error box shows it as written.
        page.goto(f"{base}/model?slug={SLUG}&start={quote(LINK)}&note={quote(NOTE)}")
        page.get_by_text("the default is shown").first.wait_for()
        page.get_by_text("Note [label]").first.wait_for()  # the whole form is drawn (it comes in parts)
        settle(page)
        text = body_text(page)
        for payload in (NAME, DESCRIPTION, shown(TAG), LINK, LABEL):
            assert shown(payload) in text, (payload, text[text.find("Note") - 50:text.find("Note") + 200])
        assert NOTE in page.evaluate("[...document.querySelectorAll('input')].map(i => i.value)"), "a linked string stays as written in its field"
        assert_nothing_injected(page, alerts)
        # Run it: the status label carries the model's name.
        page.get_by_role("button", name="Run model").click()
        page.locator("[data-testid='stExpander']").filter(has_text="Done in").first.wait_for()
        settle(page)
        assert_nothing_injected(page, alerts)
        page.screenshot(path=str(shots / "markup-model.png"), full_page=True)

        # The artifact: title, summary, the string input, a table cell, Plotly's categories and legend.
        page.goto(f"{base}/artifact?slug={artifact_slug}")
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .xtick text').length > 1")
        page.get_by_text("Notes").first.wait_for()
        page.locator("[data-testid='stTable']").first.wait_for()
        settle(page)
        text = body_text(page)
        for payload in (TITLE, f"Summary {LINK}", NOTE, CELL):
            assert shown(payload) in text, (payload, text[text.find("Note") - 50:text.find("Note") + 200])
        plotly = page.evaluate(PLOTLY_TEXTS)
        assert CATEGORY in plotly, plotly
        assert_nothing_injected(page, alerts)
        page.screenshot(path=str(shots / "markup-artifact.png"), full_page=True)

        # A relative date too far back to be a date: a sentence under the field, no traceback.
        page.goto(f"{base}/model?slug=yield-curve-10y-2y&start=today-99999999999y")
        page.get_by_text("the default is shown").first.wait_for()
        settle(page)
        assert_nothing_injected(page, alerts)
    except Exception:
        page.screenshot(path=str(shots / "markup-failure.png"), full_page=True)
        raise
    finally:
        context.close()
