"""Charts are drawn with plotly.js's cartesian bundle, served beside the app (issue 11: a fast first chart)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs_version
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from components import plotly_view


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=plotly_view.chart_routes()), base_url="http://app.test")


@pytest.fixture(autouse=True)
def not_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as in AppTest (no route mounted) whatever an earlier test in the worker did."""
    monkeypatch.setitem(plotly_view._served, "routes", False)


def test_the_bundle_is_the_plotly_js_release_the_python_package_writes_figures_for() -> None:
    header = plotly_view.BUNDLE.read_text(encoding="utf-8")[:200]
    assert re.search(r"plotly\.js \(cartesian - minified\) v(\S+)", header).group(1) == plotly_view.BUNDLE_VERSION == get_plotlyjs_version()
    assert (plotly_view.VENDOR / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_the_route_serves_the_bundle_gzipped_and_cached_for_a_year(client: TestClient) -> None:
    response = client.get(plotly_view.ROUTE, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-encoding"] == "gzip"
    assert "immutable" in response.headers["cache-control"] and "max-age=31536000" in response.headers["cache-control"]
    assert response.content == plotly_view.BUNDLE.read_bytes()  # the client undid the gzip
    assert len(gzip.compress(response.content)) < len(response.content) / 2


def test_a_browser_that_has_the_bundle_is_told_so(client: TestClient) -> None:
    etag = client.get(plotly_view.ROUTE).headers["etag"]
    again = client.get(plotly_view.ROUTE, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_mounting_the_route_switches_charts_to_the_light_library() -> None:
    assert not plotly_view.light_charts()
    plotly_view.chart_routes()
    assert plotly_view.light_charts()


def _page(light: bool) -> None:
    import plotly.graph_objects as go

    from components import plotly_view

    plotly_view._served["routes"] = light
    figure = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, -0.25, 1.0], name="spread"))
    figure.update_layout(title={"text": "10y - 2y (pp)"}, height=420, meta="result")
    plotly_view.show_chart(figure, key="chart", config={"displayModeBar": False})


def test_with_the_route_a_chart_is_the_component_with_the_figure_its_config_and_the_bundle_url() -> None:
    at = AppTest.from_function(_page, kwargs={"light": True}).run()
    assert not at.exception and not at.get("plotly_chart")
    [element] = at.get("bidi_component")
    assert element.proto.component_name == plotly_view.COMPONENT
    payload = json.loads(element.proto.json)
    figure = json.loads(payload["figure"])
    assert figure["layout"]["title"]["text"] == "10y - 2y (pp)" and figure["data"][0]["y"] == [0.5, -0.25, 1.0]
    assert payload["config"] == {**plotly_view.BASE_CONFIG, "displayModeBar": False}
    assert payload["config"]["showSendToCloud"] is False and "lasso2d" in payload["config"]["modeBarButtonsToRemove"]
    assert payload["src"] == plotly_view.ROUTE and payload["height"] == 420


def test_without_the_route_a_chart_is_streamlits_own_plotly_chart() -> None:
    at = AppTest.from_function(_page, kwargs={"light": False}).run()
    assert not at.exception and not at.get("bidi_component")
    [chart] = at.get("plotly_chart")
    assert json.loads(chart.proto.spec)["layout"]["meta"] == "result"
    config = json.loads(chart.proto.config)
    assert config["showSendToCloud"] is False and config["displayModeBar"] is False, "no button that uploads the data to Plotly's cloud"


def test_every_trace_the_app_draws_is_in_the_cartesian_bundle() -> None:
    """Every ``go.<Trace>(`` in the app's code is a trace type the bundle registers (scatter, bar, heatmap...):
    a WebGL or 3-D trace added later fails here, not as a blank chart in the browser."""
    bundled = set(re.findall(r'moduleType:"trace",name:"(\w+)"', plotly_view.BUNDLE.read_text(encoding="utf-8")))
    assert {"scatter", "bar", "heatmap"} <= bundled
    root = Path(plotly_view.__file__).resolve().parents[1]
    used = {
        name.lower()
        for folder in ("components", "views", "services")
        for path in (root / folder).rglob("*.py")
        for name in re.findall(r"\bgo\.([A-Z]\w*)\(", path.read_text(encoding="utf-8"))
        if name not in {"Figure"} and not name[0].islower()
    }
    assert used and used <= bundled, used - bundled
