"""Gateway cache benchmark (a report, not a test): run ``python bench/gateways.py`` from the repo root.

Prints: cache-hit latency (median, p95) in-process and with Redis on loopback (if Redis answers on
REDIS_URL, default redis://127.0.0.1:6379/15), upstream requests made by 32 concurrent identical
calls, and the time to first result when the upstream is down but a stale value exists. The upstream
is the local replay server (tests/gateways/replay_server.py) serving the real bundled data.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateways.cache import Cache, CachedGateway, MemoryBackend, RedisBackend
from gateways.fred import FredGateway, TokenBucket
from tests.gateways.replay_server import FRED_KEY, ReplayServer

START, END = date(2015, 1, 1), date(2024, 12, 31)


def fred(server: ReplayServer) -> FredGateway:
    return FredGateway(FRED_KEY, server.url + "/fred", timeout=5, throttle=TokenBucket(10_000, 10_000))


def hit_latency(gateway: CachedGateway, n: int = 2000) -> tuple[float, float]:
    gateway.series("DGS10", START, END)  # fill
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        gateway.series("DGS10", START, END)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * len(samples))]


def coalesced_calls(server: ReplayServer, cache: Cache, n: int = 32) -> int:
    server.delay, before = 0.2, server.hits("/fred/series/observations")
    gateway = CachedGateway(fred(server), cache)
    barrier = threading.Barrier(n)

    def call(_: int) -> None:
        barrier.wait()
        gateway.series("DGS2", START, END)

    with ThreadPoolExecutor(n) as pool:
        list(pool.map(call, range(n)))
    server.delay = 0.0
    return server.hits("/fred/series/observations") - before


def stale_time_to_first_result(server: ReplayServer, backend_factory) -> float:
    now = [time.time()]
    clock = lambda: now[0]  # noqa: E731
    backend = backend_factory(clock)
    gateway = CachedGateway(fred(server), Cache(backend, clock=clock))
    gateway.series("T10Y2Y", START, END)
    now[0] += 3600  # an hour later: expired
    server.fail("/fred", "503")
    t = time.perf_counter()
    result = gateway.series("T10Y2Y", START, END)
    elapsed = (time.perf_counter() - t) * 1000
    server.heal()
    assert result.provenance.warning, "expected a stale value with a warning"
    return elapsed


def redis_backend(url: str, clock=time.time) -> RedisBackend | None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        client.ping()
        client.flushdb()
    except Exception as exc:  # a report, not a test: say why and carry on
        print(f"Redis at {url.split('@')[-1]} not available ({type(exc).__name__}); skipping the Redis figures")
        return None
    return RedisBackend(url, clock=clock)


def main() -> None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    with ReplayServer() as server:
        print("Gateway cache benchmark (DGS10 2015-2024, 2,506 observations; upstream = local replay server)")
        med, p95 = hit_latency(CachedGateway(fred(server), Cache()))
        print(f"  cache hit, in-process     median {med:.3f} ms   p95 {p95:.3f} ms")
        if redis_backend(url):
            med, p95 = hit_latency(CachedGateway(fred(server), Cache(RedisBackend(url))))
            print(f"  cache hit, Redis loopback median {med:.3f} ms   p95 {p95:.3f} ms")
        print(f"  32 concurrent identical calls, in-process: {coalesced_calls(server, Cache())} upstream request(s)")
        if redis_backend(url):
            shared = [Cache(RedisBackend(url), poll_seconds=0.01) for _ in range(2)]
            server.delay, before = 0.2, server.hits("/fred/series/observations")
            gateways = [CachedGateway(fred(server), c) for c in shared]
            barrier = threading.Barrier(32)

            def call(i: int) -> None:
                barrier.wait()
                gateways[i % 2].series("UNRATE", START, END)

            with ThreadPoolExecutor(32) as pool:
                list(pool.map(call, range(32)))
            server.delay = 0.0
            print(f"  32 concurrent identical calls, two caches sharing Redis: {server.hits('/fred/series/observations') - before} upstream request(s)")
        ms = stale_time_to_first_result(server, lambda clock: MemoryBackend(clock=clock))
        print(f"  upstream down (503), stale value served, in-process: first result in {ms:.1f} ms")
        if redis_backend(url):
            ms = stale_time_to_first_result(server, lambda clock: RedisBackend(url, clock=clock))
            print(f"  upstream down (503), stale value served, Redis:      first result in {ms:.1f} ms")


if __name__ == "__main__":
    main()
