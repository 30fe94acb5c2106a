"""Load the charting library with the page itself, not after the first chart's message arrives.

Streamlit loads plotly.js (its ``PlotlyChart`` chunk, about 4.7 MB) only when a chart element reaches
the browser: after the page's HTML and JavaScript, the WebSocket and the script's first messages.
The chunk is then fetched, compiled and run (over a second of the browser's main thread on this
machine) before anything is drawn, so a page that opens on a chart waits for all of that in sequence.

``PreloadCharts`` is an ASGI middleware (serve.py) that adds one tag to the HTML page: on the pages
that open on a chart (an artifact, a model, the labs) a module script that imports the chunk at once,
so it runs while the app connects and the server runs the page; on the others a ``modulepreload``
link, so the chunk is fetched and compiled for the chart a click away. Nothing else in the page
changes, the tag carries no user data, and without the chunk (another Streamlit build) or with
``AUSTER_NO_PRELOAD`` set the page is served as it is.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import streamlit

Message = dict[str, Any]

STATIC_JS = Path(streamlit.__file__).parent / "static" / "static" / "js"
# url_path of the pages that open on a chart (app.py); they import the library at once.
CHART_PAGES = frozenset({"artifact", "model", "econ-lab", "derivatives-lab"})


@functools.cache
def chart_chunk() -> str | None:
    """The file name of Streamlit's Plotly chunk in this build (it carries a content hash), if there is one."""
    found = sorted(STATIC_JS.glob("PlotlyChart.*.js"))
    return found[0].name if found else None


def _prefix(base_path: str) -> str:
    return "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"


def preload_tag(path: str, base_path: str = "") -> bytes:
    """The tag for the page at ``path``: import the chunk now on a chart page, else preload it ('' without a chunk)."""
    name = chart_chunk()
    if name is None:
        return b""
    prefix = _prefix(base_path)
    src = f"{prefix}static/js/{name}"
    page = path[len(prefix):] if path.startswith(prefix) else path.lstrip("/")
    if page.strip("/") in CHART_PAGES:
        return f'<script type="module">import("{src}");</script>'.encode()
    return f'<link rel="modulepreload" crossorigin href="{src}">'.encode()


def with_tag(html: bytes, tag: bytes) -> bytes:
    """``html`` with ``tag`` just before ``</head>`` (unchanged without a head, or with the tag in it already)."""
    if not tag or tag in html:
        return html
    head_end = html.find(b"</head>")
    return html if head_end < 0 else html[:head_end] + tag + html[head_end:]


class PreloadCharts:
    """ASGI middleware: HTML pages get the chart library's tag; the WebSocket, assets and API answers pass untouched."""

    def __init__(self, app: Any, base_path: str = ""):
        self.app = app
        self.base_path = base_path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or chart_chunk() is None or os.environ.get("AUSTER_NO_PRELOAD"):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                html = headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers
                if message.get("status") == 200 and html:
                    start = message  # held back until the body is complete
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = with_tag(b"".join(body), preload_tag(scope.get("path", "/"), self.base_path))
            headers = [(k, v) for k, v in start.get("headers") or [] if k.lower() not in (b"content-length", b"etag")]
            await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, rewrite)
