"""The gateway cache: TTL per kind, keys without secrets, single-flight under 32 concurrent callers,
stale-on-error, and the Redis backend (shared between processes) against the machine's Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from contracts.data import Fetched, Provenance
from contracts.errors import DataNotFound, UpstreamUnavailable
from gateways.cache import DEFAULT_TTLS, Cache, CachedGateway, MemoryBackend, RedisBackend, make_key
from gateways.fred import FredGateway
from gateways.sample import SampleGateway
from tests.gateways.conftest import TIMEOUT, fast_bucket
from tests.gateways.replay_server import FRED_KEY, POLYGON_KEY, ReplayServer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Upstream:
    """A gateway stand-in that counts calls and fails on demand."""

    name = "stub"

    def __init__(self) -> None:
        self.calls = 0
        self.error: Exception | None = None
        self.delay = 0.0  # seconds each call takes, so concurrent callers overlap it
        self.lock = threading.Lock()

    def quote(self, symbol: str) -> Fetched[dict[str, Any]]:
        with self.lock:
            self.calls += 1
        time.sleep(self.delay)
        if self.error:
            raise self.error
        return Fetched({"symbol": symbol.upper(), "price": 100.0 + self.calls}, Provenance("stub", "quote", symbol.upper(), "2026-08-21"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stub(clock: Clock) -> tuple[Upstream, CachedGateway]:
    upstream = Upstream()
    return upstream, CachedGateway(upstream, Cache(MemoryBackend(clock=clock), clock=clock))


def concurrently(n: int, call: Callable[[], Any]) -> list[Any]:
    """Run ``call`` from ``n`` threads released together; return results (or raised errors)."""
    barrier = threading.Barrier(n)

    def one() -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: one(), range(n)))


# --- TTL and keys ----------------------------------------------------------------------------------


def test_a_fresh_value_is_served_from_the_cache_until_its_ttl(stub: tuple[Upstream, CachedGateway], clock: Clock) -> None:
    upstream, gateway = stub
    first = gateway.quote("spy")
    second = gateway.quote(" SPY ")
    assert upstream.calls == 1 and second.value == first.value
    assert not first.provenance.cache_hit and second.provenance.cache_hit
    clock.now += DEFAULT_TTLS["quote"] + 1
    third = gateway.quote("SPY")
    assert upstream.calls == 2 and not third.provenance.cache_hit and third.value["price"] == 102.0


def test_ttls_follow_the_design_and_can_be_overridden() -> None:
    assert DEFAULT_TTLS["options_chain"] == DEFAULT_TTLS["quote"] == 300
    assert DEFAULT_TTLS["daily_bars"] == DEFAULT_TTLS["series"] == 900
    assert DEFAULT_TTLS["series_info"] == DEFAULT_TTLS["search"] == 86400
    assert Cache(ttl={"quote": 5}).ttl["quote"] == 5
    with pytest.raises(ValueError, match="Unknown cache kinds"):
        Cache(ttl={"quotes": 5})


def test_keys_name_provider_and_call_but_never_a_secret(server: ReplayServer) -> None:
    fred = FredGateway(FRED_KEY, server.url + "/fred", throttle=fast_bucket())
    key = make_key(fred.name, fred.cache_scope, "series", {"id": "DGS10", "start": "2024-01-01"})
    assert key.startswith("auster:gw:v2:fred:series:") and FRED_KEY not in key
    assert key == make_key("fred", fred.cache_scope, "series", {"start": "2024-01-01", "id": "DGS10"})
    assert key != make_key("fred", fred.cache_scope, "series", {"id": "DGS10", "start": "2024-01-02"})
    assert key != make_key("fred", "fred@http://elsewhere", "series", {"id": "DGS10", "start": "2024-01-01"})


def test_callers_cannot_corrupt_the_cached_value() -> None:
    gateway = CachedGateway(SampleGateway(), Cache())
    frame = gateway.daily_bars("SPY", date(2024, 1, 1), date(2024, 3, 1)).value
    frame.loc[:, "close"] = -1.0
    assert (gateway.daily_bars("SPY", date(2024, 1, 1), date(2024, 3, 1)).value["close"] > 0).all()


# --- single-flight ---------------------------------------------------------------------------------


def test_32_concurrent_identical_calls_make_one_upstream_request(server: ReplayServer) -> None:
    server.delay = 0.2  # keep the upstream busy while the others arrive
    gateway = CachedGateway(FredGateway(FRED_KEY, server.url + "/fred", timeout=2, throttle=fast_bucket()), Cache())
    results = concurrently(32, lambda: gateway.series("DGS10", date(2024, 1, 1), date(2024, 6, 30)))
    assert server.hits("/fred/series/observations") == 1
    assert all(isinstance(r, Fetched) for r in results)
    assert all(r.value.equals(results[0].value) for r in results)
    assert sum(not r.provenance.cache_hit for r in results) == 1


def test_concurrent_callers_share_one_failure(stub: tuple[Upstream, CachedGateway]) -> None:
    upstream, gateway = stub
    upstream.error = DataNotFound("no such thing")
    upstream.delay = 0.2  # the failing call is still running when the other 15 arrive
    results = concurrently(16, lambda: gateway.quote("SPY"))
    assert all(isinstance(r, DataNotFound) and str(r) == "no such thing" for r in results)
    assert upstream.calls == 1


# --- stale-on-error --------------------------------------------------------------------------------


def test_an_outage_serves_the_expired_value_with_a_warning(server: ReplayServer, clock: Clock) -> None:
    fred = FredGateway(FRED_KEY, server.url + "/fred", timeout=TIMEOUT, throttle=fast_bucket())
    gateway = CachedGateway(fred, Cache(MemoryBackend(clock=clock), clock=clock))
    fresh = gateway.series("DGS2", date(2024, 1, 1), date(2024, 3, 1))
    clock.now += DEFAULT_TTLS["series"] + 600
    server.fail("/fred", "503")
    stale = gateway.series("DGS2", date(2024, 1, 1), date(2024, 3, 1))
    pd.testing.assert_series_equal(stale.value, fresh.value)
    assert stale.provenance.cache_hit
    assert stale.provenance.warning == "FRED is unavailable (it answered 503); try again in a few minutes. Showing the copy cached 25 minutes ago."
    with pytest.raises(UpstreamUnavailable, match="FRED is unavailable"):  # nothing cached for another series
        gateway.series("DGS10", date(2024, 1, 1), date(2024, 3, 1))


def test_the_stale_warning_reaches_the_run_result(server: ReplayServer, clock: Clock) -> None:
    from engine.data import DataAccess
    from engine.executor import execute

    fred = CachedGateway(FredGateway(FRED_KEY, server.url + "/fred", timeout=TIMEOUT, throttle=fast_bucket()), Cache(MemoryBackend(clock=clock), clock=clock))
    sample = SampleGateway()
    doc = {"version": "1.0", "steps": [{"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "2024-01-01", "end": "2024-02-01"}}],
           "outputs": {"series": [{"id": "dgs10", "source": "dgs10", "label": "10y"}]}}
    execute(doc, data=DataAccess(fred, sample, sample))
    clock.now += 3600
    server.fail("/fred", "429")
    result = execute(doc, data=DataAccess(fred, sample, sample))
    assert result.warnings and "FRED is rate limiting requests" in result.warnings[0]
    assert result.provenance[0]["cache_hit"] is True


def test_not_found_is_never_covered_by_a_stale_value(stub: tuple[Upstream, CachedGateway], clock: Clock) -> None:
    upstream, gateway = stub
    gateway.quote("SPY")
    clock.now += 3600
    upstream.error = DataNotFound("SPY was delisted")
    with pytest.raises(DataNotFound):
        gateway.quote("SPY")


# --- Redis -----------------------------------------------------------------------------------------


@pytest.fixture
def redis_backend(redis_url: str) -> Iterator[Callable[[], RedisBackend]]:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield lambda: RedisBackend(redis_url)
    client.flushdb()


@pytest.mark.services
def test_redis_round_trips_values_exactly(redis_backend: Callable[[], RedisBackend]) -> None:
    frame = pd.DataFrame(
        {"close": [1.5, np.nan, 3.25], "volume": pd.array([10, None, 30], dtype="Int64"), "type": ["call", "put", None],
         "expiration": pd.to_datetime(["2026-05-08", "2026-05-15", None])},
        index=pd.DatetimeIndex(["2026-05-01", "2026-05-04", "2026-05-05"], name="date"),
    )
    upstream_calls = []

    def fetch() -> Fetched[pd.DataFrame]:
        upstream_calls.append(1)
        return Fetched(frame, Provenance("stub", "daily_bars", "SPY", "2026-05-05", detail={"vendor": "x"}))

    writer, reader = Cache(redis_backend()), Cache(redis_backend())  # two processes, one Redis
    writer.get_or_fetch("auster:gw:v1:stub:daily_bars:k", "daily_bars", fetch)
    got = reader.get_or_fetch("auster:gw:v1:stub:daily_bars:k", "daily_bars", fetch)
    pd.testing.assert_frame_equal(got.value, frame, check_exact=True)
    assert got.value.dtypes.equals(frame.dtypes) and got.value.index.name == "date"
    assert got.provenance.cache_hit and got.provenance.detail == {"vendor": "x"}
    assert len(upstream_calls) == 1


@pytest.mark.services
def test_redis_coalesces_across_processes(redis_backend: Callable[[], RedisBackend], server: ReplayServer) -> None:
    server.delay = 0.2
    gateways = [
        CachedGateway(FredGateway(FRED_KEY, server.url + "/fred", timeout=2, throttle=fast_bucket()), Cache(redis_backend(), poll_seconds=0.01))
        for _ in range(2)  # two app processes: separate in-process flights, one shared Redis
    ]
    barrier = threading.Barrier(32)

    def call(i: int) -> Fetched[pd.Series]:
        barrier.wait()
        return gateways[i % 2].series("DGS10", date(2023, 1, 1), date(2023, 12, 31))

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(call, range(32)))
    assert server.hits("/fred/series/observations") == 1
    assert all(r.value.equals(results[0].value) for r in results)


@pytest.mark.services
def test_redis_serves_stale_on_error_and_keys_carry_no_secret(redis_backend: Callable[[], RedisBackend], server: ReplayServer, redis_url: str) -> None:
    import redis

    clock = Clock()
    backend = redis_backend()
    backend._clock = clock
    from gateways.polygon import PolygonGateway

    polygon = PolygonGateway(POLYGON_KEY, server.url, timeout=TIMEOUT, retries=0)
    gateway = CachedGateway(polygon, Cache(backend, clock=clock))
    fresh = gateway.options_chain("MSFT", date(2026, 8, 7))
    clock.now += DEFAULT_TTLS["options_chain"] + 1
    server.fail("/v3/snapshot", "500")
    stale = gateway.options_chain("MSFT", date(2026, 8, 7))
    pd.testing.assert_frame_equal(stale.value, fresh.value)
    assert stale.provenance.warning and "Showing the copy cached 5 minutes ago" in stale.provenance.warning
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*")]
    assert keys and all(POLYGON_KEY not in k for k in keys)


def test_a_redis_outage_falls_back_to_upstream() -> None:
    from tests.gateways.replay_server import closed_port_url

    backend = RedisBackend(closed_port_url().replace("http", "redis") + "/15", socket_timeout=0.2)
    upstream = Upstream()
    gateway = CachedGateway(upstream, Cache(backend))
    assert gateway.quote("SPY").value["price"] == 101.0
    assert upstream.calls == 1


@pytest.mark.services
def test_what_redis_holds_is_data_and_a_planted_pickle_never_runs(redis_backend: Callable[[], RedisBackend], redis_url: str, tmp_path) -> None:
    """Regression (issue 9): values were pickled, so write access to Redis was code execution in every app."""
    import pickle

    import redis

    client = redis.Redis.from_url(redis_url)
    backend = redis_backend()
    series = pd.Series([1.0, np.nan], index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"]), name="DGS10")
    cache = Cache(backend)
    cache.get_or_fetch("auster:gw:v2:stub:series:k", "series", lambda: Fetched(series, Provenance("stub", "fred_series", "DGS10", "2024-01-03")))
    stored = client.get("auster:gw:v2:stub:series:k")
    assert stored.startswith(b"AUS1") and b"pandas" in stored  # a JSON header and Arrow, not a pickle
    with pytest.raises(Exception, match=r"could not find MARK|invalid load key|unpickling"):
        pickle.loads(stored)

    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):  # what an attacker with Redis access would plant
            return (Path.touch, (marker,))

    client.set("auster:gw:v2:stub:quote:planted", pickle.dumps(Exploit()))
    assert backend.get("auster:gw:v2:stub:quote:planted") is None
    assert not marker.exists()


def test_a_hung_redis_does_not_stall_requests() -> None:
    """Regression (issue 9): a Redis that accepts connections and never answers stalled a run for 25 s."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts (the kernel completes the handshake) and never answers
    try:
        backend = RedisBackend(f"redis://127.0.0.1:{listener.getsockname()[1]}/0")
        upstream = Upstream()
        gateway = CachedGateway(upstream, Cache(backend))
        started = time.monotonic()
        for _ in range(20):
            assert gateway.quote("SPY").value["symbol"] == "SPY"
        assert time.monotonic() - started < 2  # one short timeout, then Redis is left alone for a while
        assert upstream.calls == 20
    finally:
        listener.close()
