"""The sample provider serves the bundled real data with its own as-of dates and clear errors."""

from __future__ import annotations

import math

import pytest

from contracts.data import CHAIN_COLUMNS
from contracts.errors import BadRequest, DataNotFound, NoData
from gateways.sample import FRED_SERIES, SampleGateway

GW = SampleGateway()


@pytest.mark.parametrize("series_id", sorted(FRED_SERIES))
def test_every_bundled_fred_series_loads_with_its_as_of(series_id):
    fetched = GW.series(series_id)
    assert len(fetched.value) > 100 and fetched.value.index.is_monotonic_increasing
    assert not fetched.value.isna().any()
    assert fetched.provenance.provider == "sample" and fetched.provenance.as_of == fetched.value.index[-1].date().isoformat()


def test_known_values_are_copied_not_recomputed():
    assert GW.series("DGS10", "2026-08-20", "2026-08-20").value.iloc[0] == 4.69
    assert GW.series("UNRATE", "2026-07-01", "2026-07-01").value.iloc[0] == 4.1
    assert GW.daily_bars("SPY", "2026-05-01", "2026-05-01").value["close"].iloc[0] == 720.65


def test_cpi_october_2025_is_absent_as_on_fred():
    cpi = GW.series("CPIAUCSL", "2025-08-01", "2025-12-01").value
    assert "2025-10-01" not in {d.date().isoformat() for d in cpi.index}


def test_fred_units_pc1_matches_a_hand_computation():
    yoy = GW.series("CPIAUCSL", "2024-06-01", "2024-06-01", units="pc1").value.iloc[0]
    level = GW.series("CPIAUCSL", "2023-06-01", "2024-06-01").value
    assert math.isclose(yoy, (level.iloc[-1] / level.iloc[0] - 1) * 100, rel_tol=1e-12)


def test_monthly_average_of_a_daily_series():
    monthly = GW.series("DGS10", "2024-01-01", "2024-03-31", frequency="m", aggregation="avg").value
    daily = GW.series("DGS10", "2024-01-01", "2024-01-31").value
    assert list(monthly.index.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert math.isclose(monthly.iloc[0], daily.mean())


def test_unknown_series_lists_what_the_sample_has_and_suggests_a_fix():
    with pytest.raises(DataNotFound) as info:
        GW.series("DGS11")
    assert "Did you mean DGS10?" in str(info.value) and "UNRATE" in str(info.value)


def test_bad_ranges_and_parameters_are_sentences():
    with pytest.raises(NoData, match="covers 1962-01-02"):
        GW.series("DGS10", "1900-01-01", "1900-02-01")
    with pytest.raises(BadRequest, match="after the end date"):
        GW.series("DGS10", "2024-02-01", "2024-01-01")
    with pytest.raises(BadRequest, match="higher frequency"):
        GW.series("GDPC1", frequency="m")


def test_bars_for_every_symbol_and_aliases():
    from gateways.sample import _bases

    for symbol in GW.bar_symbols():
        for basis in _bases(symbol):
            fetched = GW.daily_bars(symbol, basis=basis)
            bars = fetched.value
            assert list(bars.columns) == ["open", "high", "low", "close", "volume"] and bars["close"].notna().all()
            assert fetched.provenance.detail["basis"] == basis
    assert GW.daily_bars("I:SPX").provenance.symbol == "SPX"
    with pytest.raises(DataNotFound, match="no daily bars for 'ZZZZ'"):
        GW.daily_bars("ZZZZ")


def test_bars_come_in_the_basis_asked_for_or_not_at_all():
    """Issue 10: IWM, TLT and GLD exist only adjusted for dividends; they were served as if split-only."""
    assert GW.daily_bars("SPY", "2026-05-01", "2026-05-01").value["close"].iloc[0] == 720.65  # split-only: the actual close
    total = GW.daily_bars("SPY", "2024-01-02", "2024-01-02", basis="total_return").value["close"].iloc[0]
    assert total < GW.daily_bars("SPY", "2024-01-02", "2024-01-02").value["close"].iloc[0]  # dividends added back lower the past
    with pytest.raises(DataNotFound, match="TLT only adjusted for splits and dividends"):
        GW.daily_bars("TLT")
    with pytest.raises(DataNotFound, match="AAPL only adjusted for splits"):
        GW.daily_bars("AAPL", basis="total_return")


def test_quote_is_the_previous_close():
    quote = GW.quote("SPY").value
    assert quote["as_of"] == "2026-08-21" and quote["kind"] == "previous close"


def test_chains_have_standard_columns_and_their_own_as_of():
    spy = GW.options_chain("SPY").value
    assert list(spy.columns) == CHAIN_COLUMNS and len(spy) == 7722
    assert set(spy["type"]) == {"call", "put"} and (spy["underlying_price"].round(2) == 720.65).all()
    assert spy["as_of"].iloc[0] == "2026-05-01"
    assert spy["iv"].min() >= 0.01  # Yahoo's placeholder IVs under 1% are removed
    msft = GW.options_chain("MSFT", "2026-08-07").value
    assert (msft["underlying_price"] == 394.21).all() and msft["delta"].notna().all()
    assert len(GW.expirations("SPY").value) == 24


def test_unknown_expiration_lists_the_real_ones():
    with pytest.raises(DataNotFound, match="2026-08-28"):
        GW.options_chain("AAPL", "2026-09-01")
