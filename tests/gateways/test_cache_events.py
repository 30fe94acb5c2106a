"""What the cache reports to its ``GatewayEvents`` listener (the admin page's providers' health): a hit, a miss (a
fetch from the provider), a stale copy served and the provider's failures with their typed error codes."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from contracts.errors import DataNotFound, UpstreamRateLimited, UpstreamUnavailable
from gateways.cache import DEFAULT_TTLS, Cache, CachedGateway, MemoryBackend
from gateways.fred import FredGateway
from tests.gateways.conftest import TIMEOUT, fast_bucket
from tests.gateways.replay_server import FRED_KEY, ReplayServer
from tests.gateways.test_cache import Clock, Upstream, concurrently


class Heard:
    """A listener that keeps every event it hears, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []
        self.lock = threading.Lock()

    def note(self, provider: str, kind: str, event: str, code: str = "") -> None:
        with self.lock:
            self.events.append((provider, kind, event, code))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def fred_behind_cache(server: ReplayServer, clock: Clock, heard: Heard) -> CachedGateway:
    fred = FredGateway(FRED_KEY, server.url + "/fred", timeout=TIMEOUT, throttle=fast_bucket())
    return CachedGateway(fred, Cache(MemoryBackend(clock=clock), clock=clock, events=heard))


def test_a_fetch_is_a_miss_and_the_calls_within_its_ttl_are_hits(server: ReplayServer, clock: Clock) -> None:
    heard = Heard()
    gateway = fred_behind_cache(server, clock, heard)
    for _ in range(3):
        gateway.series("DGS2", date(2024, 1, 1), date(2024, 3, 1))
    gateway.series_info("DGS2")
    assert heard.events == [("fred", "series", "miss", ""), ("fred", "series", "hit", ""), ("fred", "series", "hit", ""), ("fred", "series_info", "miss", "")]


def test_an_outage_is_an_error_with_its_code_and_the_stale_copy_it_falls_back_on(server: ReplayServer, clock: Clock) -> None:
    heard = Heard()
    gateway = fred_behind_cache(server, clock, heard)
    gateway.series("DGS2", date(2024, 1, 1), date(2024, 3, 1))
    clock.now += DEFAULT_TTLS["series"] + 600
    server.fail("/fred", "503")
    assert gateway.series("DGS2", date(2024, 1, 1), date(2024, 3, 1)).provenance.warning  # served stale
    with pytest.raises(UpstreamUnavailable):  # nothing kept for this one
        gateway.series("DGS10", date(2024, 1, 1), date(2024, 3, 1))
    assert heard.events[1:] == [
        ("fred", "series", "miss", ""), ("fred", "series", "error", "E_UPSTREAM_UNAVAILABLE"), ("fred", "series", "stale", "E_UPSTREAM_UNAVAILABLE"),
        ("fred", "series", "miss", ""), ("fred", "series", "error", "E_UPSTREAM_UNAVAILABLE"),
    ]


def test_a_rate_limit_is_reported_as_such(server: ReplayServer, clock: Clock) -> None:
    heard = Heard()
    gateway = fred_behind_cache(server, clock, heard)
    server.fail("/fred", "429")
    with pytest.raises(UpstreamRateLimited):
        gateway.series("DGS2", date(2024, 1, 1), date(2024, 3, 1))
    assert heard.events == [("fred", "series", "miss", ""), ("fred", "series", "rate_limited", "E_UPSTREAM_RATE_LIMITED")]


def test_callers_that_wait_for_one_fetch_are_hits_and_a_shared_failure_is_reported_once(clock: Clock) -> None:
    heard = Heard()
    upstream = Upstream()
    gateway = CachedGateway(upstream, Cache(MemoryBackend(clock=clock), clock=clock, events=heard))
    upstream.delay = 0.2
    concurrently(8, lambda: gateway.quote("SPY"))
    assert upstream.calls == 1
    assert sorted(e[2] for e in heard.events) == ["hit"] * 7 + ["miss"]
    heard.events.clear()
    clock.now += 3600
    upstream.error = DataNotFound("SPY was delisted")
    concurrently(4, lambda: gateway.quote("SPY"))
    assert [e for e in heard.events if e[2] != "miss"] == [("stub", "quote", "error", "E_DATA_NOT_FOUND")]


def test_a_listener_that_fails_never_fails_the_request(clock: Clock) -> None:
    class Broken:
        def note(self, provider: str, kind: str, event: str, code: str = "") -> None:
            raise RuntimeError("the counter is broken")

    gateway = CachedGateway(Upstream(), Cache(MemoryBackend(clock=clock), clock=clock, events=Broken()))
    assert gateway.quote("SPY").value["symbol"] == "SPY"
    assert gateway.quote("SPY").provenance.cache_hit


def test_each_rate_limit_polygons_client_retries_is_counted_and_the_last_is_the_failure(server: ReplayServer, clock: Clock, polygon) -> None:
    heard = Heard()
    gateway = CachedGateway(polygon, Cache(MemoryBackend(clock=clock), clock=clock, events=heard))
    server.fail("/v2/aggs", "429", times=1)  # one refusal, retried away
    assert len(gateway.daily_bars("SPY", date(2026, 1, 1), date(2026, 2, 1)).value) > 10
    assert heard.events == [("polygon", "daily_bars", "miss", ""), ("polygon", "daily_bars", "rate_limited", "E_UPSTREAM_RATE_LIMITED")]
    heard.events.clear()
    server.fail("/v3/snapshot/options", "429")  # every answer a refusal: the client gives up after its retries
    with pytest.raises(UpstreamRateLimited):
        gateway.options_chain("SPY", date(2026, 6, 18))
    limited = [e for e in heard.events if e[2] == "rate_limited"]
    assert len(limited) == server.hits("/v3/snapshot/options") == 3  # one event per refusal, the last one the fetch's failure
    assert {e[:2] for e in heard.events} == {("polygon", "options_chain")}
