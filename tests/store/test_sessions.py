"""Sessions that last (issues 11 and 16), on every backend through the ``store`` fixture, and what only Supabase has.

A session is an opaque token for a browser's cookie, kept only as its SHA-256 with an expiry; it gives
its user back until it is revoked (sign-out, a password change, "sign out everywhere") or expires.
On Supabase it rotates GoTrue's refresh token on every resume and refresh, refreshes an expired JWT
on demand (never on a timer), and a released client leaves no thread behind.
"""

from __future__ import annotations

import gc
import threading
import uuid

import psycopg
import pytest

from contracts.errors import AuthError, AuthUnavailable, SessionExpired, TooManyAttempts
from contracts.rules import SESSION_TTL_S
from store.common import session_token_hash


def email() -> str:
    return f"s-{uuid.uuid4().hex[:10]}@example.com"


def test_a_session_gives_its_user_back_until_it_is_revoked(store) -> None:  # type: ignore[no-untyped-def]
    ana = store.users.sign_up(email(), "password1")
    issued = store.sessions.start(ana, SESSION_TTL_S)
    assert len(issued.token) >= 43 and issued.user_id == ana.id
    back = store.sessions.resume(issued.token)
    assert back is not None and back.id == ana.id and back.email == ana.email
    assert store.sessions.is_live(issued.token)
    assert store.sessions.resume("not-a-token") is None
    store.sessions.end(issued.token)
    assert store.sessions.resume(issued.token) is None and not store.sessions.is_live(issued.token)


def test_a_guest_session_keeps_the_same_guest(store) -> None:  # type: ignore[no-untyped-def]
    guest = store.users.guest()
    issued = store.sessions.start(guest, SESSION_TTL_S)
    back = store.sessions.resume(issued.token)
    assert back is not None and back.id == guest.id and back.is_guest


def test_an_expired_session_opens_nothing(store) -> None:  # type: ignore[no-untyped-def]
    ana = store.users.sign_up(email(), "password1")
    issued = store.sessions.start(ana, -1)
    assert store.sessions.resume(issued.token) is None and not store.sessions.is_live(issued.token)


def test_ending_all_sessions_keeps_only_the_one_asked_for(store) -> None:  # type: ignore[no-untyped-def]
    ana = store.users.sign_up(email(), "password1")
    here, laptop, phone = (store.sessions.start(ana, SESSION_TTL_S) for _ in range(3))
    assert store.sessions.end_all(ana.id, keep_token=here.token) == 2
    assert store.sessions.is_live(here.token)
    assert not store.sessions.is_live(laptop.token) and not store.sessions.is_live(phone.token)
    assert store.sessions.end_all(ana.id) == 1 and not store.sessions.is_live(here.token)


def test_changing_the_password_needs_the_current_one(store) -> None:  # type: ignore[no-untyped-def]
    address = email()
    ana = store.users.sign_up(address, "password1")
    with pytest.raises(AuthError, match="current password is not right"):
        store.users.change_password(ana, "wrong-one", "password2")
    store.users.change_password(ana, "password1", "password2")
    with pytest.raises(AuthError, match="do not match an account"):
        store.users.sign_in(address, "password1")
    assert store.users.sign_in(address, "password2").id == ana.id
    with pytest.raises(AuthError, match="A guest has no password"):
        store.users.change_password(store.users.guest(), "", "password3")


def test_only_the_hash_of_a_token_is_stored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from store.sqlite import SqliteStore
    from tests.store.conftest import FAST_HASHER

    store = SqliteStore(tmp_path / "s.db", password_hasher=FAST_HASHER)
    try:
        issued = store.sessions.start(store.users.guest(), SESSION_TTL_S)
        (row,) = store.db.all("SELECT * FROM sessions")
        assert row["token_hash"] == session_token_hash(issued.token) and issued.token not in "".join(str(v) for v in tuple(row))
    finally:
        store.close()


# ------------------------------------------------------------------------------------ Supabase only
@pytest.fixture
def supa(supabase_loopback):  # type: ignore[no-untyped-def]
    from store.supabase import SupabaseStore

    backend = SupabaseStore(supabase_loopback.url, supabase_loopback.anon_key, service_role_key=supabase_loopback.service_role_key)
    yield backend
    backend.close()


@pytest.mark.services
def test_resuming_rotates_the_refresh_token_kept_sealed_behind_the_cookie(supa, supabase_loopback) -> None:  # type: ignore[no-untyped-def]
    ana = supa.users.sign_up(email(), "password1")
    issued = supa.sessions.start(ana, SESSION_TTL_S)
    with psycopg.connect(supabase_loopback.dsn) as conn:
        sealed, generation = conn.execute("select refresh_token_sealed, generation from public.sessions where id = %s", (issued.id,)).fetchone()
    first_refresh = ana.session.auth.get_session().refresh_token
    assert first_refresh not in sealed and generation == 0  # the table alone opens nothing
    tabs = [supa.sessions.resume(issued.token) for _ in range(2)]  # a reload, then a new tab
    assert all(t is not None and t.id == ana.id for t in tabs)
    with psycopg.connect(supabase_loopback.dsn) as conn:
        assert conn.execute("select generation from public.sessions where id = %s", (issued.id,)).fetchone()[0] == 2
    with pytest.raises(Exception, match="Already Used"):  # GoTrue rotated it: the sign-in's own refresh token is spent
        supa.clients.new().auth.refresh_session(first_refresh)
    for user in [ana, *tabs]:
        supa.users.release(user)


@pytest.mark.services
def test_two_tabs_resuming_at_once_both_get_in(supa) -> None:  # type: ignore[no-untyped-def]
    ana = supa.users.sign_up(email(), "password1")
    issued = supa.sessions.start(ana, SESSION_TTL_S)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(supa.sessions.resume(issued.token))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 3 and all(r is not None and r.id == ana.id for r in results)


@pytest.mark.services
def test_an_expired_jwt_is_refreshed_on_demand_through_the_session(supa, supabase_loopback) -> None:  # type: ignore[no-untyped-def]
    ana = supa.users.sign_up(email(), "password1")
    issued = supa.sessions.start(ana, SESSION_TTL_S)
    tab = supa.sessions.resume(issued.token)
    supabase_loopback.advance(3600 + 60)
    try:
        assert supa.runs.list_runs(tab) == []  # PGRST303, refreshed once through the session's refresh token, sent again
        with psycopg.connect(supabase_loopback.dsn) as conn:
            assert conn.execute("select generation from public.sessions where id = %s", (issued.id,)).fetchone()[0] == 2
        supa.users.sign_out(supa.users.sign_in(ana.email, "password1"), everywhere=True)  # GoTrue revokes every refresh token
        supabase_loopback.advance(3600 + 60)
        with pytest.raises(SessionExpired, match="Your session has expired; sign in again"):
            supa.runs.list_runs(tab)
        assert not supa.sessions.is_live(issued.token)  # the refused refresh ended the session: other tabs sign out too
    finally:
        supabase_loopback.advance(-2 * (3600 + 60))


@pytest.mark.services
def test_sign_out_is_local_and_sign_out_everywhere_is_global(supa) -> None:  # type: ignore[no-untyped-def]
    address = email()
    supa.users.sign_up(address, "password1")
    laptop, phone, tablet = (supa.users.sign_in(address, "password1") for _ in range(3))
    phone_refresh = phone.session.auth.get_session().refresh_token
    supa.users.sign_out(laptop)  # scope local: only the laptop's session ends
    assert supa.clients.new().auth.refresh_session(phone_refresh).session is not None
    supa.users.sign_out(tablet, everywhere=True)  # scope global
    with pytest.raises(Exception, match="Refresh Token Not Found"):
        phone.session.auth.refresh_session()


@pytest.mark.services
def test_released_clients_leave_no_thread_and_no_open_connection(supa) -> None:  # type: ignore[no-untyped-def]
    """Issue 16: five dropped users once left five clients with five refresh timers. The loopback's own request
    threads (one per open connection) end when the connections close."""
    import time

    def ours() -> set[int]:
        return {t.ident for t in threading.enumerate() if t.is_alive() and "process_request_thread" not in t.name}

    def all_threads() -> set[int]:
        return {t.ident for t in threading.enumerate() if t.is_alive()}

    before, before_all = ours(), all_threads()
    users = [supa.users.guest() for _ in range(5)]
    for user in users:
        assert supa.runs.list_runs(user) == []
    assert ours() - before == set()  # no refresh timer per client
    pools = [u.session.options.httpx_client for u in users]
    for user in users:
        supa.users.release(user)
    del users
    gc.collect()
    assert all(pool.is_closed for pool in pools)
    for _ in range(50):
        if not all_threads() - before_all:
            break
        time.sleep(0.1)
    assert all_threads() - before_all == set()


@pytest.mark.services
@pytest.mark.parametrize(("action", "status", "code", "expected"), [
    ("sign_in", 429, "over_request_rate_limit", (TooManyAttempts, "Too many sign-in attempts reached the sign-in service")),
    ("guest", 429, "over_request_rate_limit", (TooManyAttempts, "Too many guest sessions were started on this site in the last hour")),
    ("sign_up", 429, "over_email_send_rate_limit", (TooManyAttempts, "try again later")),
    ("sign_in", 503, "unexpected_failure", (AuthUnavailable, "unavailable right now; nothing is wrong with your email or password")),
    ("sign_in", 500, "unexpected_failure", (AuthUnavailable, "unavailable right now")),
])
def test_gotrue_limits_and_outages_are_sentences_not_a_wrong_password(supa, supabase_loopback, action, status, code, expected) -> None:  # type: ignore[no-untyped-def]
    address = email()
    supa.users.sign_up(address, "password1")
    calls = {"sign_in": lambda: supa.users.sign_in(address, "password1"), "guest": supa.users.guest,
             "sign_up": lambda: supa.users.sign_up(email(), "password1")}
    supabase_loopback.auth_failure = (status, code)
    try:
        with pytest.raises(expected[0], match=expected[1]) as refused:
            calls[action]()
    finally:
        supabase_loopback.auth_failure = None
    assert "do not match" not in str(refused.value)


@pytest.mark.services
def test_an_auth_service_that_refuses_connections_is_unavailable_not_a_wrong_password() -> None:
    import socket

    from store.supabase import SupabaseStore

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    down = SupabaseStore(f"http://127.0.0.1:{port}", "anon-key")
    with pytest.raises(AuthUnavailable, match="nothing is wrong with your email or password"):
        down.users.sign_in("ana@example.com", "password1")
    with pytest.raises(AuthUnavailable):
        down.users.guest()


@pytest.mark.services
def test_users_cannot_read_or_write_sessions_through_the_api(supa, supabase_loopback) -> None:  # type: ignore[no-untyped-def]
    from postgrest.exceptions import APIError

    ana = supa.users.sign_up(email(), "password1")
    supa.sessions.start(ana, SESSION_TTL_S)
    for client in (ana.session, supa.clients.for_viewer(None)):
        with pytest.raises(APIError) as refused:
            client.table("sessions").select("*").execute()
        assert refused.value.code == "42501"
        with pytest.raises(APIError):
            client.table("sessions").insert({"user_id": ana.id, "token_hash": "0" * 64, "expires_at": "2100-01-01T00:00:00+00:00"}).execute()
