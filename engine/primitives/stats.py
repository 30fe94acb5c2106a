"""Statistics operations: rolling windows, standardisation, resampling and summaries.

Windows count observations, not calendar days: a 20-step window over daily market data is 20
trading days. Missing values (NaN) are skipped by the window and stay gaps in the result.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from contracts.errors import OperationError
from engine.registry import NoParams, Params, Record, operation

ResampleRule = Literal["W", "M", "Q", "A"]
ResampleHow = Literal["mean", "last", "first", "sum", "max", "min"]

# Pandas offsets: weeks end on Friday (as FRED's weekly aggregation); months, quarters and years are
# stamped at the period's first day, as FRED stamps them (2024-01-01 for January 2024).
_RULES: dict[str, str] = {"W": "W-FRI", "M": "MS", "Q": "QS", "A": "YS"}
_RULE_DAYS: dict[str, float] = {"W": 7, "M": 365.25 / 12, "Q": 365.25 / 4, "A": 365.25}
_RULE_NAMES: dict[str, str] = {"W": "weekly", "M": "monthly", "Q": "quarterly", "A": "annual"}


def output_name(x: pd.Series, suffix: str) -> str:
    """Name a derived series ``<source>_<suffix>`` (``DGS10_zscore_20``), or ``suffix`` when unnamed."""
    return f"{x.name}_{suffix}" if x.name is not None and str(x.name) != "" else suffix


def observations(x: pd.Series, needed: int, op: str, what: str = "observations") -> pd.Series:
    """The non-missing values of ``x``; raise when there are fewer than ``needed``."""
    raw = x.to_numpy()
    values = x if raw.dtype.kind == "f" and not np.isnan(raw).any() else x.dropna()
    if len(values) < needed:
        raise OperationError(f"'{op}' needs at least {needed} {what}, got {len(values)}; widen the date range or shorten the window.")
    return values


def require_dates(x: pd.Series | pd.DataFrame, op: str) -> None:
    """Raise unless ``x`` is indexed by dates."""
    if not isinstance(x.index, pd.DatetimeIndex):
        raise OperationError(f"'{op}' needs a series indexed by dates, got an index of {x.index.dtype}.")


class WindowParams(Params):
    window: int = Field(ge=1, description="number of observations in each window, e.g. 20 trading days")
    min_periods: int | None = Field(None, ge=1, description="fewest observations a window may hold and still give a value; default: the whole window")

    @model_validator(mode="after")
    def _min_within_window(self) -> WindowParams:
        if self.min_periods is not None and self.min_periods > self.window:
            raise ValueError(f"min_periods ({self.min_periods}) cannot exceed window ({self.window})")
        return self


def _rolling(x: pd.Series, params: WindowParams, op: str, how: str) -> pd.Series:
    needed = params.min_periods or params.window
    values = observations(x, needed, op)
    rolled = getattr(values.rolling(params.window, min_periods=needed), how)()
    return rolled.reindex(x.index).rename(output_name(x, f"{op}_{params.window}"))


@operation("rolling_mean", family="stats")
def rolling_mean(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Moving average over the last ``window`` observations.

    Parameters
    ----------
    window : observations per window (e.g. 4 weeks of jobless claims, 20 trading days).
    min_periods : fewest observations needed for a value; default the whole window, so the first
        ``window - 1`` points are gaps.

    Returns
    -------
    series on the input's dates, named ``<source>_rolling_mean_<window>``.
    """
    return _rolling(x, params, "rolling_mean", "mean")


@operation("rolling_std", family="stats")
def rolling_std(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Moving sample standard deviation (ddof 1) over the last ``window`` observations.

    Returns
    -------
    series on the input's dates, in the input's units, named ``<source>_rolling_std_<window>``.
    """
    if params.window < 2:
        raise OperationError("'rolling_std' needs a window of at least 2 observations; a single value has no spread.")
    return _rolling(x, params, "rolling_std", "std")


@operation("rolling_min", family="stats")
def rolling_min(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Lowest value over the last ``window`` observations (e.g. the 12-month low in the Sahm rule).

    Returns
    -------
    series on the input's dates, named ``<source>_rolling_min_<window>``.
    """
    return _rolling(x, params, "rolling_min", "min")


@operation("rolling_max", family="stats")
def rolling_max(x: pd.Series, *, params: WindowParams) -> pd.Series:
    """Highest value over the last ``window`` observations.

    Returns
    -------
    series on the input's dates, named ``<source>_rolling_max_<window>``.
    """
    return _rolling(x, params, "rolling_max", "max")


class EwmParams(Params):
    span: float = Field(ge=1, description="span of the exponential average; the weight is alpha = 2 / (span + 1)")


@operation("ewm_mean", family="stats")
def ewm_mean(x: pd.Series, *, params: EwmParams) -> pd.Series:
    """Exponentially weighted moving average (the recursive EMA, alpha = 2 / (span + 1)).

    The average starts at the first observation and then moves ``alpha`` of the way towards each new
    value: ``ema[t] = alpha * x[t] + (1 - alpha) * ema[t-1]``. Gaps are skipped and stay gaps.

    Returns
    -------
    series on the input's dates, named ``<source>_ewm_<span>``.
    """
    values = observations(x, 1, "ewm_mean")
    smoothed = values.ewm(span=params.span, adjust=False).mean()
    return smoothed.reindex(x.index).rename(output_name(x, f"ewm_{params.span:g}"))


class OptionalWindowParams(Params):
    window: int | None = Field(None, ge=2, description="observations per rolling window; leave empty to use the whole series")


@operation("zscore", family="stats")
def zscore(x: pd.Series, *, params: OptionalWindowParams) -> pd.Series:
    """Standard score: how many standard deviations each point lies from the mean.

    With ``window`` the mean and sample standard deviation (ddof 1) are those of the last
    ``window`` observations, including the point itself; without it they are those of the whole
    series. A window with no spread (a flat stretch) gives a gap.

    Returns
    -------
    series of standard deviations from the mean, named ``<source>_zscore_<window>`` (or
    ``<source>_zscore`` over the whole series).
    """
    if params.window is None:
        values = observations(x, 2, "zscore")
        std = values.std()
        if not std > 0:
            raise OperationError("'zscore' of a flat series is undefined: every value is the same, so there is no spread to divide by.")
        return ((x - values.mean()) / std).rename(output_name(x, "zscore"))
    values = observations(x, params.window, "zscore")
    rolling = values.rolling(params.window)
    scores = (values - rolling.mean()) / rolling.std()
    scores = scores.replace([np.inf, -np.inf], np.nan)
    return scores.reindex(x.index).rename(output_name(x, f"zscore_{params.window}"))


@operation("percentile_rank", family="stats")
def percentile_rank(x: pd.Series, *, params: OptionalWindowParams) -> pd.Series:
    """Percentile (0 to 100) of each point among the observations of its window or the whole series.

    The rank counts the point itself; ties share their average rank, so the highest value of a
    window scores 100 and the lowest ``100 / window``. Without ``window`` each point is ranked
    against the whole series (which includes later observations).

    Returns
    -------
    series of percentiles 0 to 100, named ``<source>_pctrank_<window>`` (or ``<source>_pctrank``).
    """
    if params.window is None:
        values = observations(x, 1, "percentile_rank")
        ranked = values.rank(pct=True) * 100
        return ranked.reindex(x.index).rename(output_name(x, "pctrank"))
    values = observations(x, params.window, "percentile_rank")
    ranked = values.rolling(params.window).rank(pct=True) * 100
    return ranked.reindex(x.index).rename(output_name(x, f"pctrank_{params.window}"))


class ResampleParams(Params):
    rule: ResampleRule = Field(description="target frequency: W (weeks ending Friday), M (months), Q (quarters), A (years)")
    how: ResampleHow = Field("mean", description="how to combine a period's observations: mean, last, first, sum, max or min")


@operation("resample", family="stats")
def resample(x: pd.Series, *, params: ResampleParams) -> pd.Series:
    """Aggregate a series to a lower frequency (weekly, monthly, quarterly or annual).

    Months, quarters and years are stamped at their first day, as FRED stamps them (January 2024
    is 2024-01-01); weeks end on Friday and are stamped with that Friday. Periods without any
    observation are left out. Resampling to a higher frequency than the series has is an error.

    Returns
    -------
    series at the new frequency, named ``<source>_<rule>_<how>``.
    """
    require_dates(x, "resample")
    values = observations(x, 1, "resample")
    if len(values) > 1:
        spacing = float(np.median(np.diff(values.index.asi8))) / 86_400e9
        if spacing > _RULE_DAYS[params.rule] * 1.1:
            raise OperationError(
                f"'resample' only aggregates to a lower frequency: observations here are about {spacing:.0f} days apart, "
                f"already sparser than {_RULE_NAMES[params.rule]} ('{params.rule}'); choose a longer rule among W, M, Q, A."
            )
    grouped = values.resample(_RULES[params.rule])
    out = grouped.sum(min_count=1) if params.how == "sum" else getattr(grouped, params.how)()
    return out.dropna().rename(output_name(x, f"{params.rule}_{params.how}"))


class ShiftParams(Params):
    periods: int = Field(description="observations to shift by: positive moves values later (a lag), negative earlier (a lead)")


@operation("shift", family="stats")
def shift(x: pd.Series, *, params: ShiftParams) -> pd.Series:
    """Lag (or lead) a series by a number of observations, keeping its dates.

    ``periods = 1`` puts yesterday's value on today's date; the first point becomes a gap.

    Returns
    -------
    series on the input's dates, named ``<source>_shift_<periods>``.
    """
    observations(x, abs(params.periods) + 1, "shift")
    return x.shift(params.periods).rename(output_name(x, f"shift_{params.periods}"))


class DiffParams(Params):
    periods: int = Field(1, ge=1, description="difference with the value this many observations earlier")


@operation("diff", family="stats")
def diff(x: pd.Series, *, params: DiffParams) -> pd.Series:
    """Change from the value ``periods`` observations earlier, in the series' own units.

    Returns
    -------
    series ``x[t] - x[t - periods]`` on the input's dates (the first ``periods`` are gaps), named
    ``<source>_diff_<periods>``.
    """
    observations(x, params.periods + 1, "diff")
    return x.diff(params.periods).rename(output_name(x, f"diff_{params.periods}"))


@operation("last", family="stats")
def last(x: pd.Series, *, params: NoParams) -> float:
    """The latest non-missing value of a series, as a headline number."""
    return float(observations(x, 1, "last").iloc[-1])


@operation("mean_value", family="stats")
def mean_value(x: pd.Series, *, params: NoParams) -> float:
    """The average of a series' non-missing values, as a single number."""
    return float(observations(x, 1, "mean_value").mean())


@operation("summary", family="stats")
def summary(x: pd.Series, *, params: NoParams) -> Record:
    """Summary statistics of a series: latest value and date, mean, std, min, max, count.

    Returns
    -------
    record with ``latest``, ``latest_date``, ``mean``, ``std``, ``min``, ``max``, ``count``, and
    ``share_negative``: the fraction (0 to 1, not percent) of observations below zero, e.g. the
    share of days a yield spread was inverted; format it with ``.1%``.
    """
    values = x.dropna()
    if values.empty:
        raise OperationError("cannot summarise an empty series (no observations in the range).")
    last = values.index[-1]
    return Record(
        latest=float(values.iloc[-1]),
        latest_date=last.date().isoformat() if isinstance(last, pd.Timestamp) else str(last),
        mean=float(values.mean()),
        std=float(values.std()) if len(values) > 1 else float("nan"),
        min=float(values.min()),
        max=float(values.max()),
        count=float(len(values)),
        share_negative=float((values < 0).mean()),
    )
