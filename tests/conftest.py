"""Shared fixtures. Tests that need PostgreSQL, Redis or Chromium skip on a laptop without them, with
the reason; with AUSTER_REQUIRE_SERVICES=1 (set by .ci/run) a missing service is a failure instead."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

from engine.data import DataAccess
from services.data import sample_access

REQUIRE_SERVICES = os.environ.get("AUSTER_REQUIRE_SERVICES") == "1"
POSTGRES_DSN = os.environ.get("AUSTER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# Under pytest-xdist each worker (gw0, gw1, ...) gets its own Redis database, counting down from 15,
# because the tests that use Redis flush their database.
_XDIST_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("AUSTER_TEST_REDIS", f"redis://127.0.0.1:6379/{15 - _XDIST_WORKER}")


def missing_service(reason: str) -> None:
    """Skip with ``reason`` on a laptop; fail in CI, where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (AUSTER_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """A DSN for the machine's PostgreSQL (trust auth)."""
    if not _port_open("127.0.0.1", 5432):
        missing_service("PostgreSQL is not answering on 127.0.0.1:5432")
    return POSTGRES_DSN


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A URL for the machine's Redis (database 15, flushed by the tests that use it)."""
    if not _port_open("127.0.0.1", 6379):
        missing_service("Redis is not answering on 127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        missing_service("Debian's chromium is not installed (apt-get install -y chromium)")
    return path


@pytest.fixture
def sample_data() -> DataAccess:
    """Data access over the bundled real sample snapshot."""
    return sample_access()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``pytest -n 2 --dist loadgroup`` (``make test``) the browser tests share one worker, one at a time:
    two Chromiums and two Streamlit servers at once on a two-core machine only make each journey slower and
    its waits flakier, while the other worker goes through the rest of the suite."""
    for item in items:
        if "tests/e2e/" in item.nodeid.replace("\\", "/") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
