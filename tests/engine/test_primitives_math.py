"""Math operations: arithmetic with explicit alignment or a constant, abs, log, scale, clip, normal_cdf."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from contracts.errors import OperationError
from engine.executor import execute, run_values
from engine.registry import REGISTRY, ValueType, load_all
from services.data import sample_access
from tests.engine.ops import run

load_all()



def dated(values: list[float], dates: list[str], name: str) -> pd.Series:
    return pd.Series(values, index=pd.DatetimeIndex(dates), name=name, dtype=float)


@pytest.fixture
def a() -> pd.Series:
    return dated([1.0, 2.0, 3.0, 4.0], ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], "A")


@pytest.fixture
def b() -> pd.Series:
    return dated([10.0, 20.0, 40.0], ["2024-01-02", "2024-01-03", "2024-01-05"], "B")


@pytest.fixture
def mixed_frequency() -> tuple[pd.Series, pd.Series]:
    """Daily values and a monthly series stamped on the 1st (as FRED stamps monthly data)."""
    days = pd.date_range("2024-01-01", "2024-02-29", freq="D")
    daily = pd.Series(np.ones(len(days)), index=days, name="DAILY")
    monthly = dated([100.0, 200.0], ["2024-01-01", "2024-02-01"], "MONTHLY")
    return daily, monthly


@pytest.fixture
def nan_inside() -> pd.Series:
    return dated([1.0, np.nan, 3.0], ["2024-01-01", "2024-01-02", "2024-01-03"], "N")


@pytest.fixture
def empty() -> pd.Series:
    return pd.Series([], index=pd.DatetimeIndex([]), name="E", dtype=float)


# --- arithmetic ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("add", [12.0, 23.0]), ("sub", [-8.0, -17.0]), ("mul", [20.0, 60.0]), ("div", [0.2, 0.15])],
)
def test_inner_alignment_keeps_the_dates_both_series_have(a: pd.Series, b: pd.Series, name: str, expected: list[float]) -> None:
    out = run(name, a, b)
    assert list(out.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]
    np.testing.assert_allclose(out.to_numpy(), expected)
    assert out.name == f"{name}_A_B"


def test_ffill_carries_a_monthly_value_onto_daily_dates_only_once_its_month_has_ended(mixed_frequency: tuple[pd.Series, pd.Series]) -> None:
    """Issue 10: January's value (stamped 2024-01-01) is known from 1 February, never on January's own days."""
    daily, monthly = mixed_frequency
    out = run("mul", daily, monthly, align="ffill")
    assert out.index[0] == pd.Timestamp("2024-02-01")  # nothing is known in January
    assert out.loc["2024-02-01"] == 100.0 and out.loc["2024-02-29"] == 100.0  # February's value only from March


def test_ffill_works_whichever_side_is_the_lower_frequency(mixed_frequency: tuple[pd.Series, pd.Series]) -> None:
    daily, monthly = mixed_frequency
    out = run("sub", monthly, daily, align="ffill")
    assert out.loc["2024-02-15"] == 100.0 - 1.0


def test_same_period_gives_each_date_its_own_period_value_and_says_it_looks_ahead(mixed_frequency: tuple[pd.Series, pd.Series]) -> None:
    daily, monthly = mixed_frequency
    out = run("mul", daily, monthly, align="same_period")
    assert out.loc["2024-01-15"] == 100.0 and out.loc["2024-02-15"] == 200.0
    assert "before the period ends" in REGISTRY["mul"].params_model.model_fields["align"].description


def test_inner_alignment_refuses_mixed_frequencies_with_a_sentence(mixed_frequency: tuple[pd.Series, pd.Series]) -> None:
    """Issue 10: daily minus monthly used to keep the two dates that happened to coincide, silently."""
    daily, monthly = mixed_frequency
    with pytest.raises(OperationError, match=r"first series is daily and the second monthly.*'mean', 'last' or 'sum'.*'ffill'"):
        run("add", daily, monthly)


@pytest.mark.parametrize(("how", "expected"), [("mean", [1.0, 1.0]), ("sum", [31.0, 29.0]), ("last", [1.0, 1.0])])
def test_aggregating_the_daily_series_to_the_monthly_ones_periods(mixed_frequency: tuple[pd.Series, pd.Series], how: str, expected: list[float]) -> None:
    daily, monthly = mixed_frequency
    out = run("mul", monthly, daily, align=how)
    assert list(out.index.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-02-01"]
    np.testing.assert_allclose(out.to_numpy(), np.array([100.0, 200.0]) * expected)


def test_aggregation_leaves_out_a_partial_last_month() -> None:
    days = pd.bdate_range("2024-01-01", "2024-02-20")
    daily = pd.Series(np.arange(len(days), dtype=float), index=days, name="D")
    monthly = dated([1.0, 1.0], ["2024-01-01", "2024-02-01"], "M")
    out = run("mul", monthly, daily, align="mean")
    assert list(out.index.strftime("%Y-%m-%d")) == ["2024-01-01"]  # February stops on the 20th


def test_ffill_within_one_frequency_carries_the_last_value(a: pd.Series, b: pd.Series) -> None:
    out = run("add", a, b, align="ffill")
    assert list(out.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    np.testing.assert_allclose(out.to_numpy(), [12.0, 23.0, 24.0])


def test_no_common_dates_is_explained() -> None:
    x = dated([1.0], ["2024-01-01"], "X")
    y = dated([1.0], ["2024-02-01"], "Y")
    with pytest.raises(OperationError, match="no dates in common"):
        run("sub", x, y)


@pytest.mark.parametrize(("name", "expected"), [("add", [3, 4, 5, 6]), ("sub", [-1, 0, 1, 2]), ("mul", [2, 4, 6, 8]), ("div", [0.5, 1, 1.5, 2])])
def test_constant_as_the_second_operand(a: pd.Series, name: str, expected: list[float]) -> None:
    out = run(name, a, constant=2)
    np.testing.assert_allclose(out.to_numpy(), expected)
    assert out.name == "A"


def test_scalar_and_series_operands_keep_their_order(a: pd.Series) -> None:
    np.testing.assert_allclose(run("sub", 10.0, a).to_numpy(), [9, 8, 7, 6])
    assert run("div", 1.0, 4.0) == 0.25
    assert REGISTRY["sub"].output_type([ValueType.SCALAR, ValueType.SCALAR]) == ValueType.SCALAR
    assert REGISTRY["sub"].output_type([ValueType.SCALAR, ValueType.SERIES]) == ValueType.SERIES


def test_division_by_zero_is_a_gap() -> None:
    x = dated([1.0, 2.0], ["2024-01-01", "2024-01-02"], "X")
    zero = dated([0.0, 4.0], ["2024-01-01", "2024-01-02"], "Z")
    out = run("div", x, zero)
    assert math.isnan(out.iloc[0]) and out.iloc[1] == 0.5
    assert math.isnan(run("div", x, constant=0).iloc[0])
    assert math.isnan(run("div", 1.0, 0.0))


def test_missing_values_are_skipped_when_aligning(nan_inside: pd.Series) -> None:
    out = run("add", nan_inside, nan_inside)
    assert list(out) == [2.0, 6.0]


def test_arithmetic_needs_exactly_one_second_operand(a: pd.Series, b: pd.Series) -> None:
    with pytest.raises(OperationError, match="two inputs, or one input and the 'constant'"):
        run("add", a)
    with pytest.raises(OperationError, match="one or the other"):
        run("add", a, b, constant=1)


def test_alignment_choices_are_checked(a: pd.Series, b: pd.Series) -> None:
    with pytest.raises(ValidationError, match="inner"):
        run("add", a, b, align="outer")


# --- transforms ----------------------------------------------------------------------------------


def test_abs() -> None:
    out = run("abs", dated([-1.5, 2.0], ["2024-01-01", "2024-01-02"], "X"))
    assert list(out) == [1.5, 2.0]
    assert run("abs", -3.0) == 3.0


@pytest.mark.parametrize(("base", "value", "expected"), [("e", math.e**2, 2.0), ("10", 1000.0, 3.0), ("2", 8.0, 3.0)])
def test_log_bases(base: str, value: float, expected: float) -> None:
    assert run("log", value, base=base) == pytest.approx(expected)
    series = dated([value], ["2024-01-01"], "X")
    assert run("log", series, base=base).iloc[0] == pytest.approx(expected)


def test_log_of_non_positive_values_names_the_date() -> None:
    with pytest.raises(OperationError, match="-2 at 2024-01-02"):
        run("log", dated([1.0, -2.0], ["2024-01-01", "2024-01-02"], "X"))
    with pytest.raises(OperationError, match="positive"):
        run("log", 0.0)


def test_log_keeps_gaps(nan_inside: pd.Series) -> None:
    out = run("log", nan_inside)
    assert math.isnan(out.iloc[1]) and out.iloc[0] == 0.0


def test_scale_is_linear(a: pd.Series) -> None:
    np.testing.assert_allclose(run("scale", a, factor=100, offset=-1).to_numpy(), [99, 199, 299, 399])
    assert run("scale", 0.5, factor=100) == 50.0
    with pytest.raises(ValidationError, match="factor"):
        run("scale", a)


def test_clip(a: pd.Series) -> None:
    np.testing.assert_allclose(run("clip", a, lower=2, upper=3).to_numpy(), [2, 2, 3, 3])
    np.testing.assert_allclose(run("clip", a, upper=2).to_numpy(), [1, 2, 2, 2])
    assert run("clip", 5.0, lower=0, upper=1) == 1.0


@pytest.mark.parametrize(("params", "message"), [({}, "lower bound, an upper bound or both"), ({"lower": 2, "upper": 1}, "lower must not exceed upper")])
def test_clip_bounds_are_checked(a: pd.Series, params: dict[str, float], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        run("clip", a, **params)


@pytest.mark.parametrize("z", [-3.0, -1.0, 0.0, 0.5, 1.959963984540054])
def test_normal_cdf_matches_the_error_function(z: float) -> None:
    assert run("normal_cdf", z) == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))))


def test_normal_cdf_golden_values_and_series() -> None:
    assert run("normal_cdf", 1.959963984540054) == pytest.approx(0.975)
    out = run("normal_cdf", dated([0.0, np.nan], ["2024-01-01", "2024-01-02"], "Z"))
    assert out.iloc[0] == 0.5 and math.isnan(out.iloc[1])


def test_ny_fed_probit_with_a_flat_curve() -> None:
    # P(recession in 12 months) = Φ(-0.5333 - 0.6330 * spread); a spread of 0 gives about 29.7 %
    spread = dated([0.0, -1.0], ["2024-01-01", "2024-02-01"], "T10Y3M")
    odds = run("normal_cdf", run("scale", spread, factor=-0.6330, offset=-0.5333))
    assert odds.iloc[0] == pytest.approx(0.2969, abs=1e-4)
    assert odds.iloc[1] > odds.iloc[0]  # a deeper inversion means higher odds


def test_empty_series_pass_through_element_wise_ops(empty: pd.Series) -> None:
    assert run("abs", empty).empty and run("scale", empty, factor=2).empty


# --- real data and the executor ------------------------------------------------------------------


def test_the_10y_2y_spread_equals_freds_t10y2y(sample_data) -> None:
    dgs10, dgs2, published = (sample_data.series(s) for s in ("DGS10", "DGS2", "T10Y2Y"))
    spread = run("sub", dgs10, dgs2)
    mine, theirs = spread.align(published, join="inner")
    assert len(mine) > 10_000
    off = (mine - theirs).abs() > 0.0051  # FRED rounds to 0.01
    # FRED's own T10Y2Y differs by 0.01-0.02 on three days of the early 1990s (1990-11-21, 1991-01-29,
    # 1995-11-29); every day since then matches.
    assert off.sum() <= 3
    assert not off.loc["1996-01-01":].any()


def test_real_fed_funds_rate_through_the_executor() -> None:
    doc = {
        "version": "1.0",
        "steps": [
            {"id": "ff", "operation": "fetch_series", "params": {"series_id": "DFF", "start": "2022-01-01", "end": "2023-12-31"}},
            {"id": "cpi", "operation": "fetch_series", "params": {"series_id": "CPIAUCSL", "units": "pc1", "start": "2021-01-01"}},
            {"id": "real", "operation": "sub", "params": {"align": "ffill"}, "inputs": ["ff", "cpi"]},
        ],
        "outputs": {"series": [{"id": "real", "source": "real", "label": "Real fed funds (pp)"}]},
    }
    values = run_values(doc, data=sample_access())
    assert values["real"].loc["2022-06-15"] < -7  # deeply negative at the 2022 inflation peak
    assert values["real"].loc["2023-12-29"] > 1
    result = execute(doc, data=sample_access())
    assert result.outputs["series"][0]["x"][0] == "2022-01-01"
