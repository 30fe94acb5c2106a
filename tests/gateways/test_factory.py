"""Choosing providers from configuration, sharing gateways per process, and the same model giving the
same numbers live (replayed) and on the sample data."""

from __future__ import annotations

import pytest

from contracts.errors import ConfigurationError
from engine.data import DataAccess
from engine.executor import execute
from gateways import factory
from services.config import Settings
from services.data import data_access as compose
from services.data import describe_data, sample_access
from tests.gateways.replay_server import FRED_KEY, POLYGON_KEY, ReplayServer

SPREAD_AND_SPY = {
    "version": "1.0",
    "steps": [
        {"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "2023-01-01", "end": "2024-12-31"}},
        {"id": "dgs2", "operation": "fetch_series", "params": {"series_id": "DGS2", "start": "2023-01-01", "end": "2024-12-31"}},
        {"id": "spread", "operation": "sub", "inputs": ["dgs10", "dgs2"]},
        {"id": "spy", "operation": "fetch_prices", "params": {"symbol": "SPY", "start": "2023-01-01", "end": "2024-12-31"}},
    ],
    "outputs": {"series": [{"id": "spread", "source": "spread", "label": "10y - 2y (pp)"}, {"id": "spy", "source": "spy", "label": "SPY close"}]},
}


def data_access(mode: str, env: dict[str, str]) -> DataAccess:
    """The composed data access for ``mode`` with exactly ``env`` as the configuration (no secrets file)."""
    return compose(Settings.load(env=env, secrets={}), mode)


def describe_mode(mode: str, env: dict[str, str]) -> dict[str, str]:
    return describe_data(Settings.load(env=env, secrets={}), mode)


def live_env(server: ReplayServer, **extra: str) -> dict[str, str]:
    return {"FRED_API_KEY": FRED_KEY, "MASSIVE_API_KEY": POLYGON_KEY, "FRED_BASE_URL": server.url + "/fred",
            "POLYGON_BASE_URL": server.url, "AUSTER_DATA_TIMEOUT": "2", **extra}


def test_without_keys_everything_is_sample() -> None:
    assert describe_mode("auto", {}) == {"macro": "sample", "market": "sample", "derivatives": "sample", "cache": "memory"}
    assert data_access("auto", {}).describe() == {"macro": "sample", "market": "sample", "derivatives": "sample"}


def test_auto_goes_live_per_kind_of_data() -> None:
    assert describe_mode("auto", {"FRED_API_KEY": "k"})["macro"] == "fred"
    assert describe_mode("auto", {"FRED_API_KEY": "k"})["market"] == "sample"
    assert describe_mode("auto", {"POLYGON_API_KEY": "k"}) == {"macro": "sample", "market": "polygon", "derivatives": "polygon", "cache": "memory"}
    assert describe_mode("sample", {"FRED_API_KEY": "k", "MASSIVE_API_KEY": "k"})["macro"] == "sample"
    assert describe_mode("auto", {"KV_URL": "redis://127.0.0.1:6379/15"})["cache"] == "redis"


def test_live_without_keys_is_a_sentence() -> None:
    with pytest.raises(ConfigurationError) as info:
        data_access("live", {"FRED_API_KEY": "k"})
    assert str(info.value) == (
        "Live data needs MASSIVE_API_KEY or POLYGON_API_KEY; set them in the environment or in .streamlit/secrets.toml, or use sample data."
    )
    with pytest.raises(ConfigurationError, match="Data mode 'online' is not one of auto, live, sample"):
        data_access("online", {})


def test_gateways_and_cache_are_shared_per_configuration(server: ReplayServer) -> None:
    first, second = data_access("live", live_env(server)), data_access("live", live_env(server))
    assert first is not second and first.provenance is not second.provenance  # one log per run
    assert first.macro is second.macro and first.market is second.market is second.derivatives
    assert first.macro.cache is first.market.cache
    other = data_access("live", live_env(server, AUSTER_DATA_TIMEOUT="3"))
    assert other.macro is not first.macro
    assert FRED_KEY not in repr(first.macro) and POLYGON_KEY not in repr(first.market)


def test_a_bad_timeout_setting_is_a_sentence() -> None:
    with pytest.raises(ConfigurationError, match="AUSTER_DATA_TIMEOUT is 'soon'; it must be a number between"):
        data_access("auto", {"FRED_API_KEY": "k", "AUSTER_DATA_TIMEOUT": "soon"})


def test_a_live_run_and_a_sample_run_give_the_same_numbers(server: ReplayServer) -> None:
    live = execute(SPREAD_AND_SPY, data=data_access("live", live_env(server)))
    sample = execute(SPREAD_AND_SPY, data=sample_access())
    assert live.outputs == sample.outputs
    assert [p["provider"] for p in live.provenance] == ["fred", "fred", "polygon"]
    assert [p["provider"] for p in sample.provenance] == ["sample"] * 3
    assert all(p["live"] for p in live.provenance)
    again = execute(SPREAD_AND_SPY, data=data_access("live", live_env(server)))
    assert again.outputs == live.outputs and all(p["cache_hit"] for p in again.provenance)
    assert server.hits("/fred/series/observations") == 2 and server.hits("/v2/aggs") == 1


def test_reset_forgets_shared_gateways(server: ReplayServer) -> None:
    before = data_access("live", live_env(server)).macro
    factory.reset()
    assert data_access("live", live_env(server)).macro is not before
