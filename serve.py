"""Serve Auster Models with the routes the app needs beside its pages: ``streamlit run serve.py``.

``st.App`` (Streamlit's ASGI entry point) runs app.py exactly as ``streamlit run app.py`` does,
mounts ``/api/session``, which sets and clears the HttpOnly session cookie (components/cookies.py),
and adds a middleware that has the browser fetch the charting library with the page (components/preload.py).
Started as ``streamlit run app.py`` the app works the same, but a sign-in lasts only as long as its tab
and the first chart waits for the library to load.
"""

import streamlit as st
from starlette.middleware import Middleware

from components.cookies import session_routes
from components.preload import PreloadCharts

app = st.App("app.py", routes=session_routes(), middleware=[Middleware(PreloadCharts, base_path=st.get_option("server.baseUrlPath") or "")])
