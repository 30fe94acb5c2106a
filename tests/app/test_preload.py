"""The chart library's tag in the served page (components/preload.py): pages that open on a chart import it
at once, the others preload it, and nothing but an HTML page is touched."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from components.preload import PreloadCharts, chart_chunk

PAGE = "<!DOCTYPE html><html><head><title>Streamlit</title></head><body><div id='root'></div></body></html>"


def client(base_path: str = "") -> TestClient:
    async def page(request):
        return HTMLResponse(PAGE)

    async def api(request):
        return JSONResponse({"head": "</head>"})

    async def health(request):
        return PlainTextResponse("ok")

    routes = [Route("/api/session", api, methods=["GET", "POST"]), Route("/_stcore/health", health), Route("/{path:path}", page)]
    return TestClient(Starlette(routes=routes, middleware=[Middleware(PreloadCharts, base_path=base_path)]))


def test_streamlit_ships_the_plotly_chunk_the_tag_names():
    assert chart_chunk() is not None and chart_chunk().startswith("PlotlyChart."), "another Streamlit build: the tag would be left out"


@pytest.mark.parametrize("path", ["/artifact", "/model", "/econ-lab", "/derivatives-lab"])
def test_a_page_that_opens_on_a_chart_imports_the_library_at_once(path):
    html = client().get(path, params={"slug": "x"}).text
    assert f'<script type="module">import("/static/js/{chart_chunk()}");</script></head>' in html
    assert html.count(chart_chunk()) == 1


@pytest.mark.parametrize("path", ["/", "/artifacts", "/account", "/workspace"])
def test_other_pages_only_preload_it(path):
    response = client().get(path)
    assert f'<link rel="modulepreload" crossorigin href="/static/js/{chart_chunk()}"></head>' in response.text
    assert int(response.headers["content-length"]) == len(response.content)
    assert "import(" not in response.text


def test_under_a_base_path_the_address_carries_it():
    html = client("reports").get("/reports/artifact").text
    assert f'import("/reports/static/js/{chart_chunk()}")' in html


def test_answers_that_are_not_html_pages_pass_untouched():
    c = client()
    assert c.get("/api/session").json() == {"head": "</head>"}
    assert c.get("/_stcore/health").text == "ok"
    assert c.post("/api/session").json() == {"head": "</head>"}


def test_the_tag_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("AUSTER_NO_PRELOAD", "1")
    assert client().get("/artifact").text == PAGE
