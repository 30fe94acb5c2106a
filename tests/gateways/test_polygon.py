"""Polygon/Massive through polygon-api-client against the replay server: bars, quotes, expirations and
chains match the bundled snapshot; pagination is bounded; every failure is a typed sentence."""

from __future__ import annotations

import logging
import time
import traceback

import numpy as np
import pandas as pd
import pytest

from contracts.data import BAR_COLUMNS, CHAIN_COLUMNS
from contracts.errors import DataError, DataNotFound, NoData, NotEntitled, UpstreamRateLimited, UpstreamUnavailable
from gateways.polygon import PolygonGateway
from gateways.sample import SampleGateway
from tests.gateways.conftest import TIMEOUT
from tests.gateways.replay_server import POLYGON_KEY, ReplayServer, closed_port_url

SAMPLE = SampleGateway()


def assert_no_key(error: BaseException, caplog: pytest.LogCaptureFixture, key: str = POLYGON_KEY) -> None:
    text = "".join(traceback.format_exception(error)) + repr(error) + str(error) + caplog.text
    assert key not in text


# --- success paths -------------------------------------------------------------------------------


def test_daily_bars_match_the_bundled_data_across_pages(polygon: PolygonGateway, server: ReplayServer) -> None:
    live = polygon.daily_bars("spy", "2020-01-01", "2026-08-21")
    sample = SAMPLE.daily_bars("SPY", "2020-01-01", "2026-08-21")
    pd.testing.assert_frame_equal(live.value, sample.value)
    assert list(live.value.columns) == BAR_COLUMNS and live.value.index.name == "date"
    assert server.hits("/v2/aggs/ticker/SPY/range") == 2  # 1,668 bars in pages of 1,000, followed by next_url
    assert live.provenance.provider == "polygon" and live.provenance.detail["last_bar"] == "2026-08-21"


def test_pagination_is_bounded(server: ReplayServer) -> None:
    gateway = PolygonGateway(POLYGON_KEY, server.url, timeout=TIMEOUT, retries=0, max_bars=900)
    bars = gateway.daily_bars("SPY", "2016-01-01", "2026-08-21")
    assert len(bars.value) == 900 and "first 900 daily bars" in (bars.provenance.warning or "")
    assert server.hits("/v2/aggs") == 1  # the first page already had more than enough


def test_unknown_symbol_has_no_bars(polygon: PolygonGateway) -> None:
    with pytest.raises(NoData, match="no daily bars for ZZZZ"):
        polygon.daily_bars("ZZZZ", "2024-01-01", "2024-02-01")


def test_quote_is_the_last_trade(polygon: PolygonGateway) -> None:
    quote = polygon.quote("SPY").value
    assert quote == {"symbol": "SPY", "price": 765.72, "as_of": "2026-08-21T15:59:59-04:00", "kind": "last trade"}


def test_quote_falls_back_to_the_previous_close_when_the_plan_lacks_last_trades(polygon: PolygonGateway, server: ReplayServer) -> None:
    server.fail("/v2/last/trade", "403")
    first, second = polygon.quote("SPY").value, polygon.quote("AAPL").value
    assert first == {"symbol": "SPY", "price": 765.72, "as_of": "2026-08-21", "kind": "previous close"}
    assert first == {**SAMPLE.quote("SPY").value, "kind": "previous close"}
    assert second["kind"] == "previous close"
    assert server.hits("/v2/last/trade") == 1  # remembered: the plan does not change between calls


def test_expirations_match_the_snapshot(server: ReplayServer) -> None:
    # Eight pages of a thousand contracts: the shared fixture's half-second read timeout (there for the
    # slow-answer tests) could expire on a loaded machine and make the client ask for a page twice.
    polygon = PolygonGateway(POLYGON_KEY, server.url, timeout=30, retries=0)
    assert polygon.expirations("SPY").value == SAMPLE.expirations("SPY").value
    assert server.hits("/v3/reference/options/contracts") == 8  # 7,722 contracts, 1,000 per page


def test_expirations_are_dated_in_new_york_where_options_expire(polygon: PolygonGateway) -> None:
    """The engine picks the nearest expiration after this date; a UTC date is already tomorrow on a New York evening."""
    before = pd.Timestamp.now(tz="America/New_York")
    as_of = pd.Timestamp(polygon.expirations("SPY").provenance.as_of)
    after = pd.Timestamp.now(tz="America/New_York")
    assert as_of.utcoffset() == after.utcoffset()
    assert as_of.date() in (before.date(), after.date())


def test_chain_with_greeks_maps_to_standard_columns(polygon: PolygonGateway) -> None:
    live = polygon.options_chain("MSFT", "2026-08-07")
    sample = SAMPLE.options_chain("MSFT", "2026-08-07").value
    chain = live.value
    assert list(chain.columns) == CHAIN_COLUMNS
    assert live.provenance.as_of == "2026-07-28T10:10:00-04:00"
    assert (chain["underlying_price"] == 394.21).all()
    for column in ("strike", "bid", "ask", "mid", "iv", "delta", "gamma", "theta", "vega", "open_interest"):
        np.testing.assert_allclose(chain[column].to_numpy(), sample[column].to_numpy(), err_msg=column)
    assert list(chain["type"]) == list(sample["type"])


def test_chain_mid_comes_from_the_quote_else_the_day_close(polygon: PolygonGateway) -> None:
    chain = polygon.options_chain("SPY", "2026-06-18").value
    sample = SAMPLE.options_chain("SPY", "2026-06-18").value
    quoted = sample["mid"].notna()
    np.testing.assert_allclose(chain.loc[quoted, "mid"], sample.loc[quoted, "mid"])
    assert (~quoted).any()
    np.testing.assert_allclose(chain.loc[~quoted, "mid"], sample.loc[~quoted, "last"])
    np.testing.assert_allclose(chain["iv"], sample["iv"])  # delivered as is (placeholders left out)
    assert chain["delta"].isna().all()  # no greeks delivered, none invented


def test_whole_chain_and_bounded_contracts(server: ReplayServer) -> None:
    full = PolygonGateway(POLYGON_KEY, server.url, timeout=TIMEOUT, retries=0).options_chain("MSFT")
    assert len(full.value) == len(SAMPLE.options_chain("MSFT").value) == 300
    assert full.value["expiration"].nunique() == 6
    cut = PolygonGateway(POLYGON_KEY, server.url, timeout=TIMEOUT, retries=0, max_contracts=100).options_chain("SPY")
    assert len(cut.value) == 100 and "cut at 100 contracts" in (cut.provenance.warning or "")


def test_unknown_expiration_and_symbol_are_not_found(polygon: PolygonGateway) -> None:
    with pytest.raises(DataNotFound, match="no options on 'SPY' expiring 2026-05-09"):
        polygon.options_chain("SPY", "2026-05-09")
    with pytest.raises(DataNotFound, match="lists no options on 'ZZZZ'"):
        polygon.expirations("ZZZZ")


def test_the_key_travels_only_in_the_authorization_header(polygon: PolygonGateway, server: ReplayServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    polygon.daily_bars("SPY", "2026-01-01", "2026-02-01")
    path, query, headers = server.requests[-1]
    assert headers["Authorization"] == f"Bearer {POLYGON_KEY}"
    assert POLYGON_KEY not in path + str(query) + caplog.text + repr(polygon)


# --- failures --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "error", "sentence", "requests"),
    [
        ("403", NotEntitled, "Your data plan does not include options data", 1),
        ("404", DataNotFound, "Polygon/Massive found nothing for the option chain of SPY; check the symbol.", 1),
        ("429", UpstreamRateLimited, "Polygon/Massive is rate limiting requests; try again in 7 seconds.", 3),
        ("500", UpstreamUnavailable, "Polygon/Massive is unavailable (it answered 500)", 3),
        ("503", UpstreamUnavailable, "Polygon/Massive is unavailable (it answered 503)", 3),
        ("malformed", UpstreamUnavailable, "Polygon/Massive is unavailable: it sent a response that could not be read", 1),
    ],
)
def test_failures_become_typed_sentences_without_the_key(polygon: PolygonGateway, server: ReplayServer, caplog: pytest.LogCaptureFixture,
                                                          mode: str, error: type[DataError], sentence: str, requests: int) -> None:
    caplog.set_level(logging.DEBUG)
    server.fail("/v3/snapshot/options", mode, retry_after=7)
    with pytest.raises(error) as info:
        polygon.options_chain("SPY", "2026-06-18")
    assert str(info.value).startswith(sentence)
    assert server.hits("/v3/snapshot/options") == requests  # 429 and 5xx: the client's retries, then a clear error
    assert_no_key(info.value, caplog)


def test_a_recovered_upstream_answers_after_a_retry(polygon: PolygonGateway, server: ReplayServer) -> None:
    server.fail("/v2/aggs", "503", times=1)
    assert len(polygon.daily_bars("SPY", "2026-01-01", "2026-02-01").value) > 10
    assert server.hits("/v2/aggs") == 2


def test_the_pool_has_a_real_timeout(server: ReplayServer, caplog: pytest.LogCaptureFixture) -> None:
    gateway = PolygonGateway(POLYGON_KEY, server.url, timeout=TIMEOUT, retries=0)
    server.fail("/v2/last/trade", "slow", delay=4 * TIMEOUT)
    started = time.perf_counter()
    with pytest.raises(UpstreamUnavailable, match=f"did not answer within {TIMEOUT:g} seconds") as info:
        gateway.quote("SPY")
    assert time.perf_counter() - started < 3 * TIMEOUT
    assert_no_key(info.value, caplog)


def test_connection_refused_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    gateway = PolygonGateway(POLYGON_KEY, closed_port_url(), timeout=TIMEOUT, retries=1, backoff_factor=0)
    with pytest.raises(UpstreamUnavailable, match="connection was refused") as info:
        gateway.daily_bars("SPY", "2024-01-01", "2024-02-01")
    assert_no_key(info.value, caplog)


def test_a_wrong_key_is_not_entitled_and_not_echoed(server: ReplayServer, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "WrongKey_0000000000000000"
    gateway = PolygonGateway(wrong, server.url, timeout=TIMEOUT, retries=0)
    with pytest.raises(NotEntitled, match="rejected the API key; check MASSIVE_API_KEY") as info:
        gateway.expirations("SPY")
    assert_no_key(info.value, caplog, key=wrong)
