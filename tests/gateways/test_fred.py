"""FRED through fredapi against the replay server: the data matches the bundled snapshot, failures are
typed sentences, and the API key never appears in anything a user or a log reader sees."""

from __future__ import annotations

import logging
import threading
import time
import traceback

import pandas as pd
import pytest

from contracts.errors import BadRequest, DataError, DataNotFound, NoData, NotEntitled, UpstreamRateLimited, UpstreamUnavailable
from gateways.fred import FredGateway, TokenBucket
from gateways.sample import SampleGateway
from tests.gateways.conftest import TIMEOUT, fast_bucket
from tests.gateways.replay_server import FRED_KEY, ReplayServer, closed_port_url

SAMPLE = SampleGateway()


def assert_no_key(error: BaseException, caplog: pytest.LogCaptureFixture, key: str = FRED_KEY) -> None:
    text = "".join(traceback.format_exception(error)) + repr(error) + str(error) + caplog.text
    chained = error.__context__ or error.__cause__  # tools that walk the chain must not find the URL either
    while chained is not None:
        text += repr(chained) + str(chained) + repr(getattr(chained, "url", "")) + repr(getattr(chained, "filename", ""))
        chained = chained.__context__ or chained.__cause__
    assert key not in text


# --- success paths -------------------------------------------------------------------------------


def test_series_matches_the_bundled_data(fred: FredGateway) -> None:
    live = fred.series("dgs10", "2024-01-01", "2024-12-31")
    sample = SAMPLE.series("DGS10", "2024-01-01", "2024-12-31")
    pd.testing.assert_series_equal(live.value, sample.value)
    assert live.provenance.provider == "fred" and live.provenance.live and not live.provenance.cache_hit
    assert live.provenance.detail["observation_end"] == "2024-12-31"


def test_missing_values_sent_as_dot_are_dropped(fred: FredGateway) -> None:
    # SP500 keeps FRED's blank holiday rows; FRED sends them as "." and they are not observations.
    live = fred.series("SP500", "2025-12-20", "2026-01-10").value
    assert not live.isna().any() and pd.Timestamp("2025-12-25") not in live.index


@pytest.mark.parametrize(
    ("series_id", "units", "frequency", "aggregation"),
    [("CPIAUCSL", "pc1", None, None), ("DGS10", None, "m", "avg"), ("DGS10", "chg", "q", "eop"), ("UNRATE", "log", "a", "avg")],
)
def test_units_and_frequency_are_computed_by_fred(fred: FredGateway, server: ReplayServer, series_id: str, units: str | None,
                                                  frequency: str | None, aggregation: str | None) -> None:
    live = fred.series(series_id, "2015-01-01", "2024-12-31", units=units, frequency=frequency, aggregation=aggregation).value
    sample = SAMPLE.series(series_id, "2015-01-01", "2024-12-31", units=units, frequency=frequency, aggregation=aggregation).value
    pd.testing.assert_series_equal(live, sample, check_freq=False)
    path, query, _ = server.requests[-1]
    assert path == "/fred/series/observations"
    assert query.get("units", [None])[0] == units and query.get("frequency", [None])[0] == frequency
    assert query.get("aggregation_method", [None])[0] == aggregation


def test_series_info_and_search(fred: FredGateway) -> None:
    info = fred.series_info("UNRATE")
    assert info.value["title"] == "Unemployment Rate" and info.value["frequency"] == "Monthly"
    assert info.value["observation_start"] == "1948-01-01"
    found = fred.search("treasury", limit=2).value
    assert list(found.columns[:4]) == ["id", "title", "units", "frequency"]
    assert list(found["id"]) == ["DGS10", "DGS2"]
    assert fred.search("no such words").value.empty


def test_a_range_with_no_observations_is_no_data(fred: FredGateway) -> None:
    with pytest.raises(NoData, match="no observations"):
        fred.series("DGS10", "1900-01-01", "1900-12-31")


def test_bad_arguments_are_rejected_before_any_request(fred: FredGateway, server: ReplayServer) -> None:
    with pytest.raises(BadRequest, match="Units 'percent' is not one of"):
        fred.series("DGS10", units="percent")
    with pytest.raises(BadRequest, match="after the end date"):
        fred.series("DGS10", "2024-02-01", "2024-01-01")
    assert server.hits("/fred") == 0


def test_the_key_travels_only_as_fred_expects_and_never_in_logs(fred: FredGateway, server: ReplayServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fred.series("DGS2", "2024-01-01", "2024-01-31")
    assert server.requests[-1][1]["api_key"] == [FRED_KEY]
    assert FRED_KEY not in caplog.text and FRED_KEY not in repr(fred)


# --- failures --------------------------------------------------------------------------------------


def test_unknown_series_is_not_found_with_a_sentence(fred: FredGateway, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(DataNotFound) as info:
        fred.series("NOSUCHSERIES")
    assert str(info.value) == "FRED has no series 'NOSUCHSERIES'."
    assert_no_key(info.value, caplog)


@pytest.mark.parametrize(
    ("mode", "error", "sentence"),
    [
        ("403", NotEntitled, "FRED rejected the API key"),
        ("404", DataNotFound, "FRED has no series 'DGS10'."),
        ("429", UpstreamRateLimited, "FRED is rate limiting requests; try again in a minute."),
        ("500", UpstreamUnavailable, "FRED is unavailable (it answered 500)"),
        ("503", UpstreamUnavailable, "FRED is unavailable (it answered 503)"),
        ("malformed", UpstreamUnavailable, "FRED is unavailable: it sent a response that could not be read"),
    ],
)
def test_failures_become_typed_sentences_without_the_key(fred: FredGateway, server: ReplayServer, caplog: pytest.LogCaptureFixture,
                                                          mode: str, error: type[DataError], sentence: str) -> None:
    caplog.set_level(logging.DEBUG)
    server.fail("/fred/series/observations", mode)
    with pytest.raises(error) as info:
        fred.series("DGS10", "2024-01-01", "2024-01-31")
    assert str(info.value).startswith(sentence)
    assert_no_key(info.value, caplog)


def test_a_slow_answer_times_out(fred: FredGateway, server: ReplayServer, caplog: pytest.LogCaptureFixture) -> None:
    server.fail("/fred/series", "slow", delay=3 * TIMEOUT)
    started = time.perf_counter()
    with pytest.raises(UpstreamUnavailable, match=f"did not answer within {TIMEOUT:g} seconds") as info:
        fred.series_info("DGS10")
    assert time.perf_counter() - started < 2 * TIMEOUT
    assert_no_key(info.value, caplog)


def test_connection_refused_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    gateway = FredGateway(FRED_KEY, closed_port_url() + "/fred", timeout=TIMEOUT, throttle=fast_bucket())
    with pytest.raises(UpstreamUnavailable, match="FRED is unavailable") as info:
        gateway.search("rates")
    assert_no_key(info.value, caplog)


def test_a_wrong_key_is_not_entitled_and_not_echoed(server: ReplayServer, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "wrongkey9876543210wrongkey987654"
    gateway = FredGateway(wrong, server.url + "/fred", timeout=TIMEOUT, throttle=fast_bucket())
    with pytest.raises(NotEntitled, match="check FRED_API_KEY") as info:
        gateway.series("DGS10")
    assert_no_key(info.value, caplog, key=wrong)


# --- throttle ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_throttle_keeps_the_average_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=2, clock=clock, sleep=clock.sleep)
    for _ in range(12):
        bucket.acquire()
    # two at once, then one every half second: 10 more requests take 5 seconds
    assert clock.now == pytest.approx(5.0)


def test_the_throttle_is_shared_by_threads() -> None:
    bucket = TokenBucket(rate=40, burst=1)
    started = time.perf_counter()
    threads = [threading.Thread(target=bucket.acquire) for _ in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - started >= 8 / 40 * 0.9  # nine tokens at 40/s: at least 0.2 s


def test_every_request_passes_the_throttle(server: ReplayServer) -> None:
    calls = []

    class Counting(TokenBucket):
        def acquire(self) -> float:
            calls.append(1)
            return 0.0

    gateway = FredGateway(FRED_KEY, server.url + "/fred", timeout=TIMEOUT, throttle=Counting(1))
    gateway.series("DGS10", "2024-01-01", "2024-01-05")
    gateway.series_info("DGS10")
    gateway.search("unemployment")
    assert len(calls) == server.hits("/fred") == 3


def test_the_default_throttle_stays_under_two_per_second() -> None:
    from gateways.fred import FRED_THROTTLE

    assert FRED_THROTTLE.rate < 2 and FRED_THROTTLE.burst <= 2
