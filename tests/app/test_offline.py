"""Custom components may not pull styles or fonts from other hosts (components/offline.py)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from components.offline import POLICY, OfflineComponents

PAGE = "<html><head><style>@import url('https://fonts.example.org/css');</style></head></html>"


def _page(request):
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": "default-src *"})


def _client() -> TestClient:
    routes = [Route("/component/code_editor.code_editor/index.html", _page), Route("/base/component/flow/index.html", _page), Route("/editor", _page)]
    return TestClient(Starlette(routes=routes, middleware=[Middleware(OfflineComponents)]))


def test_a_component_document_allows_styles_and_fonts_from_the_app_only() -> None:
    for path in ("/component/code_editor.code_editor/index.html", "/base/component/flow/index.html"):
        response = _client().get(path)
        assert response.status_code == 200 and response.text == PAGE
        assert response.headers.get_list("content-security-policy") == [POLICY.decode()]
        assert "style-src 'self' 'unsafe-inline'" in POLICY.decode() and "font-src 'self' data:" in POLICY.decode()


def test_the_apps_own_pages_keep_their_headers() -> None:
    assert _client().get("/editor").headers["content-security-policy"] == "default-src *"
