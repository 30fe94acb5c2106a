"""Serve Auster Models with the routes the app needs beside its pages: ``streamlit run serve.py``.

``st.App`` (Streamlit's ASGI entry point) runs app.py exactly as ``streamlit run app.py`` does and
mounts ``/api/session``, which sets and clears the HttpOnly session cookie (components/cookies.py), and
the charting library the app's charts use (components/plotly_view.py); its middleware keeps custom
components from loading styles or fonts from other hosts (components/offline.py). Started as
``streamlit run app.py`` the app works the same, but a sign-in lasts only as long as its tab, charts load
Streamlit's larger plotly.js, and the code editor asks a font host for its font.
"""

import streamlit as st
from starlette.middleware import Middleware

from components.cookies import session_routes
from components.offline import OfflineComponents
from components.plotly_view import chart_routes

app = st.App("app.py", routes=session_routes() + chart_routes(), middleware=[Middleware(OfflineComponents)])
