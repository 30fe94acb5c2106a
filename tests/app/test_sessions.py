"""Sessions on the pages (issue 11): a sign-in goes into the cookie, a reload gives the user back, sign-out clears
what was on screen; the cookie route sets HttpOnly, SameSite=Lax, Secure over https, and refuses other sites."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from components import cookies
from tests.app.test_pages import charts

YIELD_CURVE = "yield-curve-10y-2y"


def handed_token(at: AppTest) -> str:
    """The token the page queued for the cookie, as the route would hand it to the browser."""
    pending = at.session_state[cookies.ACTION_KEY]
    assert pending["action"] == "set" and "token" not in pending  # only a one-time code goes to the browser
    token = cookies.HANDOFFS.take(pending["code"])
    assert token is not None
    return token


def test_signing_in_queues_the_cookie_and_a_reload_resumes_the_user(open_page, svc, monkeypatch: pytest.MonkeyPatch) -> None:
    svc.auth.sign_up("ada@example.com", "a long passphrase", display_name="Ada")
    at = open_page("views/account.py")
    at.text_input(key="account.sign_in.email").input("ada@example.com")
    at.text_input(key="account.sign_in.password").input("a long passphrase")
    at.get("form")[0].button[0].click()  # st.form_submit_button
    at.run()
    assert not at.exception and at.session_state["auster.user"].email == "ada@example.com"
    token = handed_token(at)

    monkeypatch.setattr(cookies, "cookie_token", lambda: token)  # a new browser session presenting the cookie
    again = open_page("views/account.py")
    assert again.session_state["auster.user"].email == "ada@example.com"
    assert any(m.label == "Runs left today" for m in again.metric)


def test_signing_out_revokes_the_session_and_clears_the_results(open_page, svc, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page("views/model.py", slug=YIELD_CURVE)
    at.button(key=f"{YIELD_CURVE}.run").click().run()  # a guest, made on first need
    assert charts(at) and at.session_state["auster.user"].is_guest
    token = handed_token(at)
    at = open_page("views/account.py", at=at)
    at.button(key="account.sign_out").click().run()
    assert not at.exception
    assert "auster.user" not in at.session_state and at.session_state[cookies.ACTION_KEY]["action"] == "clear"
    at = open_page("views/model.py", at=at, slug=YIELD_CURVE)
    assert not charts(at)  # the previous result is gone
    assert svc.auth.resume(token) is None  # and nothing brings the session back
    monkeypatch.setattr(cookies, "cookie_token", lambda: token)
    assert "auster.user" not in open_page("views/account.py").session_state


def route_client() -> TestClient:
    return TestClient(Starlette(routes=cookies.session_routes()), base_url="http://app.test")


def test_the_route_sets_an_httponly_lax_cookie_from_a_one_time_code() -> None:
    client = route_client()
    code = cookies.HANDOFFS.put("the-token")
    answer = client.post("/api/session", json={"action": "set", "code": code}, headers={"Origin": "http://app.test"})
    assert answer.status_code == 204
    header = answer.headers["set-cookie"]
    assert header.startswith("auster_session=the-token;") and "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert "Secure" not in header  # plain http
    again = client.post("/api/session", json={"action": "set", "code": code}, headers={"Origin": "http://app.test"})
    assert again.status_code == 410  # a code works once


def test_over_https_the_cookie_is_secure() -> None:
    client = TestClient(Starlette(routes=cookies.session_routes()), base_url="https://app.test")
    code = cookies.HANDOFFS.put("the-token")
    answer = client.post("/api/session", json={"action": "set", "code": code}, headers={"Origin": "https://app.test"})
    assert "Secure" in answer.headers["set-cookie"]


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": "http://app.test"}, {}])
def test_other_sites_cannot_plant_or_clear_a_session(headers: dict[str, Any]) -> None:
    client = route_client()
    code = cookies.HANDOFFS.put("attackers-token")
    assert client.post("/api/session", json={"action": "set", "code": code}, headers=headers).status_code == 403
    assert client.post("/api/session", json={"action": "clear"}, headers=headers).status_code == 403
