"""Limits nobody can dodge (issue 9) on identity: sign-in throttling, guest caps, bounded password hashing,
the guest quota, and an unavailable store that is never a wrong password."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from contracts.errors import AuthError, AuthUnavailable, RateLimitExceeded, TooManyAttempts
from contracts.rules import GUEST_DAILY_RUNS
from services.auth import AuthService
from services.facade import Services
from services.throttle import ACCOUNT_FREE_FAILURES, ADDRESS_FREE_FAILURES, GuestCaps, MemoryEvents, RedisEvents, SignInThrottle, delay_after
from store.sqlite import SqliteStore
from tests.store.conftest import FAST_HASHER


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = SqliteStore(tmp_path / "auth.db", password_hasher=FAST_HASHER)
    clock, events = Clock(), MemoryEvents()
    auth = AuthService(store, throttle=SignInThrottle(events, clock), guest_caps=GuestCaps(events, per_address=5, total=8, clock=clock))
    yield auth, clock, store
    store.close()


def test_delays_grow_after_the_free_failures() -> None:
    assert [delay_after(n, 5) for n in range(4, 10)] == [0, 2, 4, 8, 16, 32]
    assert delay_after(40, 5) == 15 * 60


def test_two_hundred_guesses_are_throttled_and_the_right_password_waits_too(clocked) -> None:  # type: ignore[no-untyped-def]
    auth, clock, _ = clocked
    auth.sign_up("ana@example.com", "the right one")
    refused = 0
    for _ in range(200):
        try:
            auth.sign_in("ana@example.com", "a guess", address="203.0.113.7")
        except TooManyAttempts:
            refused += 1
        except AuthError:
            pass
    assert refused == 200 - ACCOUNT_FREE_FAILURES  # without waiting, only the first five were even checked
    with pytest.raises(TooManyAttempts, match=r"Too many failed sign-ins for this account; wait 2 seconds"):
        auth.sign_in("ana@example.com", "the right one", address="198.51.100.1")
    clock.now += 2
    assert auth.sign_in("ana@example.com", "the right one", address="198.51.100.1").email == "ana@example.com"
    auth.sign_in("ana@example.com", "the right one")  # success cleared the account's count


def test_an_address_guessing_many_accounts_is_throttled(clocked) -> None:  # type: ignore[no-untyped-def]
    auth, clock, _ = clocked
    for n in range(ADDRESS_FREE_FAILURES):
        with pytest.raises(AuthError):
            auth.sign_in(f"user{n}@example.com", "guess", address="203.0.113.9")
    with pytest.raises(TooManyAttempts, match="for your network"):
        auth.sign_in("someone-else@example.com", "guess", address="203.0.113.9")
    clock.now += 2
    with pytest.raises(AuthError, match="do not match"):
        auth.sign_in("someone-else@example.com", "guess", address="203.0.113.9")


def test_guest_creation_is_capped_per_address_and_in_total(clocked) -> None:  # type: ignore[no-untyped-def]
    auth, clock, _ = clocked
    for _ in range(5):
        auth.guest(address="203.0.113.7")
    with pytest.raises(TooManyAttempts, match=r"Your network has started 5 guest sessions in the last hour.*sign up for a free account"):
        auth.guest(address="203.0.113.7")
    for _ in range(3):
        auth.guest(address="198.51.100.1")
    with pytest.raises(TooManyAttempts, match="Too many guest sessions were started on this site in the last hour; sign up"):
        auth.guest(address="192.0.2.1")
    clock.now += 3601
    assert auth.guest(address="203.0.113.7").is_guest


def test_the_caps_come_from_the_settings(tmp_path: Path, sample) -> None:  # type: ignore[no-untyped-def]
    import services
    from services.config import Settings

    settings = Settings.load(env={"AUSTER_GUESTS_PER_ADDRESS_HOUR": "1", "AUSTER_GUESTS_PER_HOUR": "2", "AUSTER_DB_PATH": str(tmp_path / "c.db")}, secrets={})
    assert (settings.guests_per_address_hour, settings.guests_per_hour, settings.trusted_proxies) == (1, 2, 0)
    svc = services.build(settings, store=SqliteStore(settings.db_path, password_hasher=FAST_HASHER), data=sample)
    try:
        svc.auth.guest(address="203.0.113.7")
        with pytest.raises(TooManyAttempts):
            svc.auth.guest(address="203.0.113.7")
    finally:
        svc.close()


def test_throttle_counts_are_shared_through_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    clock = Clock()
    one, other = SignInThrottle(RedisEvents(redis_url), clock), SignInThrottle(RedisEvents(redis_url), clock)
    for _ in range(ACCOUNT_FREE_FAILURES):
        one.failed("ana@example.com", None)
    with pytest.raises(TooManyAttempts):
        other.check("ana@example.com", None)  # another app instance sees the same failures


def test_a_hung_redis_falls_back_to_this_process() -> None:
    events = RedisEvents("redis://10.255.255.1:6379/0")  # never answers: the half-second timeout, then local counts
    started = time.monotonic()
    events.add("k", 1.0, 60)
    assert events.recent("k", 1.0, 60) == [1.0] and time.monotonic() - started < 5


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def _enter(self) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.05)

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def hash(self, password, *, salt=None):  # type: ignore[no-untyped-def]
        self._enter()
        try:
            return super().hash(password, salt=salt)
        finally:
            self._leave()

    def verify(self, hash, password):  # type: ignore[no-untyped-def]
        self._enter()
        try:
            return super().verify(hash, password)
        finally:
            self._leave()


def test_sixteen_concurrent_sign_ins_hash_at_most_four_at_a_time(tmp_path: Path) -> None:
    hasher = CountingHasher()
    store = SqliteStore(tmp_path / "h.db", password_hasher=hasher, hash_slots=4)
    try:
        store.users.sign_up("ana@example.com", "password1")
        outcomes: list[str] = []
        threads = [threading.Thread(target=lambda: outcomes.append(store.users.sign_in("ana@example.com", "password1").email)) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert outcomes == ["ana@example.com"] * 16 and hasher.peak == 4
    finally:
        store.close()


def test_sixteen_concurrent_argon2_sign_ins_add_far_less_than_a_gigabyte(tmp_path: Path) -> None:
    """The real argon2id defaults (64 MiB each): with four slots the resident memory grows by about 256 MiB, not 1 GiB."""
    store = SqliteStore(tmp_path / "m.db", hash_slots=4)  # the default hasher
    try:
        store.users.sign_up("ana@example.com", "password1")
        page = 4096

        def rss() -> int:
            return int(Path("/proc/self/statm").read_text().split()[1]) * page

        baseline, peak, done = rss(), [0], threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss())
                time.sleep(0.005)

        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [threading.Thread(target=lambda: store.users.sign_in("ana@example.com", "password1")) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        done.set()
        watcher.join()
        assert peak[0] - baseline < 512 * 1024 * 1024, f"{(peak[0] - baseline) / 2**20:.0f} MiB"
    finally:
        store.close()


def test_a_locked_database_is_unavailable_not_a_wrong_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from store.sqlite.db import unavailable_as_sentence

    store = SqliteStore(tmp_path / "locked.db", password_hasher=FAST_HASHER)
    try:
        store.users.sign_up("ana@example.com", "password1")

        def locked(*_: object) -> None:
            with unavailable_as_sentence():  # what every read does when another process holds the file past the busy timeout
                raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(store.db, "one", locked)
        with pytest.raises(AuthUnavailable, match="nothing is wrong with your email or password"):
            store.users.sign_in("ana@example.com", "password1")
    finally:
        store.close()


def test_a_guest_gets_fewer_runs_and_the_refusal_says_sign_up(svc: Services) -> None:
    guest = svc.auth.guest()
    assert guest.daily_limit == GUEST_DAILY_RUNS < svc.auth.sign_up("free@example.com", "password1").daily_limit
    for year in range(GUEST_DAILY_RUNS):
        svc.runs.run_model(guest, "spread-10y-2y", {"start": f"{2020 + year}-01-02"})
        time.sleep(0)  # different inputs: none of these is a cache hit
    with pytest.raises(RateLimitExceeded, match=f"You have used your {GUEST_DAILY_RUNS} guest runs today; sign up for a free account"):
        svc.runs.run_model(guest, "spread-10y-2y", {"start": "2019-01-02"})


def test_password_change_ends_the_other_sessions_and_sign_out_everywhere_all(svc: Services) -> None:
    ana = svc.auth.sign_up("ana@example.com", "password1")
    here, there = svc.auth.start_session(ana), svc.auth.start_session(ana)
    svc.auth.change_password(ana, "password1", "password2", token=here.token)
    assert svc.auth.resume(here.token).id == ana.id and svc.auth.resume(there.token) is None
    again = svc.auth.start_session(ana)
    svc.auth.sign_out(ana, token=here.token)
    assert svc.auth.resume(here.token) is None and svc.auth.resume(again.token) is not None
    svc.auth.sign_out(ana, everywhere=True)
    assert svc.auth.resume(again.token) is None
