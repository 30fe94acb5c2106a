"""Addresses people can share: the app's base URL as the browser sees it, and a page's full link."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import streamlit as st


def app_base_url() -> str:
    """The app's address as the browser sees it (``st.context.url``), for links people can share."""
    url = getattr(st.context, "url", None) or ""
    base_path = (st.get_option("server.baseUrlPath") or "").strip("/")
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        root = f"{parts.scheme}://{parts.netloc}"
    else:
        root = f"http://localhost:{st.get_option('server.port') or 8501}"
    return f"{root}/{base_path}" if base_path else root


def page_url(path: str, query: Mapping[str, str] | None = None) -> str:
    """``http://host/econ-lab?series_ids=DGS10`` for the page at ``path`` with ``query``."""
    text = urlencode({k: v for k, v in (query or {}).items() if v not in (None, "")})
    return f"{app_base_url()}/{path.strip('/')}" + (f"?{text}" if text else "")
