"""Fixtures for the live gateways: the replay server and gateways pointed at it with short timeouts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateways import factory
from gateways.fred import FredGateway, TokenBucket
from gateways.polygon import PolygonGateway
from tests.gateways.replay_server import FRED_KEY, POLYGON_KEY, ReplayServer

TIMEOUT = 0.5  # seconds: the slow-response tests wait this long, no more


@pytest.fixture(scope="session")
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


@pytest.fixture(autouse=True)
def _healthy(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with a healthy server, an empty request log and no process-wide gateways."""
    factory.reset()
    if "server" in request.fixturenames:
        replay: ReplayServer = request.getfixturevalue("server")
        replay.heal()
        replay.delay = 0.0
        replay.requests.clear()
        replay.counts.clear()
    yield
    factory.reset()


def fast_bucket() -> TokenBucket:
    return TokenBucket(rate=10_000, burst=10_000)


@pytest.fixture
def fred(server: ReplayServer) -> FredGateway:
    return FredGateway(FRED_KEY, server.url + "/fred", timeout=TIMEOUT, throttle=fast_bucket())


@pytest.fixture
def polygon(server: ReplayServer) -> PolygonGateway:
    return PolygonGateway(POLYGON_KEY, server.url, timeout=TIMEOUT, retries=2, backoff_factor=0, respect_retry_after=False)
