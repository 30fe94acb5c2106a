"""Filter operations: date ranges, gaps, comparisons, ordering, column picking, ranks and episodes."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from contracts.errors import OperationError
from engine.executor import execute, run_values
from engine.primitives.filters import EPISODE_COLUMNS
from engine.registry import REGISTRY, ValueType, load_all
from services.data import sample_access
from tests.engine.ops import run

load_all()



def daily(values: list[float], start: str = "2024-01-01", name: str | None = "S") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), name=name, dtype=float)


@pytest.fixture
def empty() -> pd.Series:
    return pd.Series([], index=pd.DatetimeIndex([]), name="S", dtype=float)


@pytest.fixture
def single() -> pd.Series:
    return daily([1.5])


@pytest.fixture
def nan_inside() -> pd.Series:
    return daily([1.0, np.nan, -1.0, -2.0, np.nan, -0.5, 2.0])


@pytest.fixture
def flat() -> pd.Series:
    return daily([0.0] * 5)


@pytest.fixture
def chain() -> pd.DataFrame:
    """A small option-chain-like table indexed by row number (no dates)."""
    return pd.DataFrame({
        "strike": [90.0, 95.0, 100.0, 105.0, 110.0],
        "open_interest": [10.0, 250.0, 900.0, 250.0, np.nan],
        "type": ["call"] * 5,
    })


@pytest.fixture
def dated_table() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.date_range("2024-01-01", periods=4, freq="MS"), "value": [1.0, 2.0, 3.0, 4.0]})


# --- date_range and dropna -----------------------------------------------------------------------


def test_operations_keep_the_kind_of_their_input() -> None:
    for name in ("date_range", "dropna", "filter"):
        rule = REGISTRY[name].output_type
        assert rule([ValueType.SERIES]) == ValueType.SERIES
        assert rule([ValueType.FRAME]) == ValueType.FRAME


def test_date_range_is_inclusive_on_both_ends() -> None:
    out = run("date_range", daily(list(range(10))), start="2024-01-03", end="2024-01-05")
    assert list(out) == [2.0, 3.0, 4.0]


def test_date_range_open_ends() -> None:
    x = daily(list(range(10)))
    assert len(run("date_range", x, start="2024-01-08")) == 3
    assert len(run("date_range", x, end="2024-01-02")) == 2
    assert run("date_range", x).equals(x)


def test_date_range_on_a_table_with_a_date_column(dated_table: pd.DataFrame) -> None:
    out = run("date_range", dated_table, start="2024-02-01", end="2024-03-01")
    assert list(out["value"]) == [2.0, 3.0]


def test_date_range_outside_the_data_says_what_the_data_covers() -> None:
    with pytest.raises(OperationError, match="runs from 2024-01-01 to 2024-01-03"):
        run("date_range", daily([1, 2, 3]), start="2025-01-01")


def test_date_range_needs_dates(chain: pd.DataFrame) -> None:
    with pytest.raises(OperationError, match="needs dates"):
        run("date_range", chain, start="2024-01-01")


def test_date_range_start_after_end_is_rejected() -> None:
    with pytest.raises(ValidationError, match="after end"):
        run("date_range", daily([1]), start="2024-02-01", end="2024-01-01")


def test_dropna_removes_gaps(nan_inside: pd.Series) -> None:
    out = run("dropna", nan_inside)
    assert len(out) == 5 and out.notna().all()


def test_dropna_on_tables_any_or_all() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": [1.0, 2.0, np.nan]})
    assert len(run("dropna", frame)) == 1
    assert len(run("dropna", frame, how="all")) == 2


def test_dropna_of_all_missing_is_an_error() -> None:
    with pytest.raises(OperationError, match="every value is missing"):
        run("dropna", daily([np.nan, np.nan]))


# --- filter --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "value2", "expected"),
    [
        ("lt", 0, None, [-1.0, -2.0, -0.5]),
        ("le", -1, None, [-1.0, -2.0]),
        ("gt", 1, None, [2.0]),
        ("ge", 1, None, [1.0, 2.0]),
        ("eq", -0.5, None, [-0.5]),
        ("ne", 1, None, [-1.0, -2.0, -0.5, 2.0]),
        ("between", -1, 1, [1.0, -1.0, -0.5]),
    ],
)
def test_filter_series_golden_values(nan_inside: pd.Series, op: str, value: float, value2: float | None, expected: list[float]) -> None:
    out = run("filter", nan_inside, op=op, value=value, value2=value2)
    assert list(out) == expected  # missing values never match, not even 'ne'


def test_filter_that_matches_nothing_is_empty_not_an_error(flat: pd.Series) -> None:
    assert run("filter", flat, op="gt", value=1).empty


def test_filter_table_by_column(chain: pd.DataFrame) -> None:
    out = run("filter", chain, op="ge", value=250, column="open_interest")
    assert list(out["strike"]) == [95.0, 100.0, 105.0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"op": "between", "value": 1}, "needs value2"),
        ({"op": "between", "value": 2, "value2": 1}, "value <= value2"),
        ({"op": "lt", "value": 1, "value2": 3}, "only used with op 'between'"),
        ({"op": "less", "value": 1}, "lt"),
    ],
)
def test_filter_params_are_checked(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        run("filter", daily([1]), **params)


def test_filter_table_needs_an_existing_column(chain: pd.DataFrame) -> None:
    with pytest.raises(OperationError, match=r"needs 'column'.*strike, open_interest, type"):
        run("filter", chain, op="gt", value=1)
    with pytest.raises(OperationError, match="no column 'oi'"):
        run("filter", chain, op="gt", value=1, column="oi")


def test_filter_on_a_text_column_is_an_error_not_an_empty_table(chain: pd.DataFrame) -> None:
    with pytest.raises(OperationError, match=r"column 'type' holds text.*numeric columns are strike, open_interest"):
        run("filter", chain, op="eq", value=1, column="type")


def test_filter_series_with_a_column_is_an_error() -> None:
    with pytest.raises(OperationError, match="takes no 'column'"):
        run("filter", daily([1]), op="gt", value=0, column="x")


# --- sort, top_n, select, column -----------------------------------------------------------------


def test_sort_ascending_and_descending_with_missing_last(chain: pd.DataFrame) -> None:
    assert list(run("sort", chain, by="open_interest")["strike"]) == [90, 95, 105, 100, 110]
    assert list(run("sort", chain, by="open_interest", descending=True)["strike"]) == [100, 95, 105, 90, 110]


def test_top_n_takes_the_largest_by_default(chain: pd.DataFrame) -> None:
    out = run("top_n", chain, by="open_interest", n=2)
    assert list(out["strike"]) == [100.0, 95.0]
    assert list(run("top_n", chain, by="strike", n=2, descending=False)["strike"]) == [90.0, 95.0]


def test_top_n_larger_than_the_table_returns_it_whole(chain: pd.DataFrame) -> None:
    assert len(run("top_n", chain, by="strike", n=50)) == len(chain)


def test_sort_and_top_n_name_the_columns_on_a_typo(chain: pd.DataFrame) -> None:
    with pytest.raises(OperationError, match=r"no column 'strik'.*strike"):
        run("sort", chain, by="strik")
    with pytest.raises(ValidationError):
        run("top_n", chain, by="strike", n=0)


def test_select_keeps_the_order_given(chain: pd.DataFrame) -> None:
    assert list(run("select", chain, columns=["type", "strike"]).columns) == ["type", "strike"]


def test_select_errors(chain: pd.DataFrame) -> None:
    with pytest.raises(OperationError, match="no column 'iv'"):
        run("select", chain, columns=["strike", "iv"])
    with pytest.raises(OperationError, match="more than once"):
        run("select", chain, columns=["strike", "strike"])
    with pytest.raises(ValidationError):
        run("select", chain, columns=[])


def test_column_uses_the_date_column_as_index(dated_table: pd.DataFrame) -> None:
    out = run("column", dated_table, name="value")
    assert isinstance(out.index, pd.DatetimeIndex) and out.index[0] == pd.Timestamp("2024-01-01")
    assert out.name == "value"


def test_column_keeps_a_non_date_index(chain: pd.DataFrame) -> None:
    out = run("column", chain.set_index("strike"), name="open_interest")
    assert list(out.index) == [90.0, 95.0, 100.0, 105.0, 110.0]


def test_column_of_real_bars_keeps_the_dates(sample_data) -> None:
    bars = sample_data.daily_bars("SPY")
    out = run("column", bars, name="close")
    assert out.index.equals(bars.index)


# --- rank ----------------------------------------------------------------------------------------


def test_rank_golden_values() -> None:
    x = daily([30, 10, 20, 20])
    np.testing.assert_allclose(run("rank", x, pct=False).to_numpy(), [4, 1, 2.5, 2.5])
    np.testing.assert_allclose(run("rank", x).to_numpy(), [1.0, 0.25, 0.625, 0.625])
    np.testing.assert_allclose(run("rank", x, pct=False, descending=True).to_numpy(), [1, 4, 2.5, 2.5])


def test_rank_keeps_gaps_and_rejects_empty(nan_inside: pd.Series, empty: pd.Series) -> None:
    assert run("rank", nan_inside).isna().sum() == 2
    with pytest.raises(OperationError, match="at least 1"):
        run("rank", empty)


# --- episodes ------------------------------------------------------------------------------------


def test_episodes_golden_runs(nan_inside: pd.Series) -> None:
    out = run("episodes", nan_inside, op="lt", value=0)
    assert list(out.columns) == EPISODE_COLUMNS
    # the gap on 01-05 neither ends nor extends the run 01-03 .. 01-06
    assert out.to_dict("records") == [
        {"start": pd.Timestamp("2024-01-03"), "end": pd.Timestamp("2024-01-06"), "observations": 3, "days": 4, "extreme": -2.0}
    ]


def test_episodes_extreme_is_the_max_for_greater_than() -> None:
    out = run("episodes", daily([0, 5, 7, 0, 3, 0]), op="gt", value=1)
    assert list(out["extreme"]) == [7.0, 3.0]
    assert list(out["observations"]) == [2, 1]


def test_episodes_min_length_drops_short_runs() -> None:
    out = run("episodes", daily([0, 5, 7, 0, 3, 0]), op="gt", value=1, min_length=2)
    assert len(out) == 1


def test_episodes_none_is_an_empty_table_with_the_columns(flat: pd.Series) -> None:
    out = run("episodes", flat, op="lt", value=0)
    assert out.empty and list(out.columns) == EPISODE_COLUMNS


def test_episodes_single_value_and_empty(single: pd.Series, empty: pd.Series) -> None:
    out = run("episodes", single, op="gt", value=0)
    assert out.iloc[0]["days"] == 1 and out.iloc[0]["observations"] == 1
    with pytest.raises(OperationError):
        run("episodes", empty, op="gt", value=0)


def test_the_2022_2024_yield_curve_inversion(sample_data) -> None:
    spread = sample_data.series("T10Y2Y", start=date(2020, 1, 1))
    out = run("episodes", spread, op="lt", value=0, min_length=20)
    longest = out.sort_values("observations").iloc[-1]
    assert longest["start"] == pd.Timestamp("2022-07-06")
    assert longest["end"] == pd.Timestamp("2024-08-26")
    assert longest["extreme"] == pytest.approx(-1.08)  # the deepest inversion since 1981, July 2023


def test_inversion_periods_through_the_executor() -> None:
    doc = {
        "version": "1.0",
        "steps": [
            {"id": "dgs10", "operation": "fetch_series", "params": {"series_id": "DGS10", "start": "2019-01-01"}},
            {"id": "dgs2", "operation": "fetch_series", "params": {"series_id": "DGS2", "start": "2019-01-01"}},
            {"id": "spread", "operation": "sub", "inputs": ["dgs10", "dgs2"]},
            {"id": "inverted", "operation": "episodes", "params": {"op": "lt", "value": 0, "min_length": 20}, "inputs": ["spread"]},
            {"id": "recent", "operation": "date_range", "params": {"start": "2024-01-01"}, "inputs": ["spread"]},
        ],
        "outputs": {
            "series": [{"id": "recent", "source": "recent", "label": "10y - 2y (pp)"}],
            "tables": [{"id": "periods", "source": "inverted", "columns": ["start", "end", "days", "extreme"]}],
        },
    }
    result = execute(doc, data=sample_access())
    rows = result.outputs["tables"][0]["rows"]
    assert {"start": "2022-07-06", "end": "2024-08-26"}.items() <= rows[-1].items()
    assert result.outputs["series"][0]["x"][0].startswith("2024-01")
    assert run_values(doc, data=sample_access())["recent"].index.min() >= pd.Timestamp("2024-01-01")


def test_validator_rejects_a_table_column_episodes_does_not_produce() -> None:
    from contracts.errors import ValidationFailed

    doc = {
        "version": "1.0",
        "steps": [
            {"id": "s", "operation": "fetch_series", "params": {"series_id": "T10Y2Y"}},
            {"id": "e", "operation": "episodes", "params": {"op": "lt", "value": 0}, "inputs": ["s"]},
        ],
        "outputs": {"tables": [{"id": "t", "source": "e", "columns": ["start", "length"]}]},
    }
    with pytest.raises(ValidationFailed, match="E_OUTPUT_COLUMN"):
        execute(doc, data=sample_access())
