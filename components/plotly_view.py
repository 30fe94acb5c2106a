"""Draw a Plotly figure with a charting library a third the size of the one Streamlit bundles.

``st.plotly_chart`` loads Streamlit's full plotly.js (4.7 MB, about 0.9 s of a cold page's main thread
spent evaluating it, issue 11). Every chart the app draws is a scatter, bar or heatmap, all in plotly.js's
*cartesian* partial bundle (1.5 MB, the same plotly.js release the Python package writes figures for).
Served by serve.py beside the app (``chart_routes``), it is loaded once per tab by a small Streamlit
component that draws the figure in the page itself (no iframe), so the DOM is what ``st.plotly_chart``
gives: a ``.js-plotly-plot`` element with its ``data`` and ``_fullLayout``.

Started without serve.py (``streamlit run app.py``) or in AppTest there is no route for the bundle, so
``show_chart`` falls back to ``st.plotly_chart``: same figure, same configuration.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

VENDOR = Path(__file__).parent / "vendor" / "plotly"
BUNDLE = VENDOR / "plotly-cartesian.min.js"
# The release the bundle is; tests/components/test_plotly_view.py checks it is the one the Python package targets.
BUNDLE_VERSION = "4.1.1"
ROUTE = f"/api/assets/plotly-cartesian-{BUNDLE_VERSION}.min.js"
COMPONENT = "auster_plotly_chart"
DEFAULT_HEIGHT = 450
# Every chart's configuration under its own: no Plotly logo, the width of its column, no "Share chart..."
# button (plotly.js 4 shows one by default; it uploads the figure's data to Plotly's cloud), and no box or
# lasso selection (nothing in the app reads a selection).
BASE_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False, "showEditInChartStudio": False,
               "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

_served = {"routes": False}

# One script per tab, shared by every chart; each chart draws into its own holder and follows its width.
CHART_JS = """
function plotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__austerPlotly) {
    window.__austerPlotly = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { window.__austerPlotly = null; reject(new Error("the charting library did not load")); };
      document.head.appendChild(script);
    });
  }
  return window.__austerPlotly;
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data || !data.figure) return;
  let holder = parentElement.querySelector(":scope > .auster-chart");
  if (!holder) {
    holder = document.createElement("div");
    holder.className = "auster-chart";
    holder.style.width = "100%";
    parentElement.appendChild(holder);
  }
  holder.style.minHeight = data.height + "px";
  const drawn = data.figure;
  holder.__austerWanted = drawn;  // a newer figure may arrive while the library loads: draw only the latest
  plotly(data.src).then((Plotly) => {
    if (!holder.isConnected || holder.__austerWanted !== drawn || holder.__austerFigure === drawn) return;
    const figure = JSON.parse(drawn);
    holder.__austerFigure = drawn;
    // For screen readers: a figure named by its title (Plotly's SVG has no text alternative of its own).
    const layout = figure.layout || {};
    const title = ((layout.title || {}).text || ((layout.annotations || [])[0] || {}).text || "").replace(/<br>/g, ": ").replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
    holder.setAttribute("role", "figure");
    holder.setAttribute("aria-label", title ? "Chart: " + title : "Chart");
    return Plotly.react(holder, figure.data || [], figure.layout || {}, data.config || {}).then(() => {
      if (!holder.__austerResize) {
        holder.__austerResize = new ResizeObserver(() => { if (holder.isConnected && holder._fullLayout) Plotly.Plots.resize(holder); });
        holder.__austerResize.observe(holder);
      }
    });
  }).catch((error) => {
    holder.textContent = "This chart could not be drawn: " + error.message + ". Reload the page to try again.";
  });
  return () => {
    if (holder.__austerResize) holder.__austerResize.disconnect();
    holder.__austerResize = null;
    holder.__austerFigure = null;
    if (window.Plotly) window.Plotly.purge(holder);
  };
}
"""


@functools.cache
def _bundle() -> tuple[bytes, bytes, str]:
    raw = BUNDLE.read_bytes()
    return raw, gzip.compress(raw, compresslevel=9, mtime=0), hashlib.sha256(raw).hexdigest()[:16]


async def bundle_endpoint(request: Request) -> Response:
    """The charting library: versioned URL, so cached for a year; gzip when the browser takes it."""
    raw, packed, etag = _bundle()
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{etag}"'}
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(packed, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type="text/javascript", headers=headers)


def chart_routes() -> list[Route]:
    """The route serve.py mounts beside the app; from then on charts use the light library."""
    _served["routes"] = True
    return [Route(ROUTE, bundle_endpoint, methods=["GET"])]


def light_charts() -> bool:
    """Whether this server serves the cartesian bundle (started by serve.py)."""
    return _served["routes"]


@functools.cache
def _component() -> Any:
    # Not isolated: plotly.js puts its stylesheet in the document's head, and the page's tests and
    # benchmarks find charts as `.js-plotly-plot` in the document.
    return st.components.v2.component(COMPONENT, js=CHART_JS, isolate_styles=False)


def _asset_url() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}{ROUTE}" if base else ROUTE


def chart_payload(figure: go.Figure, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the component is given: the figure as Plotly JSON, its configuration and where the library is."""
    height = figure.layout.height or DEFAULT_HEIGHT
    return {"figure": figure.to_json(), "config": {**BASE_CONFIG, **(config or {})}, "src": _asset_url(), "height": int(height)}


def show_chart(figure: go.Figure, key: str, config: dict[str, Any] | None = None) -> None:
    """Draw ``figure`` full width under ``key``: the light library when serve.py serves it, else ``st.plotly_chart``."""
    if not light_charts():
        st.plotly_chart(figure, key=key, width="stretch", config={**BASE_CONFIG, **(config or {})}, theme=None)
        return
    _component()(data=chart_payload(figure, config), key=key, width="stretch")

