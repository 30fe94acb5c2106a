"""Filter operations: keep, order and pick rows and columns; find the episodes where a condition holds."""

from __future__ import annotations

from datetime import date
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from contracts.errors import OperationError
from engine.primitives.stats import output_name
from engine.registry import Params, operation, same_as_first

Comparison = Literal["lt", "le", "gt", "ge", "eq", "ne", "between"]
EPISODE_COLUMNS = ["start", "end", "observations", "days", "extreme"]
_SYMBOLS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


def _columns_text(frame: pd.DataFrame) -> str:
    return ", ".join(map(str, frame.columns)) or "none"


def _require_column(frame: pd.DataFrame, name: str, op: str) -> None:
    if name not in frame.columns:
        raise OperationError(f"'{op}': the table has no column '{name}'; its columns are {_columns_text(frame)}.")


def _date_axis(value: pd.Series | pd.DataFrame, op: str) -> pd.Series:
    """The dates of each row: the DatetimeIndex, or a frame's 'date' column."""
    if isinstance(value.index, pd.DatetimeIndex):
        return pd.Series(value.index, index=value.index)
    if isinstance(value, pd.DataFrame) and "date" in value.columns:
        return pd.to_datetime(value["date"])
    raise OperationError(f"'{op}' needs dates: a series or table indexed by dates, or a table with a 'date' column.")


class ConditionParams(Params):
    op: Comparison = Field(description="comparison: lt, le, gt, ge, eq, ne, or between (value <= x <= value2)")
    value: float = Field(description="the number to compare with (the lower bound for between)")
    value2: float | None = Field(None, description="the upper bound, for 'between' only")
    tolerance: float = Field(1e-9, ge=0, le=1, description="numbers this close to the threshold count as equal to it (relative to the threshold, at least absolute), so 0.4999999999999996 is 0.5")

    @model_validator(mode="after")
    def _bounds(self) -> ConditionParams:
        if self.op == "between":
            if self.value2 is None:
                raise ValueError("'between' needs value2, the upper bound")
            if self.value > self.value2:
                raise ValueError(f"'between' needs value <= value2, got {self.value:g} > {self.value2:g}")
        elif self.value2 is not None:
            raise ValueError(f"value2 is only used with op 'between', not '{self.op}'")
        return self

    def _slack(self, threshold: float) -> float:
        return self.tolerance * max(1.0, abs(threshold))

    def holds(self, values: pd.Series) -> pd.Series:
        """Where the condition is true (never at a missing value), comparing with the tolerance.

        Arithmetic leaves rounding noise (a Sahm reading of 0.5 may be computed as
        0.4999999999999996), so ``ge 0.5`` holds within ``tolerance`` of 0.5, ``gt 0.5`` needs a
        value clearly above it, ``eq`` means within the tolerance and ``ne`` outside it.
        """
        v, slack = self.value, self._slack(self.value)
        if self.op == "between":
            assert self.value2 is not None
            mask = (values >= v - slack) & (values <= self.value2 + self._slack(self.value2))
        elif self.op == "ge":
            mask = values >= v - slack
        elif self.op == "gt":
            mask = values > v + slack
        elif self.op == "le":
            mask = values <= v + slack
        elif self.op == "lt":
            mask = values < v - slack
        elif self.op == "eq":
            mask = (values - v).abs() <= slack
        else:
            mask = (values - v).abs() > slack
        return mask & values.notna()

    def text(self) -> str:
        if self.op == "between":
            return f"between {self.value:g} and {self.value2:g}"
        return f"{_SYMBOLS[self.op]} {self.value:g}"


class DateRangeParams(Params):
    start: date | None = Field(None, description="first date kept (YYYY-MM-DD); empty keeps from the beginning")
    end: date | None = Field(None, description="last date kept (YYYY-MM-DD); empty keeps to the end")

    @model_validator(mode="after")
    def _ordered(self) -> DateRangeParams:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


@operation("date_range", family="filters", output_rule=same_as_first)
def date_range(x: pd.Series | pd.DataFrame, *, params: DateRangeParams) -> pd.Series | pd.DataFrame:
    """Keep the observations between two dates, both included.

    Works on a series, a table indexed by dates, or a table with a ``date`` column.

    Returns
    -------
    the same kind of value, restricted to ``start <= date <= end``.
    """
    dates = _date_axis(x, "date_range")
    keep = pd.Series(True, index=dates.index)
    if params.start is not None:
        keep &= dates >= pd.Timestamp(params.start)
    if params.end is not None:
        keep &= dates <= pd.Timestamp(params.end)
    out = x[keep.to_numpy()]
    if out.empty and not x.empty:
        raise OperationError(
            f"'date_range' kept nothing: the data runs from {dates.min().date()} to {dates.max().date()}, "
            f"outside {params.start or 'the start'} to {params.end or 'the end'}."
        )
    return out


class DropnaParams(Params):
    how: Literal["any", "all"] = Field("any", description="for tables: drop a row when any value is missing, or only when all are")


@operation("dropna", family="filters", output_rule=same_as_first)
def dropna(x: pd.Series | pd.DataFrame, *, params: DropnaParams) -> pd.Series | pd.DataFrame:
    """Drop missing values (gaps): the points of a series, or the rows of a table.

    Returns
    -------
    the same kind of value without missing values; an error if nothing is left.
    """
    out = x.dropna() if isinstance(x, pd.Series) else x.dropna(how=params.how)
    if out.empty:
        raise OperationError("'dropna' left nothing: every value is missing.")
    return out


class FilterParams(ConditionParams):
    column: str | None = Field(None, description="for tables: the column the condition applies to (required); not used for series")


@operation("filter", family="filters", output_rule=same_as_first)
def filter_(x: pd.Series | pd.DataFrame, *, params: FilterParams) -> pd.Series | pd.DataFrame:
    """Keep the points (or table rows) where a comparison holds, e.g. spread ``lt 0``.

    Missing values never match. The result may be empty when nothing matches.

    Returns
    -------
    the same kind of value, with only the matching points or rows.
    """
    if isinstance(x, pd.DataFrame):
        if params.column is None:
            raise OperationError(f"'filter' on a table needs 'column', the column to compare; its columns are {_columns_text(x)}.")
        _require_column(x, params.column, "filter")
        raw = x[params.column]
        values = pd.to_numeric(raw, errors="coerce")
        if raw.notna().any() and values.isna().all():
            numeric = [str(c) for c in x.columns if pd.api.types.is_numeric_dtype(x[c])] or ["none"]
            raise OperationError(
                f"'filter': the column '{params.column}' holds text, not numbers, so it cannot be compared with "
                f"{params.value:g}; its numeric columns are {', '.join(numeric)}."
            )
        return x[params.holds(values).to_numpy()]
    if params.column is not None:
        raise OperationError("'filter' on a series takes no 'column'; remove it (columns belong to tables).")
    return x[params.holds(x)]


class SortParams(Params):
    by: str = Field(min_length=1, description="the column to sort by")
    descending: bool = Field(False, description="largest first when true")


@operation("sort", family="filters")
def sort(x: pd.DataFrame, *, params: SortParams) -> pd.DataFrame:
    """Order a table's rows by one column (missing values last; ties keep their order).

    Returns
    -------
    the table with its rows reordered.
    """
    _require_column(x, params.by, "sort")
    return x.sort_values(params.by, ascending=not params.descending, kind="stable", na_position="last")


class TopNParams(Params):
    by: str = Field(min_length=1, description="the column to rank rows by")
    n: int = Field(ge=1, description="how many rows to keep")
    descending: bool = Field(True, description="keep the largest values when true, the smallest when false")


@operation("top_n", family="filters")
def top_n(x: pd.DataFrame, *, params: TopNParams) -> pd.DataFrame:
    """The ``n`` rows with the largest (or smallest) values of a column, in that order.

    A table with fewer than ``n`` rows is returned whole, sorted.

    Returns
    -------
    at most ``n`` rows of the table.
    """
    _require_column(x, params.by, "top_n")
    ordered = x.sort_values(params.by, ascending=not params.descending, kind="stable", na_position="last")
    return ordered.head(params.n)


class SelectParams(Params):
    columns: list[str] = Field(min_length=1, description="the columns to keep, in this order")


@operation("select", family="filters")
def select(x: pd.DataFrame, *, params: SelectParams) -> pd.DataFrame:
    """Keep some columns of a table, in the given order.

    Returns
    -------
    the table with only ``columns``.
    """
    missing = [c for c in params.columns if c not in x.columns]
    if missing:
        raise OperationError(f"'select': the table has no column {', '.join(map(repr, missing))}; its columns are {_columns_text(x)}.")
    if len(set(params.columns)) != len(params.columns):
        raise OperationError("'select' lists a column more than once; name each column once.")
    return x[params.columns]


class ColumnParams(Params):
    name: str = Field(min_length=1, description="the column to take as a series")


@operation("column", family="filters")
def column(x: pd.DataFrame, *, params: ColumnParams) -> pd.Series:
    """Take one column of a table as a series.

    A table with a ``date`` column is indexed by it; a table indexed by dates keeps its dates; any
    other table keeps its index (for example strikes).

    Returns
    -------
    series named after the column.
    """
    _require_column(x, params.name, "column")
    values = x[params.name]
    if "date" in x.columns and params.name != "date":
        values = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(pd.to_datetime(x["date"]), name="date"))
    return values.rename(params.name)


class RankParams(Params):
    pct: bool = Field(True, description="rank as a fraction of the count (0 to 1] when true, as 1, 2, 3... when false")
    descending: bool = Field(False, description="rank the largest value first when true")


@operation("rank", family="filters")
def rank(x: pd.Series, *, params: RankParams) -> pd.Series:
    """Rank each point among all points of the series (ties share their average rank).

    Returns
    -------
    series of ranks on the input's dates (fractions in (0, 1] with ``pct``), named ``<source>_rank``;
    missing values stay missing.
    """
    if x.dropna().empty:
        raise OperationError("'rank' needs at least 1 observation, got 0.")
    return x.rank(pct=params.pct, ascending=not params.descending).rename(output_name(x, "rank"))


class EpisodeParams(ConditionParams):
    min_length: int = Field(1, ge=1, description="shortest run, in observations, that counts as an episode")


@operation("episodes", family="filters", columns=EPISODE_COLUMNS)
def episodes(x: pd.Series, *, params: EpisodeParams) -> pd.DataFrame:
    """Periods in which a condition holds without a break, e.g. yield-curve inversions (spread ``lt 0``).

    Missing values are skipped: they neither end nor extend an episode. The last episode may still
    be running at the end of the data.

    Returns
    -------
    frame with one row per episode: ``start`` and ``end`` (first and last dates where the condition
    holds), ``observations`` (how many points), ``days`` (calendar days from start to end, both
    included) and ``extreme`` (the lowest value for lt/le, otherwise the highest). Empty when the
    condition never holds for ``min_length`` observations.
    """
    values = x.dropna()
    if values.empty:
        raise OperationError("'episodes' needs at least 1 observation, got 0.")
    holds = params.holds(values)
    run_id = (holds != holds.shift()).cumsum()
    rows = []
    for _, run in values[holds].groupby(run_id[holds]):
        if len(run) < params.min_length:
            continue
        start, end = run.index[0], run.index[-1]
        days = (end - start).days + 1 if isinstance(start, pd.Timestamp) else len(run)
        extreme = run.min() if params.op in ("lt", "le") else run.max()
        rows.append({"start": start, "end": end, "observations": len(run), "days": days, "extreme": float(extreme)})
    return pd.DataFrame(rows, columns=EPISODE_COLUMNS)

